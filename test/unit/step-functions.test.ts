/**
 * src/core/events/step-functions.ts against the event AWS documents: Step Functions Developer
 * Guide, "Automating Step Functions event delivery with EventBridge", execution status change
 * example (https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html):
 * dates are epoch milliseconds, `output`, `error` and `cause` may be null. And the approval
 * request as deploy.asl.json's RequestApproval state builds it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { approvalRequestSchema, executionStatusChangeSchema } from '../../src/core/events/step-functions.ts';

const documented = {
  version: '0',
  id: '315c1398-40ff-a850-213b-158f73e60175',
  'detail-type': 'Step Functions Execution Status Change',
  source: 'aws.states',
  account: '123456789012',
  time: '2019-02-26T19:42:21Z',
  region: 'us-east-1',
  resources: ['arn:aws:states:us-east-1:123456789012:execution:state-machine-name:execution-name'],
  detail: {
    executionArn: 'arn:aws:states:us-east-1:123456789012:execution:state-machine-name:execution-name',
    stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:state-machine',
    name: 'execution-name',
    status: 'FAILED',
    startDate: 1551225146847,
    stopDate: 1551225151881,
    input: '{}',
    inputDetails: { included: true },
    output: null,
    outputDetails: null,
    error: null,
    cause: null,
  },
};

describe('Step Functions events', () => {
  it('reads the execution status change as AWS documents it', () => {
    expect(executionStatusChangeSchema.parse(documented).detail).toMatchObject({ name: 'execution-name', status: 'FAILED' });
  });

  it('reads every field the RequestApproval and RequestStepApproval states put in their Payload, and nothing they do not', () => {
    const asl = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../stepfunctions/deploy.asl.json'), 'utf8'));
    const found: Record<string, unknown>[] = [];
    JSON.stringify(asl, (key, value) => {
      if (key === 'RequestApproval' || key === 'RequestStepApproval') found.push(value);
      return value;
    });
    expect(found).toHaveLength(2);
    const sent = new Set(
      found.flatMap((state) =>
        Object.keys((state as { Parameters: { Payload: Record<string, string> } }).Parameters.Payload).map((k) =>
          k.replace(/\.\$$/, ''),
        ),
      ),
    );
    expect([...sent].sort()).toEqual(Object.keys(approvalRequestSchema.shape).sort());
  });
});
