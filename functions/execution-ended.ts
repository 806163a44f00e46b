/**
 * EventBridge "Step Functions Execution Status Change" (FAILED, TIMED_OUT, ABORTED of the
 * deploy state machine) -> the safety net: no stage stays in progress, no lock stays held.
 * The execution name is the deployment id. On a normal failure the state machine did its
 * own bookkeeping and this finds nothing to repair.
 */
import middy from '@middy/core';
import { z } from 'zod';
import { awsPorts } from '../src/aws/ports.ts';
import { repairAfterExecution } from '../src/core/execution-ended.ts';
import { logErrors, parsedAs, parseEvent } from './commons/middleware.ts';
import type { PortsProvider } from './commons/ports.ts';

export const executionStatusChangeSchema = z.object({
  id: z.string(),
  source: z.literal('aws.states'),
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.object({
    executionArn: z.string().min(1),
    stateMachineArn: z.string().min(1),
    name: z.string().regex(/^[A-Za-z0-9_-]{1,80}$/, 'expected an execution name of 1-80 [A-Za-z0-9_-]'),
    status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']),
    error: z.string().nullish(),
    cause: z.string().nullish(),
  }),
});

export type ExecutionStatusChangeEvent = z.input<typeof executionStatusChangeSchema>;

export function createExecutionEndedHandler(ports: PortsProvider) {
  return middy<ExecutionStatusChangeEvent, { repaired: string[] }>()
    .use(logErrors(ports, 'execution-ended'))
    .use(parseEvent(executionStatusChangeSchema, 'Step Functions Execution Status Change event'))
    .handler(async (event) => {
      const { detail } = parsedAs(executionStatusChangeSchema, event);
      // The rule only sends ended executions; a RUNNING one (a replayed event) has nothing to repair yet.
      if (detail.status === 'RUNNING') return { repaired: [] };
      return repairAfterExecution(await ports(), {
        deploymentId: detail.name,
        status: detail.status,
        ...(detail.error ? { error: detail.error } : {}),
        ...(detail.cause ? { cause: detail.cause } : {}),
      });
    });
}

export const handler = createExecutionEndedHandler(awsPorts);
