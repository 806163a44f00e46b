/**
 * An ECS canary/linear rollout as ONE stage of the pipeline: ECS shifts the traffic, bakes each
 * step and rolls back on its deployment alarms; Coconut starts it, waits on a task token until an
 * ECS event says something happened, asks the environment's approvers at each PAUSE hook, and
 * answers the hook (ContinueServiceDeployment CONTINUE or ROLLBACK).
 *
 * The wait is event-driven like a bake: the FollowEcsRollout task stores its token against the
 * service (in the table of bake watches, keyed by `ecsRolloutWatchKey`, which no alarm name of
 * coconut.yaml can be), reads the service deployment once, and settles the token itself if ECS is already further
 * along. After that only an "ECS Deployment State Change" / "ECS Hook State Change" event about the
 * service (functions/ecs-rollout-changed.ts) reads it again — never a polling loop (Step Functions
 * caps an execution at 25,000 history events).
 *   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_deployment_events.html
 *   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/pause-lifecycle-hooks.html
 *
 * A bounded safety re-check backs the events up. Events reach EventBridge "best effort" or at least
 * once ("in some rare cases an event might not be delivered"); a target that fails is retried "for 24
 * hours and up to 185 times with an exponential back off" (so an event may come hours late), after
 * which "the event is dropped" — and a wrong rule or target never delivers it at all:
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-delivery-level.html
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html
 * So the follow's token times out after `recheckSeconds` (5 minutes by default; ecsRecheckSeconds),
 * and RecheckEcsRollout reads the deployment once (DescribeServiceDeployments, the same read an event
 * makes): it moves on as the event would have, or waits again on a fresh token, until `followUntil`
 * (lockSeconds after the rollout started) ends the stage as the old single timeout did:
 *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceDeployments.html
 */
import { z } from 'zod';
import type { RolloutProgress } from '../model/deployment.ts';
import { TaskTokenExpiredError } from '../model/errors.ts';
import { ERRORS, type StepFailure } from '../model/failure.ts';
import type { ApprovalRecords, BakeWatch, BakeWatches, Clock, Log, Notifier, Orchestrator, StageProgress } from '../ports.ts';
import type { BuildEnvVar } from '../triggers/plan.ts';
import { expireApproval } from './approvals.ts';
import {
  answerEcsRolloutApproval,
  ECS_RECHECK_SECONDS,
  type EcsDeploymentSettings,
  type EcsRolloutAction,
  type EcsRolloutTarget,
  onEcsRolloutWake,
} from './ecs-rollout.ts';
import { ecsTargetOf, requireEcsDigest } from './ecs-step.ts';
import { stepLabel } from './rollout.ts';
import type { StageRef } from './stage-steps.ts';

/** What the plan carries for an ECS rollout (plan.ts PlanRollout.ecs). */
export interface PlanEcsRollout {
  /** UpdateService's deploymentConfiguration (ecsDeploymentConfiguration), computed when planning. */
  settings: EcsDeploymentSettings;
  /** The cumulative traffic percentages ECS will walk, ending in 100 (for the status and approvals). */
  percents: number[];
  /** Seconds a follow waits for an ECS event before it reads the deployment itself (ecsRecheckSeconds). */
  recheckSeconds?: number;
}

