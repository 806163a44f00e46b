/**
 * From a release event to deployment plans: which services the image belongs to, what each
 * environment needs, and the deterministic execution name that makes duplicates harmless.
 */
import { createHash } from 'node:crypto';
import type { CoconutConfig, RolloutConfig, ServiceConfig, TargetConfig } from '../config/schema.ts';
import type { DeploymentRecord, ImageRef, RolloutProgress, StageRecord } from '../model/deployment.ts';
import type { ReleaseEvent, Trigger } from '../model/release.ts';
import { type EcsDeploymentSettings, ecsDeploymentConfiguration, ecsRecheckSeconds } from '../pipeline/ecs-rollout.ts';
import type { FreezeWindow } from '../pipeline/freeze.ts';
import { rolloutSteps, stepLabel } from '../pipeline/rollout.ts';
import type { VerifyPolicy } from '../pipeline/signature-gate.ts';

export interface BuildEnvVar {
  Name: string;
  Value: string;
  Type: 'PLAINTEXT';
}

/** One environment of a plan: everything its Map iteration in deploy.asl.json reads. */
export interface PlanEnvironment {
  name: string;
  order: number;
  approval?: { timeoutSeconds: number };
  bakeSeconds: number;
  alarms: string[];
  /** How long the environment lock may be held before it counts as abandoned. */
  lockSeconds: number;
  /** Environment variables of the deploy build; the only way event values reach commands. */
  buildEnv: BuildEnvVar[];
  /** The scan gate's policy, when the environment has one. */
  scan?: { maxSeverity: string; ignore: string[] };
  /** The signed-image gate's policy, when the service has `verify:` (the same in every environment). */
  verify?: VerifyPolicy;
  /**
   * The environment's freeze windows and the whole config's (src/core/pipeline/freeze.ts), when
   * any; always present (maybe empty) on automatic deployments: the gate also holds them at a pin.
   */
  freeze?: FreezeWindow[];
  /**
   * Which of the target's buildspecs the Deploy state runs: `deploy` installs the version,
   * `rollback` (a rollback execution) brings back a release that ran there before.
   */
  buildAction: 'deploy' | 'rollback';
  /** Present when the environment deploys in steps (canary, linear): the loop in deploy.asl.json. */
  rollout?: PlanRollout;
}

/** One step of the loop: what its deploy reads and whether it waits for approval first. */
export interface PlanStep {
  progress: RolloutProgress;
  /** "canary 10%": how people see the step (approval messages, history). */
  label: string;
  /** Wait for the environment's approval before this step (approveSteps, steps after the first). */
  approve: boolean;
  /** The 100% step: once it has baked, the environment is done (the loop's exit). */
  last: boolean;
  /** The deploy build's variables plus the step's COCONUT_ROLLOUT_* (ECS reads `progress`). */
  buildEnv: BuildEnvVar[];
}

export interface PlanRollout {
  strategy: RolloutConfig['strategy'];
  /** The bake of each step, under the environment's alarms. */
  bakeSeconds: number;
  steps: PlanStep[];
  /**
   * kind: ecs only: ECS steps itself (deploy.asl.json StartEcsRollout -> FollowEcsRollout), so the
   * plan carries UpdateService's deploymentConfiguration and the percentages ECS walks, not a loop.
   */
  ecs?: {
    settings: EcsDeploymentSettings;
    percents: number[];
    /** Seconds FollowEcsRollout waits for an ECS event before it reads the deployment itself (ecsRecheckSeconds). */
    recheckSeconds: number;
  };
}

/** The execution input of deploy.asl.json. Deterministic for a given push: no timestamps. */
export interface DeploymentPlan {
  deploymentId: string;
  service: string;
  version: string;
  image: ImageRef;
  targetKind: TargetConfig['kind'];
  environments: PlanEnvironment[];
}

export type MatchResult = { service: ServiceConfig } | { skipped: string };

