/**
 * The bookkeeping steps of deploy.asl.json (locks, stage records, alarm checks, bake watches,
 * and the native ECS deploy/rollback),
 * invoked by the state machine with `{ action, ref, ... }`.
 */
import middy from '@middy/core';
import { awsPortsWith } from '../src/aws/ports.ts';
import { optionalSecret } from '../src/aws/secrets.ts';
import type { PortsProvider } from '../src/core/handler-ports.ts';
import { type PipelineStep, pipelineStepSchema, runPipelineStep } from '../src/core/pipeline/pipeline-steps.ts';
import { onLambda } from './commons/lambda-entry.ts';
import { logErrors, parsedAs, parseEvent } from './commons/middleware.ts';

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

// Slack (optional) from the sst.Secrets linked to this function (infra/function-manifest.ts).
export const handler = onLambda(createPipelineStepHandler(awsPortsWith(() => ({ botToken: optionalSecret('SlackBotToken') }))));