/** The rollout in flight, as the state machine carries it between its states ($.ecsRollout.handle). */
export const ecsRolloutHandleSchema = z.object({
  serviceDeploymentArn: z.string().min(1),
  /** The service the ECS events name in `resources`: the key of the wait. */
  serviceArn: z.string().min(1),
  region: z.string().optional(),
  strategy: z.enum(['canary', 'linear']),
  percents: z.array(z.number()).min(1),
  /** The step the new revision is in (or, after an approval, shifting to). */
  progress: z.object({
    strategy: z.enum(['canary', 'linear']),
    step: z.number().int().min(1),
    of: z.number().int().min(1),
    percent: z.number().int().min(1).max(100),
    previousPercent: z.number().int().min(0).max(99),
  }),
  /** The hook Coconut answered last: ECS may still report it AWAITING_ACTION for a moment. */
  answeredHook: z.string().default(''),
  /** Set once Coconut answered ROLLBACK (rejected, expired): why, for the ROLLED_BACK record. */
  because: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
  /** Shaped like a build result, for RecordBaking / RecordRolledBack (the task definition it runs). */
  build: z.object({
    Id: z.string(),
    ExportedEnvironmentVariables: z.array(z.object({ Name: z.string(), Value: z.string() })),
  }),
  /** Nothing ran (local runtime without an ECS endpoint): the rollout is a labelled rehearsal. */
  rehearsal: z.boolean().default(false),
  /** How long one follow waits for an event before RecheckEcsRollout reads the deployment itself. */
  recheckSeconds: z.number().int().positive().default(ECS_RECHECK_SECONDS),
  /** Epoch seconds: the rollout started lockSeconds before; a re-check after this ends the stage (States.Timeout). */
  followUntil: z.number().int().optional(),
});
export type EcsRolloutHandle = z.output<typeof ecsRolloutHandleSchema>;

/** What FollowEcsRollout's token is settled with when ECS waits at a PAUSE hook ($.ecsWake). */
export interface EcsApprovalWake {
  action: 'approve';
  hookId: string;
  /** The traffic the new revision has now. */
  trafficPercent: number;
  /** The step the approval lets ECS shift to: "canary 100%". */
  progress: RolloutProgress;
  label: string;
}

export const ECS_ROLLOUT_FAILED = 'Coconut.EcsDeploymentFailed';

/** The wait's key in the bake-watch table: "|" is in no alarm name coconut.yaml accepts (schema.ts ALARM_NAME). */
export function ecsRolloutWatchKey(serviceArn: string): string {
  return `ecs-rollout|${serviceArn}`;
}

/** arn:…:service-deployment/CLUSTER/SERVICE/ID -> arn:…:service/CLUSTER/SERVICE (both ARN formats from the ECS API reference). */
export function serviceArnOf(serviceDeploymentArn: string): string | undefined {
  const m = /^(arn:aws[a-z-]*:ecs:[^:]+:\d{12}):service-deployment\/([^/]+)\/([^/]+)\/[^/]+$/.exec(serviceDeploymentArn);
  return m ? `${m[1]}:service/${m[2]}/${m[3]}` : undefined;
}

/** The end of a service's ARN (arn:…:service/CLUSTER/SERVICE) from the cluster (a name or an ARN) and service the plan names. */
export function serviceArnSuffix(cluster: string, service: string): string {
  const name = /^arn:[^:]+:ecs:[^:]+:\d{12}:cluster\/(.+)$/.exec(cluster)?.[1] ?? cluster;
  return `:service/${name}/${service}`;
}

/** The step ECS shifts to next when the new revision has `trafficPercent` of the traffic. */
export function nextEcsStep(strategy: 'canary' | 'linear', percents: number[], trafficPercent: number): RolloutProgress {
  const index = Math.max(
    0,
    percents.findIndex((p) => p > trafficPercent + 1e-9),
  );
  const percent = percents[index] ?? 100;
  return {
    strategy,
    step: index + 1,
    of: percents.length,
    percent,
    previousPercent: Math.min(99, Math.max(0, Math.floor(trafficPercent))),
  };
}

export interface EcsRolloutDeps {
  ecs?: Partial<EcsRolloutTarget>;
  store: BakeWatches & ApprovalRecords & Pick<StageProgress, 'getStage'>;
  orchestrator: Orchestrator;
  notifier: Notifier;
  clock: Clock;
  log: Log;
}

function target(deps: { ecs?: Partial<EcsRolloutTarget> }): EcsRolloutTarget {
  const ecs = deps.ecs;
  if (!ecs?.startRollout || !ecs.rolloutState || !ecs.continueRollout) {
    throw new Error(
      'no ECS adapter with rollouts (startRollout, rolloutState, continueRollout) is wired into this runtime (Ports.ecs)',
    );
  }
  return ecs as EcsRolloutTarget;
}

/**
 * StartEcsRollout: a new task definition revision (only the image changes, by digest) and one
 * UpdateService with the rollout's deploymentConfiguration. Returns at once with the service
 * deployment to follow; a retry finds the service already on the revision.
 */