/** Services whose image is this release, each with a reason when the tag does not qualify. */
export function matchServices(
  config: CoconutConfig,
  release: Pick<ReleaseEvent, 'registry' | 'repository' | 'tag'>,
): MatchResult[] {
  return config.services
    .filter((s) => s.image.registry === release.registry && s.image.repository === release.repository)
    .map((service) =>
      new RegExp(service.image.tagPattern).test(release.tag)
        ? { service }
        : { skipped: `tag "${release.tag}" does not match ${service.name}'s tagPattern ${service.image.tagPattern}` },
    );
}

/** Why nothing matched, for the log line of an ignored push. */
export function explainNoMatch(config: CoconutConfig, release: Pick<ReleaseEvent, 'registry' | 'repository'>): string {
  const known = config.services.filter((s) => s.image.registry === release.registry).map((s) => s.image.repository);
  return `no service in coconut.yaml uses ${release.registry} repository "${release.repository}"${
    known.length ? ` (configured: ${[...new Set(known)].join(', ')})` : ''
  }`;
}

export function imageOf(release: ReleaseEvent): ImageRef {
  return {
    registry: release.registry,
    repository: release.repository,
    tag: release.tag,
    ...(release.digest ? { digest: release.digest } : {}),
  };
}

/**
 * Execution names are 1-80 characters of [A-Za-z0-9_-]; this one is readable and unique per
 * (service, image content): the same push twice yields the same name, so Step Functions
 * refuses the second one. `salt` separates deliberate re-deployments (manual, rollback).
 */
