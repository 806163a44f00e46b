/**
 * Canary and linear rollouts on the native ECS target, done by ECS itself: an environment's
 * `rollout` becomes the service's `deploymentConfiguration` (strategy CANARY or LINEAR, bake
 * times, deployment alarms with rollback), ECS shifts the traffic and bakes each step, and
 * Coconut follows the service deployment to its end. An approval between steps is an ECS PAUSE
 * lifecycle hook that Coconut answers with ContinueServiceDeployment.
 *
 * Pure: no AWS import (src/core). The shapes below are the subsets of @aws-sdk/client-ecs's
 * DeploymentConfiguration and ServiceDeployment that Coconut writes and reads; src/aws/ecs-target.ts
 * assigns them to and from the SDK's own types, so the compiler holds them to the SDK.
 *
 * How Coconut waits (event-driven, no polling): ECS sends "ECS Deployment State Change"
 * (SERVICE_DEPLOYMENT_COMPLETED / _FAILED) and "ECS Hook State Change" (HOOK_AWAITING_ACTION)
 * events to EventBridge; each one wakes the waiting stage, which reads the deployment once with
 * DescribeServiceDeployments and acts on `nextEcsRolloutAction`. A bounded safety re-check reads it
 * too when no event came for ECS_RECHECK_SECONDS (an event lost or late: ecs-rollout-wait.ts).
 *   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_deployment_events.html
 *   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/pause-lifecycle-hooks.html
 */
import type { RolloutConfig } from '../config/schema.ts';
import { ERRORS } from '../model/failure.ts';

/** What of the environment the mapping needs: its bake (seconds), alarms and approval timeout (seconds). */
export interface EcsRolloutEnvironment {
  name: string;
  bake: number;
  alarms: string[];
  /** The environment's approval timeout; the PAUSE hook rolls back when nobody decided by then. */
  approvalTimeout?: number;
}

/** Subset of @aws-sdk/client-ecs DeploymentConfiguration that a rollout sets. */
export interface EcsDeploymentSettings {
  strategy: 'ROLLING' | 'CANARY' | 'LINEAR';
  canaryConfiguration?: { canaryPercent: number; canaryBakeTimeInMinutes: number };
  linearConfiguration?: { stepPercent: number; stepBakeTimeInMinutes: number };
  bakeTimeInMinutes?: number;
  alarms: { alarmNames: string[]; enable: boolean; rollback: boolean };
  deploymentCircuitBreaker: { enable: boolean; rollback: boolean };
  lifecycleHooks?: {
    targetType: 'PAUSE';
    lifecycleStages: 'PRE_PRODUCTION_TRAFFIC_SHIFT'[];
    timeoutConfiguration: { timeoutInMinutes: number; action: 'ROLLBACK' };
  }[];
}

/** Raised when a rollout asks for something ECS cannot do; names the rule and what to use instead. */
export class EcsRolloutInvalidError extends Error {
  override name = ERRORS.targetInvalid;
}

/**
 * Limits from the ECS API reference (and the SDK's doc comments on the same fields):
 * CanaryConfiguration.canaryPercent 0.1..100, canaryBakeTimeInMinutes 0..1440;
 * LinearConfiguration.stepPercent 3.0..100, stepBakeTimeInMinutes 0..1440.
 *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CanaryConfiguration.html
 *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LinearConfiguration.html
 */
export const ECS_LIMITS = { linearMinStepPercent: 3, maxBakeMinutes: 1440 } as const;

/**
 * How long a follow waits for an ECS event before it reads the service deployment itself
 * (ecs-rollout-wait.ts recheckEcsRollout): 5 minutes. Each re-check that finds ECS still busy costs
 * about 13 history events (the follow's task events and timeout, the re-check's Lambda task, a
 * Choice): a 6 h rollout is ~72 re-checks, ~940 events. Longer locks stretch the interval so that
 * one rollout never re-checks more than ECS_MAX_RECHECKS times (~2,600 events), far under the
 * 25,000 history events of an execution even with several ECS environments in one deployment.
 *   https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
 */
export const ECS_RECHECK_SECONDS = 300;
export const ECS_MAX_RECHECKS = 200;
export function ecsRecheckSeconds(lockSeconds: number): number {
  return Math.max(ECS_RECHECK_SECONDS, Math.ceil(lockSeconds / ECS_MAX_RECHECKS));
}

/** The PAUSE hook's default timeout in ECS (24 hours) when the environment sets none. */
const DEFAULT_HOOK_TIMEOUT_MINUTES = 1440;

