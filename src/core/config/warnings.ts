/**
 * Things a valid coconut.yaml should still tell its owner, once: at `coconut validate` and when
 * `coconut dev` starts — never on every deployment.
 */
import type { CoconutConfig } from './schema.ts';

export const COPILOT_END_OF_SUPPORT = '2026-06-12';

export function copilotNotice(services: string[]): string {
  return (
    `AWS ended support for the Copilot CLI on ${COPILOT_END_OF_SUPPORT} (${services.join(', ')} deploy${services.length === 1 ? 's' : ''} with it). ` +
    'Its services keep running and Coconut keeps deploying them, but the CLI gets no more fixes: ' +
    'move to `target.kind: ecs`, which deploys the same ECS service through the ECS API (`coconut generate ecs --service NAME`).'
  );
}

/**
 * On AWS the scan gate's scanner is ECR image scanning, which scans images in ECR repositories
 * only; an environment with `scan:` refuses every image it cannot scan. Said here, before the
 * first deployment is refused.
 */
export function unscannableNotices(config: CoconutConfig): string[] {
  return config.services.flatMap((s) => {
    if (s.image.registry === 'ecr') return [];
    const envs = s.environments.filter((e) => e.scan).map((e) => e.name);
    if (envs.length === 0) return [];
    return [
      `${s.name}: scan: is set for ${envs.join(', ')}, but its image is in ${s.image.registry}, and on AWS Coconut scans only ECR images (ECR image scanning): ` +
        `every deployment of ${s.name} to ${envs.join(', ')} will be refused at the scan gate there (the local runtime scans it with trivy). ` +
        `Push the image to ECR, or remove scan: from ${envs.length === 1 ? 'that environment' : 'those environments'}.`,
    ];
  });
}

export function configWarnings(config: CoconutConfig): string[] {
  const copilot = config.services.filter((s) => s.target.kind === 'copilot').map((s) => s.name);
  return [...(copilot.length > 0 ? [copilotNotice(copilot)] : []), ...unscannableNotices(config)];
}
