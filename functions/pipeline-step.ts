/**
 * The bookkeeping steps of deploy.asl.json (locks, stage records, alarm checks, bake watches,
 * and the native ECS deploy/rollback),
 * invoked by the state machine with `{ action, ref, ... }`.
 */
import middy from '@middy/core';
import { awsPorts } from '../src/aws/ports.ts';
import { type PipelineStep, pipelineStepSchema, runPipelineStep } from '../src/core/pipeline-steps.ts';
import { logErrors, parsedAs, parseEvent } from './commons/middleware.ts';
import type { PortsProvider } from './commons/ports.ts';

export function createPipelineStepHandler(ports: PortsProvider) {
  return middy<PipelineStep, unknown>()
    .use(logErrors(ports, 'pipeline-step'))
    .use(parseEvent(pipelineStepSchema, 'pipeline step'))
    .handler(async (event, context) =>
      runPipelineStep(parsedAs(pipelineStepSchema, event), await ports(), {
        remainingMs: () => context.getRemainingTimeInMillis?.() ?? 15 * 60_000,
      }),
    );
}

export const handler = createPipelineStepHandler(awsPorts);