/** Seconds -> whole minutes, rounded up: a 30 s bake must not become no bake at all. */
export function bakeMinutes(seconds: number, what: string): number {
  const minutes = Math.ceil(seconds / 60);
  if (minutes > ECS_LIMITS.maxBakeMinutes) {
    throw new EcsRolloutInvalidError(
      `${what} is ${seconds}s (${minutes} min); ECS bakes at most ${ECS_LIMITS.maxBakeMinutes} minutes (24 h)`,
    );
  }
  return minutes;
}

/** The cumulative traffic percentages of a rollout, ending in 100 (Coconut's own view of the steps). */
export function ecsRolloutSteps(rollout: RolloutConfig): number[] {
  if (rollout.strategy === 'canary') return [...(rollout.steps ?? []), 100];
  const step = rollout.stepPercent ?? 0;
  const steps: number[] = [];
  for (let p = step; p < 100; p += step) steps.push(p);
  return [...steps, 100];
}

/**
 * The `deploymentConfiguration` of UpdateService for an environment. No rollout: ECS's rolling
 * update (today's behaviour). Canary: ONE canary percentage, then 100% (ECS has no more steps).
 * Linear: equal steps of `stepPercent`. Each step bakes `rollout.bake` (default: the environment's
 * bake), the last (100%) step bakes the environment's bake, all under the environment's alarms
 * with rollback, and the circuit breaker rolls back tasks that never get healthy.
 *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html
 */
export function ecsDeploymentConfiguration(
  rollout: RolloutConfig | undefined,
  env: EcsRolloutEnvironment,
): EcsDeploymentSettings {
  const alarms = { alarmNames: env.alarms, enable: env.alarms.length > 0, rollback: env.alarms.length > 0 };
  const deploymentCircuitBreaker = { enable: true, rollback: true };
  if (!rollout) return { strategy: 'ROLLING', alarms, deploymentCircuitBreaker };

  const where = `environment ${env.name}: rollout`;
  const stepBake = bakeMinutes(rollout.bake ?? env.bake, `${where}.bake`);
  const bakeTimeInMinutes = bakeMinutes(env.bake, `environment ${env.name}: bake`);
  const lifecycleHooks = rollout.approveSteps ? [pauseHook(env)] : undefined;
  const common = { bakeTimeInMinutes, alarms, deploymentCircuitBreaker, ...(lifecycleHooks ? { lifecycleHooks } : {}) };

  if (rollout.strategy === 'canary') {
    const steps = rollout.steps ?? [];
    if (steps.length !== 1) {
      throw new EcsRolloutInvalidError(
        `${where}.steps is [${steps.join(', ')}]; an ECS canary shifts ONE canary percentage and then 100%, so kind: ecs takes exactly one step (e.g. steps: [10]); for several steps use strategy: linear`,
      );
    }
    const canaryPercent = steps[0] as number;
    if (!(canaryPercent > 0 && canaryPercent < 100)) {
      throw new EcsRolloutInvalidError(`${where}.steps[0] is ${canaryPercent}; expected a percentage from 1 to 99`);
    }
    return { strategy: 'CANARY', canaryConfiguration: { canaryPercent, canaryBakeTimeInMinutes: stepBake }, ...common };
  }

  const stepPercent = rollout.stepPercent;
  if (stepPercent === undefined || !(stepPercent >= ECS_LIMITS.linearMinStepPercent && stepPercent <= 100)) {
    throw new EcsRolloutInvalidError(
      `${where}.stepPercent is ${stepPercent ?? '(missing)'}; ECS linear deployments shift ${ECS_LIMITS.linearMinStepPercent}% to 100% per step (LinearConfiguration.stepPercent)`,
    );
  }
  return { strategy: 'LINEAR', linearConfiguration: { stepPercent, stepBakeTimeInMinutes: stepBake }, ...common };
}

/**
 * PRE_PRODUCTION_TRAFFIC_SHIFT "for linear and canary deployments, is invoked before every traffic
 * shift step" (DeploymentLifecycleHook.lifecycleStages); a PAUSE hook there waits for
 * ContinueServiceDeployment. Unanswered, it rolls back: silence is not an approval. timeoutInMinutes
 * is 1..20160; an approval timeout (1 s..7 days, schema.ts) rounds up into that range.
 *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentLifecycleHook.html
 *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentLifecycleHookTimeoutConfiguration.html
 */