export function executionName(service: string, image: ImageRef, salt = ''): string {
  const hash = createHash('sha256')
    .update([service, image.registry, image.repository, image.tag, image.digest ?? '', salt].join('\n'))
    .digest('hex')
    .slice(0, 12);
  const readable = `${service}-${image.tag}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80 - hash.length - 1);
  return `${readable}-${hash}`;
}

const BUILD_HOURS = 2;

type FreezeWindowConfig = NonNullable<CoconutConfig['freeze']>[number];

/** The windows an environment obeys: the whole config's, then its own. */
export function freezeWindowsOf(
  env: { freeze?: FreezeWindowConfig[] | undefined },
  global: FreezeWindowConfig[] = [],
): FreezeWindow[] {
  return [...global, ...(env.freeze ?? [])].map((w) => ({
    schedule: w.schedule,
    durationSeconds: w.duration,
    timeZone: w.timeZone,
    mode: w.mode,
    ...(w.reason ? { reason: w.reason } : {}),
  }));
}

export function buildPlan(
  service: ServiceConfig,
  image: ImageRef,
  salt = '',
  globalFreeze: FreezeWindowConfig[] = [],
): DeploymentPlan {
  const deploymentId = executionName(service.name, image, salt);
  return {
    deploymentId,
    service: service.name,
    version: image.tag,
    image,
    targetKind: service.target.kind,
    environments: service.environments.map((env, order) => {
      const buildEnv = buildEnvironment(service, env.name, deploymentId, image, 'deploy');
      const rollout = env.rollout ? planRollout(env.rollout, env.bake, buildEnv) : undefined;
      const steps = rollout?.steps.length ?? 1;
      const approvals = 1 + (rollout?.steps.filter((s) => s.approve).length ?? 0);
      const bakes = rollout ? rollout.bakeSeconds * steps : env.bake;
      // Every step may wait its approval, run its build and bake: the lock is held through all of them.
      const lockSeconds = (env.approval?.timeout ?? 0) * approvals + bakes + BUILD_HOURS * 3600 * steps;
      if (rollout && env.rollout && service.target.kind === 'ecs') {
        rollout.ecs = {
          recheckSeconds: ecsRecheckSeconds(lockSeconds),
          settings: ecsDeploymentConfiguration(env.rollout, {
            name: env.name,
            bake: env.bake,
            alarms: env.alarms,
            ...(env.approval ? { approvalTimeout: env.approval.timeout } : {}),
          }),
          percents: rolloutSteps(env.rollout),
        };
      }
      return {
        name: env.name,
        order,
        ...(env.approval ? { approval: { timeoutSeconds: env.approval.timeout } } : {}),
        bakeSeconds: env.bake,
        alarms: env.alarms,
        lockSeconds,
        buildEnv,
        ...(env.scan ? { scan: { maxSeverity: env.scan.maxSeverity, ignore: env.scan.ignore } } : {}),
        ...verifyPolicy(service),
        buildAction: 'deploy' as const,
        ...(rollout ? { rollout } : {}),
        ...withFreeze(freezeWindowsOf(env, globalFreeze)),
      };
    }),
  };
}

/**
 * The steps of a rollout, each with the build variables of its share. The percentages come from
 * the configuration (trusted numbers), and still reach the build only as variables.
 */
export function planRollout(rollout: RolloutConfig, environmentBake: number, buildEnv: BuildEnvVar[]): PlanRollout {
  const percents = rolloutSteps(rollout);
  return {
    strategy: rollout.strategy,
    bakeSeconds: rollout.bake ?? environmentBake,
    steps: percents.map((percent, i) => {
      const progress: RolloutProgress = {
        strategy: rollout.strategy,
        step: i + 1,
        of: percents.length,
        percent,
        previousPercent: i === 0 ? 0 : (percents[i - 1] as number),
      };
      return {
        progress,
        label: stepLabel(rollout.strategy, percent),
        approve: rollout.approveSteps && i > 0,
        last: i === percents.length - 1,
        buildEnv: [...buildEnv, ...rolloutVariables(progress)],
      };
    }),
  };
}

/** COCONUT_ROLLOUT_*: the share a deploy (or a rollback) covers; absent means all of it. */
export function rolloutVariables(progress: RolloutProgress): BuildEnvVar[] {
  const vars: Record<string, string> = {
    COCONUT_ROLLOUT_STRATEGY: progress.strategy,
    COCONUT_ROLLOUT_STEP: String(progress.step),
    COCONUT_ROLLOUT_STEPS: String(progress.of),
    COCONUT_ROLLOUT_PERCENT: String(progress.percent),
    COCONUT_ROLLOUT_PREVIOUS_PERCENT: String(progress.previousPercent),
  };
  return Object.entries(vars).map(([Name, Value]) => ({ Name, Value, Type: 'PLAINTEXT' as const }));
}

/** cosign keys, keyless identities and Notation policies reach a plan (one of cosign or notation, as the schema requires). */
function verifyPolicy(service: ServiceConfig): Pick<PlanEnvironment, 'verify'> {
  const notation = service.verify?.notation;
  if (notation) {
    return {
      verify: {
        notation: {
          trustedRoots: notation.trustedRoots,
          ...(notation.identities ? { identities: notation.identities } : {}),
          ...(notation.signingProfileArn ? { signingProfileArn: notation.signingProfileArn } : {}),
        },
        ...(service.image.pullSecret ? { pullSecret: service.image.pullSecret } : {}),
      },
    };
  }
  const cosign = service.verify?.cosign;
  if (!cosign) return {};
  const pullSecret = service.image.pullSecret ? { pullSecret: service.image.pullSecret } : {};
  if (typeof cosign.key === 'string') return { verify: { cosign: { key: cosign.key }, ...pullSecret } };
  // Only the fields that are set: a plan is JSON in Step Functions, where undefined has no place.
  const fields = cosign as Partial<Record<'identity' | 'identityRegexp' | 'issuer' | 'issuerRegexp' | 'trustedRoot', string>>;
  const keyless = Object.fromEntries(
    (['identity', 'identityRegexp', 'issuer', 'issuerRegexp', 'trustedRoot'] as const)
      .filter((k) => fields[k] !== undefined)
      .map((k) => [k, fields[k] as string]),
  );
  return { verify: { cosign: keyless, ...pullSecret } };
}

/**
 * An automatic deployment (push, tag, webhook) passes the gate in every environment: by the time
 * it gets there the environment may be pinned (src/core/pipeline/pins.ts). Rollbacks never pass it.
 */
export function gatedAtPins(plan: DeploymentPlan): DeploymentPlan {
  return {
    ...plan,
    environments: plan.environments.map((env) => (env.buildAction === 'rollback' ? env : { ...env, freeze: env.freeze ?? [] })),
  };
}

function withFreeze(windows: FreezeWindow[]): { freeze?: FreezeWindow[] } {
  return windows.length > 0 ? { freeze: windows } : {};
}

export function deploymentRecord(
  plan: DeploymentPlan,
  trigger: Trigger,
  kind: DeploymentRecord['kind'],
  now: Date,
): DeploymentRecord {
  return {
    deploymentId: plan.deploymentId,
    service: plan.service,
    version: plan.version,
    image: plan.image,
    trigger,
    environments: plan.environments.map((e) => e.name),
    createdAt: now.toISOString(),
    kind,
  };
}

export function initialStages(
  plan: DeploymentPlan,
  now: Date,
  kind: DeploymentRecord['kind'] = 'deploy',
  trigger?: Trigger,
): StageRecord[] {
  const at = now.toISOString();
  // A promotion's stages name where the digest was proven, so history can say so without the deployment record.
  const promotedFrom = trigger?.kind === 'promote' ? trigger.from : undefined;
  return plan.environments.map((env) => ({
    ...(kind === 'rollback' ? { kind } : {}),
    ...(promotedFrom ? { promotedFrom } : {}),
    deploymentId: plan.deploymentId,
    service: plan.service,
    environment: env.name,
    order: env.order,
    version: plan.version,
    state: 'PENDING',
    createdAt: at,
    updatedAt: at,
  }));
}

/**
 * The build's environment variables. Names are fixed; values come from config (trusted) and
 * from the event (validated against OCI patterns before planning). Buildspecs only ever
 * reference them as "$VAR", never by pasting them into command text.
 */
export function buildEnvironment(
  service: ServiceConfig,
  environment: string,
  deploymentId: string,
  image: ImageRef,
  action: 'deploy' | 'rollback',
): BuildEnvVar[] {
  const vars: Record<string, string> = {
    COCONUT_ACTION: action,
    COCONUT_DEPLOYMENT_ID: deploymentId,
    COCONUT_SERVICE: service.name,
    COCONUT_ENVIRONMENT: environment,
    COCONUT_VERSION: image.tag,
    COCONUT_IMAGE_REGISTRY: image.registry,
    COCONUT_IMAGE_REPOSITORY: image.repository,
    COCONUT_IMAGE_TAG: image.tag,
    COCONUT_IMAGE_DIGEST: image.digest ?? '',
    // A secret's name (never its value): the target resolves it where it pulls the image.
    ...(service.image.pullSecret ? { COCONUT_IMAGE_PULL_SECRET: service.image.pullSecret } : {}),
    ...targetVariables(service, environment),
  };
  return Object.entries(vars).map(([Name, Value]) => ({ Name, Value, Type: 'PLAINTEXT' }));
}

function targetVariables(service: ServiceConfig, environment: string): Record<string, string> {
  const target = service.target;
  const perEnv = (value: string) => value.replaceAll('{environment}', environment);
  switch (target.kind) {
    case 'ansible':
      return {
        COCONUT_ANSIBLE_PLAYBOOK: target.playbook,
        COCONUT_ANSIBLE_ROLLBACK_PLAYBOOK: target.rollbackPlaybook,
        COCONUT_ANSIBLE_INVENTORY: target.inventory,
        // Names and a path only, never key material: the buildspec reads the secrets itself
        // (templates/buildspec/scripts/ansible-ssh.sh). Unset means no SSH setup (local demo hosts).
        ...(target.sshKey ? { COCONUT_ANSIBLE_SSH_KEY_SECRET: perEnv(target.sshKey) } : {}),
        ...(target.knownHosts?.secret ? { COCONUT_ANSIBLE_KNOWN_HOSTS_SECRET: perEnv(target.knownHosts.secret) } : {}),
        ...(target.knownHosts?.file ? { COCONUT_ANSIBLE_KNOWN_HOSTS_FILE: perEnv(target.knownHosts.file) } : {}),
        ...(target.user ? { COCONUT_ANSIBLE_REMOTE_USER: target.user } : {}),
      };
    case 'helm':
      return {
        COCONUT_HELM_RELEASE: perEnv(target.release ?? service.name),
        COCONUT_HELM_CHART: target.chart,
        COCONUT_HELM_NAMESPACE: perEnv(target.namespace),
        COCONUT_HELM_TIMEOUT: `${target.timeout}s`,
        COCONUT_EKS_CLUSTER: perEnv(target.cluster ?? ''),
        // Comma-joined: the schema forbids commas in paths and secret names.
        COCONUT_HELM_VALUES_FILES: target.valuesFiles.map(perEnv).join(','),
        COCONUT_HELM_IMAGE_PULL_SECRETS: target.imagePullSecrets.join(','),
        COCONUT_IMAGE_NAME: imageName(service, target.imageRepository),
      };
    case 'copilot':
      return {
        COCONUT_COPILOT_APP: target.app,
        COCONUT_COPILOT_SERVICE: target.name ?? service.name,
        COCONUT_COPILOT_WORKSPACE: target.workspace,
        COCONUT_IMAGE_NAME: imageName(service, target.imageRepository),
      };
    case 'ecs':
      return {
        COCONUT_ECS_CLUSTER: perEnv(target.cluster),
        COCONUT_ECS_SERVICE: perEnv(target.service ?? service.name),
        COCONUT_ECS_CONTAINER: target.container ?? '',
        // A cluster given as an ARN lives in the ARN's region: the ECS step must call it there.
        COCONUT_ECS_REGION: target.region ?? /^arn:[^:]+:ecs:([^:]+):/.exec(perEnv(target.cluster))?.[1] ?? '',
        // ECS deployment alarms: the environment's bake alarms (alarm names cannot contain commas).
        COCONUT_ECS_ALARMS: (service.environments.find((e) => e.name === environment)?.alarms ?? []).join(','),
      };
  }
}

/**
 * The image name (registry host and repository, no tag) a Helm or Copilot build deploys by
 * digest. ECR's host depends on the account and region the build runs in, so it is left empty
 * and the buildspec derives it there.
 */
export function imageName(service: ServiceConfig, override?: string): string {
  if (override) return override;
  const repository = service.image.repository;
  switch (service.image.registry) {
    case 'ghcr':
      return `ghcr.io/${repository}`;
    case 'dockerhub':
      return `docker.io/${repository.includes('/') ? repository : `library/${repository}`}`;
    case 'ecr':
      return '';
  }
}

/** The deploy build's variables turned into a rollback to `to`. */
export function rollbackEnvironment(
  deployEnv: BuildEnvVar[],
  to: { version: string; digest?: string; revision?: string },
): BuildEnvVar[] {
  const replace: Record<string, string> = {
    COCONUT_ACTION: 'rollback',
    COCONUT_VERSION: to.version,
    COCONUT_IMAGE_TAG: to.version,
    COCONUT_IMAGE_DIGEST: to.digest ?? '',
    // What the target recorded when that version was deployed (a Helm revision, an ECS task
    // definition ARN): the rollback returns to exactly that, not to a re-render of it.
    COCONUT_ROLLBACK_REVISION: to.revision ?? '',
  };
  const rolled = deployEnv.map((v) => (v.Name in replace ? { ...v, Value: replace[v.Name] as string } : v));
  const missing = Object.keys(replace).filter((name) => !deployEnv.some((v) => v.Name === name));
  return [...rolled, ...missing.map((Name) => ({ Name, Value: replace[Name] as string, Type: 'PLAINTEXT' as const }))];
}

/**
 * COCONUT_STABLE_*: the known-good version (the last one that passed its bake in this environment) that a
 * rollout keeps on the stable track beside its canary (the Helm chart's two tracks). Read when each step
 * starts, not when the push is planned: a deployment queued behind another must keep what that one proved.
 * None before an environment's first good deploy: then the target deploys all at once (helm-deploy.yml).
 * The image name is the service's, from coconut.yaml (both tracks pull from the same repository; empty for
 * ECR, whose host the build derives).
 */
export function stableVariables(
  buildEnv: BuildEnvVar[],
  good: { version: string; digest?: string | undefined } | undefined,
): BuildEnvVar[] {
  if (!good) return [];
  const vars: Record<string, string> = {
    COCONUT_STABLE_IMAGE_NAME: variable(buildEnv, 'COCONUT_IMAGE_NAME'),
    COCONUT_STABLE_IMAGE_DIGEST: good.digest ?? '',
    COCONUT_STABLE_VERSION: good.version,
  };
  return Object.entries(vars).map(([Name, Value]) => ({ Name, Value, Type: 'PLAINTEXT' as const }));
}

/** A rollout step's build variables with the stable version as it is now (any earlier COCONUT_STABLE_* replaced). */
export function withStableVersion(
  stepEnv: BuildEnvVar[],
  good: { version: string; digest?: string | undefined } | undefined,
): BuildEnvVar[] {
  return [...stepEnv.filter((v) => !v.Name.startsWith('COCONUT_STABLE_')), ...stableVariables(stepEnv, good)];
}

/**
 * The rollback build of a rollout that reached `reached`: the deploy's variables turned into a rollback
 * to `to` (COCONUT_VERSION / COCONUT_IMAGE_DIGEST = the known-good version), the share every step so far
 * reached (COCONUT_ROLLOUT_*), the stable track's version (COCONUT_STABLE_* = `to`) and the version the
 * rollout was bringing in, which a canary track still runs (COCONUT_CANARY_VERSION / _IMAGE_DIGEST): the
 * Helm abort turns its weight to 0 before it removes it (src/core/pipeline/helm-rollout.ts), when one serves
 * requests (COCONUT_CANARY_LIVE; `deployed`: the reached step's deploy completed).
 */
export function rolloutRollbackEnvironment(
  deployEnv: BuildEnvVar[],
  to: { version: string; digest?: string; revision?: string },
  reached: RolloutProgress,
  deployed: boolean,
): BuildEnvVar[] {
  const own = /^COCONUT_(ROLLOUT|STABLE|CANARY)_/;
  // The canary's share now: the reached step's once its deploy completed, else the step's before it.
  // At 100% the canary track is gone (promoted), and at 0% it never started.
  const share = deployed ? reached.percent : reached.previousPercent;
  const canary: Record<string, string> = {
    COCONUT_CANARY_VERSION: variable(deployEnv, 'COCONUT_VERSION'),
    COCONUT_CANARY_IMAGE_DIGEST: variable(deployEnv, 'COCONUT_IMAGE_DIGEST'),
    COCONUT_CANARY_LIVE: String(share > 0 && share < 100),
  };
  return [
    ...rollbackEnvironment(deployEnv, to).filter((v) => !own.test(v.Name)),
    ...rolloutVariables(reached),
    ...stableVariables(deployEnv, to),
    ...Object.entries(canary).map(([Name, Value]) => ({ Name, Value, Type: 'PLAINTEXT' as const })),
  ];
}

function variable(env: BuildEnvVar[], name: string): string {
  return env.find((v) => v.Name === name)?.Value ?? '';
}
