/**
 * The bookkeeping steps of deploy.asl.json: each moves one environment's stage to its next
 * state, keeps "what runs where" up to date, and tells the notifier. Safe to retry: moving to
 * the state a stage is already in changes nothing.
 */
import { type RolloutProgress, rehearsedTarget, type StageRecord, type StageState } from '../model/deployment.ts';
import { describeFailure, ERRORS, type StepFailure } from '../model/failure.ts';
import type { Alarms, Clock, DeploymentReader, EnvironmentVersions, Log, Notifier, StageProgress } from '../ports.ts';
import type { BuildEnvVar } from '../triggers/plan.ts';
import { rollbackEnvironment, rolloutRollbackEnvironment, withStableVersion } from '../triggers/plan.ts';
import { stepLabel } from './rollout.ts';

export interface StageDeps {
  store: DeploymentReader & StageProgress & EnvironmentVersions;
  clock: Clock;
  log: Log;
  notifier: Notifier;
}

export interface StageRef {
  deploymentId: string;
  service: string;
  version: string;
  environment: string;
}

/** What CodeBuild's .sync integration returns under `Build` (the part Coconut reads). */
export interface BuildResult {
  Id?: string;
  ExportedEnvironmentVariables?: { Name: string; Value: string }[];
}

async function move(
  deps: StageDeps,
  ref: StageRef,
  state: StageState,
  extra: Omit<Parameters<StageProgress['updateStage']>[2], 'state'> = {},
): Promise<StageRecord> {
  const now = deps.clock.now();
  const stage = await deps.store.updateStage(ref.deploymentId, ref.environment, { state, ...extra }, now);
  deps.log.info(`${ref.service} ${ref.version} on ${ref.environment}: ${state}${stage.reason ? ` — ${stage.reason}` : ''}`, {
    deploymentId: ref.deploymentId,
    environment: ref.environment,
    state,
  });
  try {
    // The notifier reads the deployment itself only when it needs it (to start a chat thread):
    // a stage move is on the hot path, and most notifiers never look at it.
    await deps.notifier.stageChanged(stage);
  } catch (error) {
    deps.log.warn('could not notify about a stage change', { error: String(error) });
  }
  return stage;
}

export async function recordAwaitingApproval(
  deps: StageDeps,
  ref: StageRef,
  rollout?: RolloutProgress,
): Promise<{ previousVersion?: string }> {
  if (rollout) {
    // Between two steps of a rollout: the stage started long ago and its previous version is known.
    const existing = await deps.store.getStage(ref.deploymentId, ref.environment);
    await move(deps, ref, 'AWAITING_APPROVAL', { rollout });
    return existing?.previousVersion ? { previousVersion: existing.previousVersion } : {};
  }
  const current = await deps.store.getEnvironmentState(ref.service, ref.environment);
  await move(deps, ref, 'AWAITING_APPROVAL', {
    startedAt: deps.clock.now().toISOString(),
    ...(current?.current ? { previousVersion: current.current.version } : {}),
  });
  return current?.current ? { previousVersion: current.current.version } : {};
}

export async function recordDeploying(
  deps: StageDeps & { alarms?: Alarms },
  ref: StageRef,
  alarmNames: string[] = [],
  rollout?: RolloutProgress,
): Promise<{ previousVersion?: string }> {
  const existing = await deps.store.getStage(ref.deploymentId, ref.environment);
  if (rollout && existing?.startedAt) {
    // A step of a rollout: the first RecordDeploying noted the previous version and the alarms.
    await move(deps, ref, 'DEPLOYING', { rollout });
    return existing.previousVersion ? { previousVersion: existing.previousVersion } : {};
  }
  const current = await deps.store.getEnvironmentState(ref.service, ref.environment);
  const previousVersion = existing?.previousVersion ?? current?.current?.version;
  const firing =
    deps.alarms && alarmNames.length
      ? (await deps.alarms.getStates(alarmNames)).filter((a) => a.state === 'ALARM').map((a) => a.name)
      : [];
  await move(deps, ref, 'DEPLOYING', {
    startedAt: existing?.startedAt ?? deps.clock.now().toISOString(),
    ...(previousVersion ? { previousVersion } : {}),
    ...(firing.length ? { preexistingAlarms: firing } : {}),
  });
  return previousVersion ? { previousVersion } : {};
}