function pauseHook(env: EcsRolloutEnvironment): NonNullable<EcsDeploymentSettings['lifecycleHooks']>[number] {
  const timeoutInMinutes = env.approvalTimeout === undefined ? DEFAULT_HOOK_TIMEOUT_MINUTES : Math.ceil(env.approvalTimeout / 60);
  return {
    targetType: 'PAUSE',
    lifecycleStages: ['PRE_PRODUCTION_TRAFFIC_SHIFT'],
    timeoutConfiguration: { timeoutInMinutes, action: 'ROLLBACK' },
  };
}

/** Subset of @aws-sdk/client-ecs ServiceDeployment that Coconut reads to follow a rollout. */
export interface EcsServiceDeploymentView {
  serviceDeploymentArn?: string | undefined;
  status?: string | undefined;
  statusReason?: string | undefined;
  lifecycleStage?: string | undefined;
  targetServiceRevision?: { arn?: string | undefined; requestedProductionTrafficWeight?: number | undefined } | undefined;
  lifecycleHookDetails?:
    | { hookId?: string | undefined; targetType?: string | undefined; status?: string | undefined }[]
    | undefined;
  rollback?: { reason?: string | undefined } | undefined;
  alarms?: { status?: string | undefined; triggeredAlarmNames?: string[] | undefined } | undefined;
  deploymentCircuitBreaker?: { status?: string | undefined } | undefined;
}

/** Where a service deployment stands, as the pipeline needs it. */
export type EcsRolloutState =
  | { state: 'IN_PROGRESS'; stage: string; trafficPercent: number }
  /** Paused at a PAUSE hook before a traffic shift; `trafficPercent` is what the new revision has now. */
  | { state: 'AWAITING_ACTION'; hookId: string; trafficPercent: number }
  | { state: 'SUCCEEDED' }
  /** ECS rolled back (status ROLLBACK_SUCCESSFUL): `alarms` that fired, or why. */
  | { state: 'ROLLED_BACK'; alarms: string[]; reason: string }
  | { state: 'FAILED'; reason: string };

/**
 * A ServiceDeployment -> the rollout's state. ServiceDeployment.status: PENDING, IN_PROGRESS,
 * SUCCESSFUL, STOPPED, STOP_REQUESTED, ROLLBACK_REQUESTED, ROLLBACK_IN_PROGRESS,
 * ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED. A rollback is ROLLED_BACK only once ECS finished it; while
 * it runs the stage is still IN_PROGRESS (the event of its end wakes the stage again).
 *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeployment.html
 */
export function ecsRolloutState(deployment: EcsServiceDeploymentView): EcsRolloutState {
  const status = deployment.status ?? 'PENDING';
  const trafficPercent = deployment.targetServiceRevision?.requestedProductionTrafficWeight ?? 0;
  const why = deployment.rollback?.reason || deployment.statusReason || 'no reason given';
  switch (status) {
    case 'SUCCESSFUL':
      return { state: 'SUCCEEDED' };
    case 'ROLLBACK_SUCCESSFUL': {
      const alarms = deployment.alarms?.triggeredAlarmNames ?? [];
      const breaker = deployment.deploymentCircuitBreaker?.status === 'TRIGGERED';
      const reason = alarms.length
        ? `ECS rolled back: alarm ${alarms.join(', ')} went into ALARM (${why})`
        : breaker
          ? `ECS rolled back: the deployment circuit breaker found failing tasks (${why})`
          : `ECS rolled back: ${why}`;
      return { state: 'ROLLED_BACK', alarms, reason };
    }
    case 'ROLLBACK_FAILED':
    case 'STOPPED':
      return { state: 'FAILED', reason: `ECS service deployment ${status}: ${why}` };
    default: {
      const paused = deployment.lifecycleHookDetails?.find((h) => h.targetType === 'PAUSE' && h.status === 'AWAITING_ACTION');
      if (paused?.hookId && status === 'IN_PROGRESS') return { state: 'AWAITING_ACTION', hookId: paused.hookId, trafficPercent };
      return { state: 'IN_PROGRESS', stage: deployment.lifecycleStage ?? status, trafficPercent };
    }
  }
}

/** ContinueServiceDeployment's action for an approval decision: only an approval continues. */
export type EcsHookAction = 'CONTINUE' | 'ROLLBACK';
export function ecsHookAction(decision: 'approved' | 'rejected' | 'timedOut'): EcsHookAction {
  return decision === 'approved' ? 'CONTINUE' : 'ROLLBACK';
}

