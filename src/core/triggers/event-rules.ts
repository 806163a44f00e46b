/**
 * The EventBridge rules Coconut needs, derived from coconut.yaml. infra/ creates them on AWS;
 * the local bus delivers by the very same patterns.
 *
 * Size: EventBridge refuses a pattern longer than 2,048 characters ("Event pattern size",
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html). Listing every
 * repository and every alarm name does not scale: 1,000 services make patterns of 15,000 and
 * 100,000 characters. So a pattern names repositories or alarms only while it fits; past that it
 * matches every successful push / every alarm entering ALARM, and the functions filter:
 * functions/ecr-push.ts ignores pushes that match no service, functions/alarm-changed.ts ignores
 * alarms no bake is watching (it looks watches up by alarm name). Chosen over one rule per chunk
 * of names, which would need a rule, target and permission each and run into the 300 rules per
 * bus quota (same page); over prefix matching, which user-chosen names do not allow. The cost of
 * the wide pattern is an invocation per unrelated push or alarm, ignored within milliseconds.
 */
import type { CoconutConfig } from '../config/schema.ts';
import { ECS_ROLLOUT_EVENT_PATTERN } from '../pipeline/ecs-rollout.ts';
import { serviceArnSuffix } from '../pipeline/ecs-rollout-wait.ts';
import { buildEnvironment } from './plan.ts';

export interface EventRule {
  name: string;
  description: string;
  pattern: Record<string, unknown>;
  /** The function in functions/ that receives the matching events. */
  target: 'ecr-push' | 'alarm-changed' | 'ecs-rollout-changed';
}

/** EventBridge quota "Event pattern size", in characters of the pattern's JSON (see above). */
export const EVENT_PATTERN_MAX_CHARS = 2048;

/** The precise pattern when it fits in EventBridge's quota, the wide one otherwise. */
function fitting(precise: Record<string, unknown>, wide: Record<string, unknown>): Record<string, unknown> {
  return JSON.stringify(precise).length <= EVENT_PATTERN_MAX_CHARS ? precise : wide;
}

export function eventRules(config: CoconutConfig): EventRule[] {
  const rules: EventRule[] = [];
  const repositories = [...new Set(config.services.filter((s) => s.image.registry === 'ecr').map((s) => s.image.repository))];
  if (repositories.length > 0) {
    const push = { 'action-type': ['PUSH'], result: ['SUCCESS'] };
    const envelope = { source: ['aws.ecr'], 'detail-type': ['ECR Image Action'] };
    rules.push({
      name: 'ecr-push',
      description: 'Successful ECR pushes to the configured repositories start deployments',
      pattern: fitting(
        { ...envelope, detail: { ...push, 'repository-name': repositories.sort() } },
        { ...envelope, detail: push },
      ),
      target: 'ecr-push',
    });
  }
  const alarms = [...new Set(config.services.flatMap((s) => s.environments.flatMap((e) => e.alarms)))];
  if (alarms.length > 0) {
    const envelope = { source: ['aws.cloudwatch'], 'detail-type': ['CloudWatch Alarm State Change'] };
    const toAlarm = { state: { value: ['ALARM'] } };
    rules.push({
      name: 'alarm-changed',
      description: 'Watched alarms going to ALARM fail the bakes that watch them',
      pattern: fitting({ ...envelope, detail: { alarmName: alarms.sort(), ...toAlarm } }, { ...envelope, detail: toAlarm }),
      target: 'alarm-changed',
    });
  }
  // ECS canary/linear rollouts wait for ECS's own events, about the services that roll out: matched by
  // the end of the service ARN in `resources` (EventBridge suffix matching; the account and region may
  // not be in coconut.yaml). Past the size quota, every ECS deployment event; the function wakes only
  // the rollouts that stored a wait for the service.
  const rollingOut = ecsRolloutServices(config);
  if (rollingOut.length > 0) {
    const envelope = {
      source: [...ECS_ROLLOUT_EVENT_PATTERN.source],
      'detail-type': [...ECS_ROLLOUT_EVENT_PATTERN['detail-type']],
    };
    rules.push({
      name: 'ecs-rollout-changed',
      description: 'ECS service deployment and PAUSE hook events wake the canary/linear rollouts that follow them',
      pattern: fitting({ ...envelope, resources: rollingOut.map((suffix) => ({ suffix })) }, envelope),
      target: 'ecs-rollout-changed',
    });
  }
  return rules;
}

/**
 * ":service/CLUSTER/SERVICE" of every ECS service with a rollout in some environment, as the ECS step
 * is handed them (plan.ts: `{environment}` expanded, a cluster ARN reduced to its name), sorted, each once.
 */
function ecsRolloutServices(config: CoconutConfig): string[] {
  const found = new Set<string>();
  for (const service of config.services) {
    if (service.target.kind !== 'ecs') continue;
    for (const env of service.environments) {
      if (!env.rollout) continue;
      const vars = new Map(
        buildEnvironment(
          service,
          env.name,
          'rule',
          { registry: service.image.registry, repository: service.image.repository, tag: 'rule' },
          'deploy',
        ).map((v) => [v.Name, v.Value]),
      );
      found.add(serviceArnSuffix(vars.get('COCONUT_ECS_CLUSTER') ?? '', vars.get('COCONUT_ECS_SERVICE') ?? ''));
    }
  }
  return [...found].sort();
}
