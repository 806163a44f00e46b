/**
 * The native ECS target as a pipeline step: no CodeBuild, the pipeline-step function itself
 * registers the task definition revision and updates the service through the EcsTarget port.
 * Its inputs are the same build variables a buildspec would get, and its result has the shape
 * of a CodeBuild build, so RecordBaking / RecordRolledBack read it without knowing the difference.
 */
import { ERRORS } from '../model/failure.ts';
import { DIGEST_PATTERN } from '../model/oci.ts';
import type { Clock, EcsDeployOutcome, EcsTarget, Log } from '../ports.ts';
import type { BuildEnvVar } from '../triggers/plan.ts';
import type { BuildResult, StageRef } from './stage-steps.ts';

/** The Lambda ran out of time before ECS settled; the state machine retries, which only waits again. */
export class EcsDeploymentInProgressError extends Error {
  override name = 'Coconut.EcsDeploymentInProgress';
}

/** ECS reported the deployment failed, or replaced it (circuit breaker or alarm rollback). */
export class EcsDeploymentFailedError extends Error {
  override name = 'Coconut.EcsDeploymentFailed';
}

/** The service cannot take this deployment as configured; raised before anything changed. */
export class EcsTargetInvalidError extends Error {
  override name = ERRORS.targetInvalid;
}

export interface EcsStepDeps {
  ecs?: EcsTarget;
  clock: Clock;
  log: Log;
}

/** Leave the Lambda this much time to answer after the last poll. */
const SAFETY_MS = 20_000;
/** Wait at most this long in one invocation; the state machine's Retry continues the wait. */
const MAX_WAIT_MS = 13 * 60_000;

const TASK_DEFINITION_ARN = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition\/[A-Za-z0-9_-]{1,255}:\d+$/;

export type EcsStepResult = Required<Pick<BuildResult, 'Id' | 'ExportedEnvironmentVariables'>> & { BuildStatus: 'SUCCEEDED' };

export async function runEcsStep(
  action: 'deploy' | 'rollback',
  ref: StageRef,
  buildEnv: BuildEnvVar[],
  deps: EcsStepDeps,
  remainingMs: number,
): Promise<EcsStepResult> {
  const { target, digest, get } = ecsTargetOf(buildEnv);
  if (!deps.ecs) throw new Error('no ECS adapter is wired into this runtime (Ports.ecs)');
  const { cluster, service, repository } = target;
  const now = deps.clock.now().getTime();
  const base = { ...target, deadline: now + Math.max(0, Math.min(MAX_WAIT_MS, remainingMs - SAFETY_MS)) };
  const revision = get('COCONUT_ROLLBACK_REVISION');
  const what = `${ref.service} ${ref.version} on ${ref.environment} (ECS ${cluster}/${service})`;

  let outcome: EcsDeployOutcome;
  if (action === 'rollback' && revision) {
    if (!TASK_DEFINITION_ARN.test(revision)) {
      throw new EcsTargetInvalidError(`the recorded task definition "${revision.slice(0, 300)}" is not a task definition ARN`);
    }
    deps.log.info(`${what}: rolling back to task definition ${revision}`);
    outcome = await deps.ecs.rollback({ ...base, taskDefinitionArn: revision });
  } else {
    // A rollback without a recorded task definition redeploys the known-good digest.
    requireEcsDigest(ref, digest);
    deps.log.info(`${what}: ${action === 'rollback' ? 'redeploying known-good' : 'deploying'} ${repository}@${digest}`);
    outcome = await deps.ecs.deploy({ ...base, digest });
  }

  if (outcome.state === 'IN_PROGRESS') {
    throw new EcsDeploymentInProgressError(`${what}: ${outcome.taskDefinitionArn} is still rolling out; waiting again`);
  }
  const exported = outcome.rehearsal
    ? [
        { Name: 'COCONUT_REHEARSAL', Value: 'true' },
        { Name: 'COCONUT_MISSING_TOOLS', Value: outcome.rehearsal.missing.join(',') },
        { Name: 'COCONUT_REHEARSED_STEP', Value: action },
      ]
    : [
        { Name: 'COCONUT_DEPLOYED_VERSION', Value: ref.version },
        { Name: 'COCONUT_TARGET_REVISION', Value: outcome.taskDefinitionArn },
      ];
  return {
    Id: outcome.rehearsal ? `ecs:${cluster}/${service}:rehearsal` : `ecs:${cluster}/${service}:${outcome.taskDefinitionArn}`,
    BuildStatus: 'SUCCEEDED',
    ExportedEnvironmentVariables: exported,
  };
}

/** The service a plan's build variables name, as the ECS adapter takes it; refused when they name none. */
export function ecsTargetOf(buildEnv: BuildEnvVar[]): {
  target: { cluster: string; service: string; repository: string; container?: string; region?: string; alarms: string[] };
  digest: string;
  get: (name: string) => string;
} {
  const vars = new Map(buildEnv.map((v) => [v.Name, v.Value]));
  const get = (name: string) => vars.get(name) ?? '';
  const cluster = get('COCONUT_ECS_CLUSTER');
  const service = get('COCONUT_ECS_SERVICE');
  const repository = get('COCONUT_IMAGE_REPOSITORY');
  if (!cluster || !service || !repository) {
    throw new EcsTargetInvalidError(
      'the plan has no COCONUT_ECS_CLUSTER / COCONUT_ECS_SERVICE / COCONUT_IMAGE_REPOSITORY: is target.kind "ecs"?',
    );
  }
  const target = {
    cluster,
    service,
    repository,
    ...(get('COCONUT_ECS_CONTAINER') ? { container: get('COCONUT_ECS_CONTAINER') } : {}),
    ...(get('COCONUT_ECS_REGION') ? { region: get('COCONUT_ECS_REGION') } : {}),
    alarms: get('COCONUT_ECS_ALARMS').split(',').filter(Boolean),
  };
  return { target, digest: get('COCONUT_IMAGE_DIGEST'), get };
}

/** The ECS target deploys by digest only: a version without one is refused before anything changes. */
export function requireEcsDigest(ref: StageRef, digest: string): void {
  if (!DIGEST_PATTERN.test(digest)) {
    throw new EcsTargetInvalidError(
      `the ecs target deploys images by digest, and ${ref.service} ${ref.version} has none (expected sha256:<64 hex>, got "${digest.slice(0, 80)}")`,
    );
  }
}