export async function startEcsRollout(
  deps: Pick<EcsRolloutDeps, 'ecs' | 'log' | 'clock'>,
  ref: StageRef,
  buildEnv: BuildEnvVar[],
  ecs: PlanEcsRollout & { strategy: 'canary' | 'linear' },
  lockSeconds: number,
): Promise<EcsRolloutHandle> {
  const { target: request, digest } = ecsTargetOf(buildEnv);
  requireEcsDigest(ref, digest);
  const { cluster, service, repository, region } = request;
  deps.log.info(
    `${ref.service} ${ref.version} on ${ref.environment}: ECS ${ecs.settings.strategy} rollout of ${repository}@${digest} (${ecs.percents.join('% -> ')}%)`,
  );
  const started = await target(deps).startRollout({ ...request, digest }, ecs.settings);
  const rehearsal = Boolean(started.rehearsal);
  const serviceArn = started.serviceArn ?? serviceArnOf(started.serviceDeploymentArn) ?? `${cluster}/${service}`;
  return {
    serviceDeploymentArn: started.serviceDeploymentArn,
    serviceArn,
    ...(region ? { region } : {}),
    strategy: ecs.strategy,
    percents: ecs.percents,
    progress: nextEcsStep(ecs.strategy, ecs.percents, 0),
    answeredHook: '',
    rehearsal,
    // Never wait longer than the whole rollout may take.
    recheckSeconds: Math.max(1, Math.min(ecs.recheckSeconds ?? ECS_RECHECK_SECONDS, lockSeconds)),
    followUntil: epochSeconds(deps.clock) + lockSeconds,
    build: {
      Id: rehearsal ? `ecs:${cluster}/${service}:rehearsal` : `ecs:${started.serviceDeploymentArn}`,
      ExportedEnvironmentVariables: rehearsal
        ? [
            { Name: 'COCONUT_REHEARSAL', Value: 'true' },
            { Name: 'COCONUT_MISSING_TOOLS', Value: (started.rehearsal?.missing ?? []).join(',') },
            { Name: 'COCONUT_REHEARSED_STEP', Value: 'deploy' },
          ]
        : [
            { Name: 'COCONUT_DEPLOYED_VERSION', Value: ref.version },
            { Name: 'COCONUT_TARGET_REVISION', Value: started.taskDefinitionArn },
          ],
    },
  };
}

interface EcsRolloutWatch extends BakeWatch {
  ecsRollout: EcsRolloutHandle;
}

/**
 * FollowEcsRollout: store the token against the service, then read the deployment once — an
 * event that came before the watch existed woke nobody.
 */
export async function followEcsRollout(
  deps: EcsRolloutDeps,
  ref: { deploymentId: string; environment: string },
  handle: EcsRolloutHandle,
  taskToken: string,
  waitSeconds: number,
): Promise<void> {
  const watch: EcsRolloutWatch = {
    alarm: ecsRolloutWatchKey(handle.serviceArn),
    deploymentId: ref.deploymentId,
    environment: ref.environment,
    taskToken,
    expiresAt: epochSeconds(deps.clock) + waitSeconds + 3600,
    ecsRollout: handle,
  };
  await deps.store.putBakeWatch(watch);
  await wake(deps, watch);
}

/** An ECS event about `serviceArn`: wake every rollout of it that waits. */
export async function onEcsRolloutEvent(
  deps: EcsRolloutDeps,
  serviceArn: string,
): Promise<{ woken: number; settled: number; ignored?: string }> {
  const watches = await deps.store.listBakeWatches(ecsRolloutWatchKey(serviceArn));
  let settled = 0;
  for (const stored of watches) {
    const handle = ecsRolloutHandleSchema.safeParse((stored as Partial<EcsRolloutWatch>).ecsRollout);
    if (!handle.success) {
      deps.log.warn(`a stored ECS rollout wait of ${stored.deploymentId} is unreadable; dropped`, { serviceArn });
      await deps.store.deleteBakeWatch(stored.alarm, stored.deploymentId, stored.environment);
      continue;
    }
    if (await wake(deps, { ...stored, ecsRollout: handle.data })) settled++;
  }
  if (watches.length === 0) return { woken: 0, settled, ignored: `no rollout of ${serviceArn} is waiting` };
  return { woken: watches.length, settled };
}

