/**
 * EventBridge "ECS Deployment State Change" / "ECS Hook State Change" -> every Coconut stage that
 * follows a canary/linear rollout of that service reads its service deployment once and moves on:
 * ask for approval at a PAUSE hook, succeed, or end ROLLED_BACK naming ECS's alarm.
 */
import middy from '@middy/core';
import { awsPorts } from '../src/aws/ports.ts';
import { type EcsRolloutEvent, ecsRolloutEventSchema } from '../src/core/events/ecs.ts';
import type { PortsProvider } from '../src/core/handler-ports.ts';
import { ecsRolloutEventService } from '../src/core/pipeline/ecs-rollout.ts';
import { onEcsRolloutEvent } from '../src/core/pipeline/ecs-rollout-wait.ts';
import { onLambda } from './commons/lambda-entry.ts';
import { logErrors, parseEvent } from './commons/middleware.ts';

export function createEcsRolloutChangedHandler(ports: PortsProvider) {
  return middy<EcsRolloutEvent, { woken: number; settled: number; ignored?: string }>()
    .use(logErrors(ports, 'ecs-rollout-changed'))
    .use(parseEvent(ecsRolloutEventSchema, 'ECS Deployment State Change / ECS Hook State Change event'))
    .handler(async (event) => {
      const p = await ports();
      const service = ecsRolloutEventService(event);
      if (!service) return { woken: 0, settled: 0, ignored: 'the event names no ECS service ARN in resources' };
      p.log.info(`ECS ${event['detail-type']} ${event.detail.eventName ?? ''} for ${service}`, { service });
      return onEcsRolloutEvent(p, service);
    });
}

export const handler = onLambda(createEcsRolloutChangedHandler(awsPorts));
