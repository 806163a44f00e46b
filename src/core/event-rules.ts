/**
 * The EventBridge rules Coconut needs, derived from coconut.yaml. infra/ creates them on AWS;
 * the local bus delivers by the very same patterns.
 */
import type { CoconutConfig } from './config/schema.ts';

export interface EventRule {
  name: string;
  description: string;
  pattern: Record<string, unknown>;
  /** The function in functions/ that receives the matching events. */
  target: 'ecr-push' | 'alarm-changed';
}

export function eventRules(config: CoconutConfig): EventRule[] {
  const rules: EventRule[] = [];
  const repositories = [...new Set(config.services.filter((s) => s.image.registry === 'ecr').map((s) => s.image.repository))];
  if (repositories.length > 0) {
    rules.push({
      name: 'ecr-push',
      description: 'Successful ECR pushes to the configured repositories start deployments',
      pattern: {
        source: ['aws.ecr'],
        'detail-type': ['ECR Image Action'],
        detail: { 'action-type': ['PUSH'], result: ['SUCCESS'], 'repository-name': repositories.sort() },
      },
      target: 'ecr-push',
    });
  }
  const alarms = [...new Set(config.services.flatMap((s) => s.environments.flatMap((e) => e.alarms)))];
  if (alarms.length > 0) {
    rules.push({
      name: 'alarm-changed',
      description: 'Watched alarms going to ALARM fail the bakes that watch them',
      pattern: {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        detail: { alarmName: alarms.sort(), state: { value: ['ALARM'] } },
      },
      target: 'alarm-changed',
    });
  }
  return rules;
}