/** The deploy build succeeded: the new version runs now (unless it was only rehearsed). */
export async function recordBaking(
  deps: StageDeps,
  ref: StageRef & { digest?: string },
  build: BuildResult | undefined,
  rollout?: RolloutProgress,
): Promise<{ rehearsal: boolean }> {
  const rehearsal = rehearsalOf(build);
  // Keep what was rehearsed before (the scan gate may have been), add the deploy.
  const earlier = rehearsal || rollout ? await deps.store.getStage(ref.deploymentId, ref.environment) : undefined;
  await move(deps, ref, 'BAKING', {
    ...(build?.Id ? { buildId: build.Id } : {}),
    ...(rollout ? { rollout } : {}),
    ...(rehearsal
      ? { rehearsal: mergeRehearsal(earlier?.rehearsal, rehearsal) }
      : // Time to restore counts from the first step that reached users.
        { deployedAt: earlier?.deployedAt ?? deps.clock.now().toISOString() }),
  });
  if (!rehearsal) {
    const revision = targetRevisionOf(build);
    await deps.store.setEnvironmentVersions(
      ref.service,
      ref.environment,
      {
        current: {
          version: ref.version,
          deploymentId: ref.deploymentId,
          ...(ref.digest ? { digest: ref.digest } : {}),
          ...(revision ? { revision } : {}),
        },
      },
      deps.clock.now(),
    );
  }
  return { rehearsal: Boolean(rehearsal) };
}

export async function recordSucceeded(deps: StageDeps, ref: StageRef & { digest?: string }): Promise<void> {
  const stage = await move(deps, ref, 'SUCCEEDED', { finishedAt: deps.clock.now().toISOString() });
  if (!rehearsedTarget(stage.rehearsal)) {
    // What RecordBaking wrote for this deployment carries the target's revision; keep it.
    const current = (await deps.store.getEnvironmentState(ref.service, ref.environment))?.current;
    const good =
      current?.deploymentId === ref.deploymentId
        ? current
        : { version: ref.version, deploymentId: ref.deploymentId, ...(ref.digest ? { digest: ref.digest } : {}) };
    await deps.store.setEnvironmentVersions(ref.service, ref.environment, { lastKnownGood: good }, deps.clock.now());
  }
}

export interface Outcome {
  error: string;
  cause: string;
}

/**
 * An environment is about to end badly: the execution stops there, so the later environments
 * of this deployment are SKIPPED (never left PENDING). Done before the failed stage is written,
 * so whoever sees that final state also sees the skipped ones.
 */
async function skipLaterStages(deps: StageDeps, ref: StageRef, state: StageState): Promise<void> {
  const deployment = await deps.store.getDeployment(ref.deploymentId);
  const failed = deployment?.stages.find((s) => s.environment === ref.environment);
  for (const later of deployment?.stages ?? []) {
    if (failed && later.order > failed.order && later.state === 'PENDING') {
      await deps.store
        .updateStage(
          later.deploymentId,
          later.environment,
          { state: 'SKIPPED', reason: `not reached: ${ref.environment} ${state}` },
          deps.clock.now(),
        )
        .catch((e) => deps.log.warn(`could not mark ${later.environment} as skipped`, { error: String(e) }));
    }
  }
}

/** What the execution's final Fail state reports. */
function outcome(ref: StageRef, error: string, reason: string): Outcome {
  return { error, cause: `${ref.service} ${ref.version} on ${ref.environment}: ${reason}` };
}

export async function recordRejected(deps: StageDeps, ref: StageRef, failure: StepFailure | undefined): Promise<Outcome> {
  const expired = failure?.Error === 'States.Timeout';
  const reason = rejectionReason(failure);
  await skipLaterStages(deps, ref, 'REJECTED');
  await move(deps, ref, 'REJECTED', { reason, finishedAt: deps.clock.now().toISOString() });
  return outcome(ref, expired ? ERRORS.approvalExpired : ERRORS.rejected, reason);
}

