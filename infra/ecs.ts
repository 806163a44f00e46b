/** The ECS services Coconut deploys (kind: ecs), as "cluster/service" per environment, for IAM. */
import type { CoconutConfig } from '../src/core/config/schema.ts';

export function ecsServices(config: CoconutConfig): string[] {
  const found = new Set<string>();
  for (const service of config.services) {
    const target = service.target;
    if (target.kind !== 'ecs') continue;
    for (const env of service.environments) {
      const perEnv = (value: string) => value.replaceAll('{environment}', env.name);
      // A cluster given as an ARN: its name is the last path segment.
      const cluster = perEnv(target.cluster).split('/').pop() as string;
      found.add(`${cluster}/${perEnv(target.service ?? service.name)}`);
    }
  }
  return [...found].sort();
}
