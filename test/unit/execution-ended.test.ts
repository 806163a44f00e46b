/** functions/execution-ended.ts: the safety net after an execution stopped without its bookkeeping. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutionEndedHandler } from '../../functions/execution-ended.ts';
import type { DynamoStore } from '../../src/aws/dynamo-store.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { memoryLog } from '../support/runtime.ts';
import { dynaliteStore } from '../support/stores.ts';

describe('Function: execution-ended handler', () => {
  let store: DynamoStore;
  let dynamo: LocalDynamo;
  beforeAll(async () => ({ store, dynamo } = await dynaliteStore()));
  afterAll(() => dynamo.stop());

  it('repairs the stages and lock of an aborted deploy execution; refuses other events', async () => {
    const at = new Date().toISOString();
    await store.createDeployment(
      {
        deploymentId: 'dep-abort',
        service: 'api',
        version: '1.0.0',
        image: { registry: 'ecr', repository: 'api', tag: '1.0.0' },
        trigger: { kind: 'ecr-push', id: 'e', at },
        environments: ['staging', 'prod'],
        createdAt: at,
        kind: 'deploy',
      },
      ['staging', 'prod'].map((environment, order) => ({
        deploymentId: 'dep-abort',
        service: 'api',
        environment,
        order,
        version: '1.0.0',
        state: 'PENDING' as const,
        createdAt: at,
        updatedAt: at,
      })),
    );
    await store.updateStage('dep-abort', 'staging', { state: 'DEPLOYING' }, new Date());
    const ports = async () => ({ store, clock: { now: () => new Date() }, log: memoryLog() }) as never;
    const handler = createExecutionEndedHandler(ports);
    const event = {
      id: 'evt-1',
      source: 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      detail: {
        executionArn: 'arn:aws:states:us-east-1:123456789012:execution:coconut-prod-deploy:dep-abort',
        stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:coconut-prod-deploy',
        name: 'dep-abort',
        status: 'ABORTED',
        error: null,
        cause: null,
      },
    };
    const result = await handler(event as never, {} as never);
    expect(result.repaired).toContain('staging: DEPLOYING -> FAILED');
    expect((await store.getDeployment('dep-abort'))?.stages.map((s) => s.state)).toEqual(['FAILED', 'SKIPPED']);
    await expect(handler({ ...event, source: 'aws.ecr' } as never, {} as never)).rejects.toThrow(
      /not a valid Step Functions Execution Status Change event: source/,
    );
  });
});