/** What the waiting stage does after reading the service deployment. */
export type EcsRolloutAction =
  /** Nothing to do until the next ECS event. */
  | { action: 'wait'; trafficPercent: number }
  /** Answer the hook with CONTINUE right away: the first shift needs no approval (the environment's own approval came before). */
  | { action: 'continue'; hookId: string }
  /** Ask the environment's approvers; then ContinueServiceDeployment with ecsHookAction(decision). */
  | { action: 'approve'; hookId: string; trafficPercent: number }
  | { action: 'succeeded' }
  | { action: 'rolledBack'; alarms: string[]; reason: string }
  | { action: 'failed'; reason: string };

export function nextEcsRolloutAction(state: EcsRolloutState): EcsRolloutAction {
  switch (state.state) {
    case 'AWAITING_ACTION':
      return state.trafficPercent === 0
        ? { action: 'continue', hookId: state.hookId }
        : { action: 'approve', hookId: state.hookId, trafficPercent: state.trafficPercent };
    case 'SUCCEEDED':
      return { action: 'succeeded' };
    case 'ROLLED_BACK':
      return { action: 'rolledBack', alarms: state.alarms, reason: state.reason };
    case 'FAILED':
      return { action: 'failed', reason: state.reason };
    default:
      return { action: 'wait', trafficPercent: state.trafficPercent };
  }
}

/**
 * The EventBridge pattern of the events that end a wait on an ECS rollout: the service deployment's
 * state changes and a PAUSE hook awaiting action.
 *   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_deployment_events.html
 *   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/pause-lifecycle-hooks.html
 */
export const ECS_ROLLOUT_EVENT_PATTERN = {
  source: ['aws.ecs'],
  'detail-type': ['ECS Deployment State Change', 'ECS Hook State Change'],
} as const;

/** The service an ECS rollout event is about (its `resources` name the service ARN), or undefined. */
export function ecsRolloutEventService(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const e = event as { source?: unknown; 'detail-type'?: unknown; resources?: unknown };
  if (e.source !== 'aws.ecs') return undefined;
  if (!(ECS_ROLLOUT_EVENT_PATTERN['detail-type'] as readonly unknown[]).includes(e['detail-type'])) return undefined;
  const resources = Array.isArray(e.resources) ? e.resources : [];
  return resources.find((r): r is string => typeof r === 'string' && /^arn:aws[a-z-]*:ecs:[^:]+:\d{12}:service\//.test(r));
}

/** The adapter calls a rollout needs (src/aws/ecs-target.ts EcsTargetAdapter). */
export interface EcsRolloutTarget {
  startRollout(
    request: {
      cluster: string;
      service: string;
      container?: string;
      region?: string;
      repository: string;
      digest: string;
      alarms: string[];
    },
    settings: EcsDeploymentSettings,
  ): Promise<{
    serviceDeploymentArn: string;
    /** The service's ARN, as ECS events name it in `resources`. */
    serviceArn?: string;
    taskDefinitionArn: string;
    rehearsal?: { missing: string[] };
  }>;
  rolloutState(serviceDeploymentArn: string, region?: string): Promise<EcsRolloutState>;
  continueRollout(serviceDeploymentArn: string, hookId: string, action: EcsHookAction, region?: string): Promise<void>;
}

/**
 * One wake of a stage waiting on an ECS rollout (an ECS event about its service came): read the
 * service deployment once, answer the hook before the first shift by itself, and tell the stage
 * what to do next ('wait' for the next event, 'approve', or an end).
 */
export async function onEcsRolloutWake(
  target: EcsRolloutTarget,
  serviceDeploymentArn: string,
  region?: string,
): Promise<EcsRolloutAction> {
  const next = nextEcsRolloutAction(await target.rolloutState(serviceDeploymentArn, region));
  if (next.action !== 'continue') return next;
  await target.continueRollout(serviceDeploymentArn, next.hookId, 'CONTINUE', region);
  return { action: 'wait', trafficPercent: 0 };
}

/** The approvers decided on the next step: CONTINUE it, or ROLLBACK every step. */
export async function answerEcsRolloutApproval(
  target: EcsRolloutTarget,
  paused: { serviceDeploymentArn: string; hookId: string; region?: string },
  decision: 'approved' | 'rejected' | 'timedOut',
): Promise<EcsHookAction> {
  const action = ecsHookAction(decision);
  await target.continueRollout(paused.serviceDeploymentArn, paused.hookId, action, paused.region);
  return action;
}