/** What one read of the deployment says the waiting stage does: its token's success or failure. */
type EcsOutcome = { output: EcsApprovalWake | { action: 'succeeded' } } | { failure: { Error: string; Cause: string } };

/** One read of the deployment (the same for an event and a re-check); undefined while ECS is still busy. */
async function readOutcome(deps: EcsRolloutDeps, h: EcsRolloutHandle, where: string): Promise<EcsOutcome | undefined> {
  let next: EcsRolloutAction = h.rehearsal
    ? { action: 'succeeded' }
    : await onEcsRolloutWake(target(deps), h.serviceDeploymentArn, h.region);
  // ECS has not taken Coconut's last answer yet, or rolls back on Coconut's ROLLBACK: its next event wakes us.
  if (next.action === 'approve' && (next.hookId === h.answeredHook || h.because)) {
    next = { action: 'wait', trafficPercent: next.trafficPercent };
  }
  switch (next.action) {
    case 'wait':
    case 'continue':
      return undefined;
    case 'approve': {
      const progress = nextEcsStep(h.strategy, h.percents, next.trafficPercent);
      const output: EcsApprovalWake = {
        action: 'approve',
        hookId: next.hookId,
        trafficPercent: next.trafficPercent,
        progress,
        label: stepLabel(progress.strategy, progress.percent),
      };
      deps.log.info(`ECS rollout ${where} paused at ${next.trafficPercent}%: asking for ${output.label}`);
      return { output };
    }
    case 'succeeded':
      if (h.because) {
        // Coconut answered ROLLBACK, yet the deployment completed: say so rather than claim a rollback.
        return {
          failure: {
            Error: ECS_ROLLOUT_FAILED,
            Cause: `ECS completed the deployment although Coconut answered ROLLBACK (${h.because.Error})`,
          },
        };
      }
      deps.log.info(`ECS rollout ${where} completed`);
      return { output: { action: 'succeeded' } };
    case 'rolledBack': {
      const reason = h.because ? `${becauseReason(h.because)}; ECS rolled back to the previous revision` : next.reason;
      deps.log.info(`ECS rollout ${where}: ${reason}`);
      return { failure: { Error: ERRORS.ecsRolledBack, Cause: JSON.stringify({ reason, alarms: next.alarms }) } };
    }
    case 'failed':
      return { failure: { Error: ECS_ROLLOUT_FAILED, Cause: next.reason } };
  }
}

/** An event (or the follow's own first read) woke the wait: settle its token unless ECS is still busy. True when settled. */
async function wake(deps: EcsRolloutDeps, watch: EcsRolloutWatch): Promise<boolean> {
  const where = `${watch.ecsRollout.serviceDeploymentArn} (${watch.deploymentId} on ${watch.environment})`;
  const outcome = await readOutcome(deps, watch.ecsRollout, where);
  if (!outcome) return false;
  try {
    if ('output' in outcome) await deps.orchestrator.sendTaskSuccess(watch.taskToken, outcome.output);
    else await deps.orchestrator.sendTaskFailure(watch.taskToken, outcome.failure.Error, outcome.failure.Cause);
  } catch (error) {
    // The follow timed out meanwhile (TaskTimedOut / InvalidToken): its re-check reads the same deployment
    // and moves on by itself, so this wake stands down — the stage moves once.
    if (!(error instanceof TaskTokenExpiredError)) throw error;
    deps.log.info(`the wait on ${where} had already ended`);
  }
  // Only this wait's watch: a re-check may already have put a fresh one (a new token) in its place.
  await deps.store.deleteBakeWatch(watch.alarm, watch.deploymentId, watch.environment, watch.taskToken);
  return true;
}

/** RecheckEcsRollout's answer: move on as an event would have, wait again on a fresh token, or end. */
export type EcsRecheck =
  | EcsApprovalWake
  | { action: 'succeeded' }
  | { action: 'wait' }
  /** ECS rolled back or failed, or the rollout outlived `followUntil`: $.failure for PrepareRollback. */
  | { action: 'end'; failure: { Error: string; Cause: string } };

