/**
 * EventBridge events of an ECS service deployment (source aws.ecs): "ECS Deployment State Change"
 * (SERVICE_DEPLOYMENT_IN_PROGRESS / _COMPLETED / _FAILED) and "ECS Hook State Change"
 * (HOOK_AWAITING_ACTION at a PAUSE hook). `resources` names the service ARN
 *   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_deployment_events.html
 *   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/pause-lifecycle-hooks.html
 * Only what Coconut reads is checked: the event only says "look again"; what happened is read
 * from DescribeServiceDeployments (src/core/pipeline/ecs-rollout-wait.ts).
 */
import { z } from 'zod';
import { ECS_ROLLOUT_EVENT_PATTERN } from '../pipeline/ecs-rollout.ts';

export const ecsRolloutEventSchema = z.object({
  id: z.string(),
  source: z.literal('aws.ecs'),
  'detail-type': z.enum(ECS_ROLLOUT_EVENT_PATTERN['detail-type']),
  resources: z.array(z.string()),
  detail: z.object({ eventName: z.string().optional() }).passthrough(),
});

export type EcsRolloutEvent = z.input<typeof ecsRolloutEventSchema>;
