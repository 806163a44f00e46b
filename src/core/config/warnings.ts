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

/**
 * Four eyes needs to know who triggered a deployment, and an ECR push event names no user
 * ("Amazon ECR events and EventBridge": detail has the repository, tag, digest and result only).
 */
export function fourEyesEcrNotice(environments: string[]): string {
  return (
    `fourEyes is on for ${environments.join(', ')}, whose images come from ECR: an ECR push event names no user, so a deployment a push starts cannot be approved there ` +
    '(Coconut cannot show the approver is not who pushed). Start those deployments with `coconut deploy` (or the dashboard), which records who asked, and let another approver approve.'
  );
}

/**
 * The signed-image gate reads ECR signatures with an ECR token (GetAuthorizationToken), which the
 * AWS deployment has and the local runtime does not: said once, so a local refusal is no surprise.
 */
export function unverifiableNotices(config: CoconutConfig): string[] {
  return config.services
    .filter((s) => s.verify && s.image.registry === 'ecr')
    .map(
      (s) =>
        `${s.name}: verify: is set on an ECR image: deployed on AWS, Coconut reads its signatures from ECR; ` +
        `the local runtime (npm start) has no ECR credentials and refuses its deployments at the signature gate.`,
    );
}

export function configWarnings(config: CoconutConfig): string[] {
  const warnings: string[] = [];
  const copilot = config.services.filter((s) => s.target.kind === 'copilot').map((s) => s.name);
  if (copilot.length > 0) warnings.push(copilotNotice(copilot));
  warnings.push(...unscannableNotices(config));
  warnings.push(...unverifiableNotices(config));
  const ecrFourEyes = config.services.flatMap((s) =>
    s.image.registry === 'ecr' ? s.environments.filter((e) => e.approval?.fourEyes).map((e) => `${s.name}/${e.name}`) : [],
  );
  if (ecrFourEyes.length > 0) warnings.push(fourEyesEcrNotice(ecrFourEyes));
  return warnings;
}