/**
 * RecheckEcsRollout: the follow's token timed out with no ECS event (lost, or not yet delivered).
 * Read the deployment once, as the event would have. The timed-out token is dead on Step Functions,
 * so an event that comes now gets TaskTimedOut when it settles it (tolerated in `wake`): only this
 * answer moves the stage. A rollout still busy after `followUntil` ends as the old single
 * lockSeconds timeout did (States.Timeout).
 */
export async function recheckEcsRollout(
  deps: EcsRolloutDeps,
  ref: { deploymentId: string; environment: string },
  handle: EcsRolloutHandle,
): Promise<EcsRecheck> {
  const where = `${handle.serviceDeploymentArn} (${ref.deploymentId} on ${ref.environment})`;
  // The watch holds the dead token; the next follow (if any) stores a fresh one.
  await deps.store.deleteBakeWatch(ecsRolloutWatchKey(handle.serviceArn), ref.deploymentId, ref.environment);
  const outcome = await readOutcome(deps, handle, where);
  if (outcome) {
    deps.log.warn(
      `no ECS event woke the wait on ${where} within ${handle.recheckSeconds}s, yet the deployment had moved on: the re-check carries on (an EventBridge event was lost or is late)`,
    );
    return 'output' in outcome ? outcome.output : { action: 'end', failure: outcome.failure };
  }
  const now = epochSeconds(deps.clock);
  if (handle.followUntil !== undefined && now >= handle.followUntil) {
    return {
      action: 'end',
      failure: {
        Error: 'States.Timeout',
        Cause: `ECS service deployment ${handle.serviceDeploymentArn} had not ended when the environment's lock term ran out`,
      },
    };
  }
  deps.log.info(`ECS rollout ${where} is still under way; waiting again for its events`);
  return { action: 'wait' };
}

function epochSeconds(clock: Clock): number {
  return Math.floor(clock.now().getTime() / 1000);
}

function becauseReason(failure: StepFailure): string {
  if (failure.Error === 'States.Timeout') return 'approval expired: nobody approved the next step in time';
  if (failure.Error === ERRORS.rejected) return failure.Cause || 'rejected';
  return `${failure.Error}${failure.Cause ? `: ${failure.Cause.slice(0, 300)}` : ''}`;
}

/**
 * The approvers decided at a PAUSE hook: CONTINUE (approved), or ROLLBACK (rejected, expired,
 * or Coconut could not ask). A ROLLBACK that ECS refuses (the hook already timed out into its
 * own ROLLBACK) is logged: the follow that comes next sees ECS's rollback either way.
 */
export async function answerEcsHook(
  deps: EcsRolloutDeps,
  ref: { deploymentId: string; environment: string },
  handle: EcsRolloutHandle,
  hook: { hookId: string; progress?: RolloutProgress | undefined },
  failure: StepFailure | undefined,
): Promise<EcsRolloutHandle> {
  const paused = {
    serviceDeploymentArn: handle.serviceDeploymentArn,
    hookId: hook.hookId,
    ...(handle.region ? { region: handle.region } : {}),
  };
  if (!failure) {
    await answerEcsRolloutApproval(target(deps), paused, 'approved');
    return { ...handle, answeredHook: hook.hookId, ...(hook.progress ? { progress: hook.progress } : {}) };
  }
  if (failure.Error === 'States.Timeout') {
    const stage = await deps.store.getStage(ref.deploymentId, ref.environment);
    if (stage?.state === 'AWAITING_APPROVAL') await expireApproval(deps, stage.approvalId);
  }
  try {
    await answerEcsRolloutApproval(target(deps), paused, failure.Error === 'States.Timeout' ? 'timedOut' : 'rejected');
  } catch (error) {
    deps.log.warn(`ContinueServiceDeployment ROLLBACK on ${handle.serviceDeploymentArn} was refused; following ECS's own end`, {
      error: String(error),
    });
  }
  return { ...handle, answeredHook: hook.hookId, because: failure };
}