/** Why an approval ended the deployment: it expired, someone rejected it, or the request failed. */
function rejectionReason(failure: StepFailure | undefined): string {
  if (failure?.Error === 'States.Timeout') return 'approval expired: nobody approved it in time';
  if (failure?.Error === ERRORS.rejected) return failure.Cause || 'rejected';
  return describeFailure(failure, 'approval request').reason;
}

export interface RollbackPlan {
  canRollBack: boolean;
  version?: string;
  buildEnv?: BuildEnvVar[];
  outcome?: Outcome;
}

/**
 * The deploy failed or an alarm fired: decide whether and to what to roll back. With a last
 * known-good version the stage goes ROLLING_BACK; without one (or when nothing was changed)
 * it ends FAILED here.
 */
export async function prepareRollback(
  deps: StageDeps,
  ref: StageRef,
  failure: StepFailure | undefined,
  step: string,
  deployEnv: BuildEnvVar[],
): Promise<RollbackPlan> {
  const stage = await deps.store.getStage(ref.deploymentId, ref.environment);
  const reached = stage?.rollout;
  // A step that waited for approval ended by a rejection or an expiry, not by its deploy.
  const failed = stage?.state === 'AWAITING_APPROVAL' ? { reason: rejectionReason(failure) } : describeFailure(failure, step);
  // "... at canary 10% (step 1 of 3)": which step the failure ended.
  const described = reached ? { ...failed, reason: `${failed.reason} at ${stepWhere(reached)}` } : failed;
  const env = await deps.store.getEnvironmentState(ref.service, ref.environment);
  const target = env?.lastKnownGood;
  const finishedAt = deps.clock.now().toISOString();
  if (described.nothingChanged) {
    await skipLaterStages(deps, ref, 'FAILED');
    await move(deps, ref, 'FAILED', { reason: described.reason, finishedAt });
    return { canRollBack: false, outcome: outcome(ref, ERRORS.deployFailed, described.reason) };
  }
  if (!target || target.version === ref.version) {
    const reason = `${described.reason}; no earlier good version of ${ref.service} on ${ref.environment} to roll back to`;
    await skipLaterStages(deps, ref, 'FAILED');
    await move(deps, ref, 'FAILED', { reason, finishedAt, ...(described.alarm ? { alarm: described.alarm } : {}) });
    return { canRollBack: false, outcome: outcome(ref, ERRORS.deployFailed, reason) };
  }
  await move(deps, ref, 'ROLLING_BACK', {
    reason: described.reason,
    rolledBackTo: target.version,
    ...(described.alarm ? { alarm: described.alarm } : {}),
  });
  // A rollout rolls back the share every step so far reached, the failed one included (its
  // deploy may have changed part of its batch before it failed).
  return {
    canRollBack: true,
    version: target.version,
    buildEnv: reached
      ? rolloutRollbackEnvironment(deployEnv, target, reached, stage?.state === 'BAKING')
      : rollbackEnvironment(deployEnv, target),
  };
}

/**
 * The build variables of a rollout step as it starts: the plan's, plus the stable version the step keeps
 * beside its canary, read now (COCONUT_STABLE_*, plan.ts stableVariables). The same known-good version
 * a failure rolls back to (prepareRollback).
 */
export async function stepBuildEnvironment(deps: StageDeps, ref: StageRef, stepEnv: BuildEnvVar[]): Promise<BuildEnvVar[]> {
  const env = await deps.store.getEnvironmentState(ref.service, ref.environment);
  return withStableVersion(stepEnv, env?.lastKnownGood);
}

/** "canary 10% (step 1 of 3)". */
export function stepWhere(progress: RolloutProgress): string {
  return `${stepLabel(progress.strategy, progress.percent)} (step ${progress.step} of ${progress.of})`;
}

