/**
 * EventBridge "Step Functions Execution Status Change" (FAILED, TIMED_OUT, ABORTED of the
 * deploy state machine) -> the safety net: no stage stays in progress, no lock stays held.
 * The execution name is the deployment id. On a normal failure the state machine did its
 * own bookkeeping and this finds nothing to repair.
 */
import middy from '@middy/core';
import { awsPorts } from '../src/aws/ports.ts';
import { type ExecutionStatusChangeEvent, executionStatusChangeSchema } from '../src/core/events/step-functions.ts';
import type { PortsProvider } from '../src/core/handler-ports.ts';
import { repairAfterExecution } from '../src/core/pipeline/execution-ended.ts';
import { onLambda } from './commons/lambda-entry.ts';
import { logErrors, parsedAs, parseEvent } from './commons/middleware.ts';

export interface RetryOptions {
  /** First pause between attempts, doubled after each failure up to maxDelayMs. */
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** Stop trying when less than this is left of the invocation (one attempt must fit). */
  marginMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The repair needs the store. If the store fails, retrying here matters: EventBridge's retry
 * policy on the target (infra/triggers.ts) covers only delivering the event to Lambda
 * ("How EventBridge retries delivering events"), and once Lambda has taken an asynchronous
 * invocation a function error gets only two more attempts, one and two minutes apart, before
 * the event goes to the function's dead-letter queue (Lambda guide, "How Lambda handles errors
 * and retries with asynchronous invocation"). So the handler keeps trying with backoff for as
 * long as its invocation may run (infra/function-manifest.ts: 15 minutes), which with Lambda's
 * own retries rides out a store outage of about 45 minutes; longer ones reach the DLQ (alarmed)
 * and need a redrive (docs/security.md).
 */
async function withRetries<T>(
  attempt: () => Promise<T>,
  remainingMs: () => number,
  log: { warn(message: string, extra?: Record<string, unknown>): void },
  opts: RetryOptions,
): Promise<T> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const first = opts.firstDelayMs ?? 1000;
  const max = opts.maxDelayMs ?? 60_000;
  const margin = opts.marginMs ?? 60_000;
  for (let failures = 0; ; ) {
    try {
      return await attempt();
    } catch (error) {
      failures += 1;
      const delay = Math.min(first * 2 ** (failures - 1), max);
      if (remainingMs() - delay < margin) throw error;
      log.warn(`repair attempt ${failures} failed (${(error as Error).message}); trying again in ${Math.round(delay / 1000)} s`);
      await sleep(delay);
    }
  }
}

export function createExecutionEndedHandler(ports: PortsProvider, retry: RetryOptions = {}) {
  return middy<ExecutionStatusChangeEvent, { repaired: string[] }>()
    .use(logErrors(ports, 'execution-ended'))
    .use(parseEvent(executionStatusChangeSchema, 'Step Functions Execution Status Change event'))
    .handler(async (event, context) => {
      const { detail } = parsedAs(executionStatusChangeSchema, event);
      // The rule only sends ended executions; a RUNNING one (a replayed event) has nothing to repair yet.
      if (detail.status === 'RUNNING') return { repaired: [] };
      const p = await ports();
      // Invoked without a Lambda context (tests, a manual redrive script): one attempt's worth of time.
      const remainingMs = () => context?.getRemainingTimeInMillis?.() ?? 0;
      return withRetries(
        () =>
          repairAfterExecution(p, {
            deploymentId: detail.name,
            status: detail.status,
            ...(detail.error ? { error: detail.error } : {}),
            ...(detail.cause ? { cause: detail.cause } : {}),
          }),
        remainingMs,
        p.log,
        retry,
      );
    });
}

export const handler = onLambda(createExecutionEndedHandler(awsPorts));