export async function recordRolledBack(deps: StageDeps, ref: StageRef, build: BuildResult | undefined): Promise<Outcome> {
  const stage = await deps.store.getStage(ref.deploymentId, ref.environment);
  const to = stage?.rolledBackTo;
  const rehearsal = rehearsalOf(build);
  await skipLaterStages(deps, ref, 'ROLLED_BACK');
  const updated = await move(deps, ref, 'ROLLED_BACK', {
    finishedAt: deps.clock.now().toISOString(),
    ...(rehearsal ? { rehearsal: mergeRehearsal(stage?.rehearsal, rehearsal) } : {}),
  });
  if (to && !rehearsal) {
    const env = await deps.store.getEnvironmentState(ref.service, ref.environment);
    if (env?.lastKnownGood) {
      const revision = targetRevisionOf(build);
      await deps.store.setEnvironmentVersions(
        ref.service,
        ref.environment,
        { current: { ...env.lastKnownGood, ...(revision ? { revision } : {}) } },
        deps.clock.now(),
      );
    }
  }
  return outcome(
    ref,
    ERRORS.rolledBack,
    `rolled back to ${to ?? 'the last known-good version'}: ${updated.reason ?? 'deployment failed'}`,
  );
}

export async function recordRollbackFailed(deps: StageDeps, ref: StageRef, failure: StepFailure | undefined): Promise<Outcome> {
  const stage = await deps.store.getStage(ref.deploymentId, ref.environment);
  const rollbackReason = describeFailure(failure, 'rollback').reason;
  const reason = `${stage?.reason ?? 'deployment failed'}; then ${rollbackReason} — ${ref.service} on ${ref.environment} needs attention`;
  await skipLaterStages(deps, ref, 'ROLLBACK_FAILED');
  await move(deps, ref, 'ROLLBACK_FAILED', { reason, finishedAt: deps.clock.now().toISOString() });
  return outcome(ref, ERRORS.rollbackFailed, reason);
}

export async function recordFailed(
  deps: StageDeps,
  ref: StageRef,
  failure: StepFailure | undefined,
  step: string,
): Promise<Outcome> {
  const described = describeFailure(failure, step);
  await skipLaterStages(deps, ref, 'FAILED');
  await move(deps, ref, 'FAILED', {
    reason: described.reason,
    finishedAt: deps.clock.now().toISOString(),
    ...(described.alarm ? { alarm: described.alarm } : {}),
  });
  // The gates' own errors travel on, so the execution says which gate stopped it.
  const gate =
    failure?.Error === ERRORS.scanBlocked ||
    failure?.Error === ERRORS.scanUnavailable ||
    failure?.Error === ERRORS.signatureInvalid;
  return outcome(ref, gate ? (failure?.Error as string) : ERRORS.deployFailed, described.reason);
}

/**
 * Builds (and the ECS step) export COCONUT_TARGET_REVISION: what the target now runs, e.g. a
 * Helm revision or an ECS task definition ARN. Values are bounded: they end up in the store.
 */
function targetRevisionOf(build: BuildResult | undefined): string | undefined {
  const value = build?.ExportedEnvironmentVariables?.find((v) => v.Name === 'COCONUT_TARGET_REVISION')?.Value;
  return value && /^[A-Za-z0-9:/._-]{1,512}$/.test(value) ? value : undefined;
}

/** The local build runner exports COCONUT_REHEARSAL when a tool was missing and nothing ran. */
function rehearsalOf(build: BuildResult | undefined): StageRecord['rehearsal'] | undefined {
  const vars = new Map((build?.ExportedEnvironmentVariables ?? []).map((v) => [v.Name, v.Value]));
  if (vars.get('COCONUT_REHEARSAL') !== 'true') return undefined;
  return {
    tools: (vars.get('COCONUT_MISSING_TOOLS') ?? '').split(',').filter(Boolean),
    steps: [vars.get('COCONUT_REHEARSED_STEP') ?? 'deploy'],
  };
}

/**
 * Whether the rehearsed steps mean the target was not changed. A scan that was not performed
 * is labelled too, but the deploy after it ran for real.
 */

export function mergeRehearsal(
  a: StageRecord['rehearsal'],
  b: NonNullable<StageRecord['rehearsal']>,
): NonNullable<StageRecord['rehearsal']> {
  return { tools: [...new Set([...(a?.tools ?? []), ...b.tools])], steps: [...(a?.steps ?? []), ...b.steps] };
}
