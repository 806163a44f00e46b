/**
 * The steps deploy.asl.json invokes through the pipeline-step function, each parsed by one
 * schema. The state machine passes `ref` (which deployment, which environment) to all of them.
 */
import { z } from 'zod';
import { SEVERITIES } from '../config/schema.ts';
import { NotFoundError } from '../model/errors.ts';
import type { ApprovalRecords, EcsTarget, ImageSignatures, Notifier, Pins, Scanner } from '../ports.ts';
import { expireApproval } from './approvals.ts';
import { type BakeDeps, checkAlarms, endBake, startBake } from './bake.ts';
import { keylessStepSchema } from './cosign-keyless-gate.ts';
import type { EcsDeploymentSettings, EcsRolloutTarget } from './ecs-rollout.ts';
import {
  answerEcsHook,
  ecsRolloutHandleSchema,
  followEcsRollout,
  recheckEcsRollout,
  startEcsRollout,
} from './ecs-rollout-wait.ts';
import { runEcsStep } from './ecs-step.ts';
import { holdFrozen, runFreezeGate } from './freeze-gate.ts';
import { type LockDeps, lockKey, releaseLock, requestLock } from './locks.ts';
import { holdAtPin } from './pins.ts';
import { runScanGate } from './scan-gate.ts';
import { runSignatureGate } from './signature-gate.ts';
import {
  prepareRollback,
  recordAwaitingApproval,
  recordBaking,
  recordDeploying,
  recordFailed,
  recordRejected,
  recordRollbackFailed,
  recordRolledBack,
  recordSucceeded,
  type StageDeps,
  stepBuildEnvironment,
} from './stage-steps.ts';

const ref = z.object({
  deploymentId: z.string().min(1).max(80),
  service: z.string().min(1),
  version: z.string().min(1),
  environment: z.string().min(1),
});
const failure = z.object({ Error: z.string(), Cause: z.string().optional() }).optional();
const buildEnv = z.array(z.object({ Name: z.string(), Value: z.string(), Type: z.literal('PLAINTEXT') }));
const build = z
  .object({
    Id: z.string().optional(),
    ExportedEnvironmentVariables: z.array(z.object({ Name: z.string(), Value: z.string() })).optional(),
  })
  .passthrough()
  .optional();
/** The step of a rollout (plan.ts PlanStep.progress); absent when the environment goes all at once. */
const rollout = z
  .object({
    strategy: z.enum(['canary', 'linear']),
    step: z.number().int().min(1),
    of: z.number().int().min(1),
    percent: z.number().int().min(1).max(100),
    previousPercent: z.number().int().min(0).max(99),
  })
  .optional();

export const pipelineStepSchema = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('acquireLock'),
    ref,
    holdSeconds: z.number().int().positive(),
    /** When the execution started (~ when the push arrived): the queue order. */
    queuedAt: z.string().optional(),
    /** The waiting task's token: settled when the lock is this deployment's (src/core/pipeline/locks.ts). */
    taskToken: z.string().min(1),
  }),
  z.object({ action: z.literal('releaseLock'), ref }),
  z.object({
    action: z.literal('recordStage'),
    ref,
    state: z.enum([
      'AWAITING_APPROVAL',
      'DEPLOYING',
      'BAKING',
      'SUCCEEDED',
      'REJECTED',
      'ROLLED_BACK',
      'ROLLBACK_FAILED',
      'FAILED',
    ]),
    failure,
    build,
    step: z.string().default('deploy'),
    alarms: z.array(z.string()).optional(),
    rollout,
    /** DEPLOYING a rollout step: the step's build variables, answered with the stable version added. */
    buildEnv: buildEnv.optional(),
  }),
  z.object({ action: z.literal('prepareRollback'), ref, failure, step: z.string().default('deploy'), buildEnv }),
  z.object({
    action: z.literal('checkAlarms'),
    ref,
    alarms: z.array(z.string()),
    endBake: z.boolean().default(false),
    bakeSeconds: z.number().int().nonnegative().optional(),
  }),
  z.object({
    action: z.literal('scanGate'),
    ref,
    scan: z.object({ maxSeverity: z.enum(SEVERITIES), ignore: z.array(z.string()).default([]) }),
  }),
  z.object({
    action: z.literal('signatureGate'),
    ref,
    verify: z.object({
      cosign: z.union([z.object({ key: z.string().min(1) }), keylessStepSchema]).optional(),
      notation: z
        .object({
          trustedRoots: z.string().min(1),
          identities: z.array(z.string()).optional(),
          signingProfileArn: z.string().optional(),
        })
        .optional(),
      pullSecret: z.string().optional(),
    }),
  }),
  z.object({
    action: z.literal('startBake'),
    ref,
    alarms: z.array(z.string()),
    bakeSeconds: z.number().int().nonnegative(),
    taskToken: z.string().min(1),
  }),
  // The native ECS target: deploy / roll back without CodeBuild; the result mimics a build.
  // `rollout` is the step's share for the target's own strategy (the seam for ECS canary/linear).
  z.object({ action: z.literal('ecsDeploy'), ref, buildEnv, rollout }),
  z.object({ action: z.literal('ecsRollback'), ref, buildEnv }),
  // An ECS canary/linear rollout (src/core/pipeline/ecs-rollout-wait.ts): ECS steps itself; Coconut
  // starts it, follows it on a task token woken by ECS events, and answers its PAUSE hooks.
  z.object({
    action: z.literal('ecsStartRollout'),
    ref,
    buildEnv,
    strategy: z.enum(['canary', 'linear']),
    ecs: z.object({
      // Computed by the planner (ecsDeploymentConfiguration) and handed to UpdateService as is.
      settings: z.object({ strategy: z.enum(['ROLLING', 'CANARY', 'LINEAR']) }).passthrough(),
      percents: z.array(z.number().positive().max(100)).min(1),
      recheckSeconds: z.number().int().positive().optional(),
    }),
    /** The environment's lock term: the longest the rollout may take before the stage ends (States.Timeout). */
    lockSeconds: z.number().int().positive(),
  }),
  z.object({
    action: z.literal('followEcsRollout'),
    ref,
    handle: ecsRolloutHandleSchema,
    waitSeconds: z.number().int().positive(),
    taskToken: z.string().min(1),
  }),
  z.object({
    action: z.literal('ecsAnswerHook'),
    ref,
    handle: ecsRolloutHandleSchema,
    hookId: z.string().min(1),
    /** The step an approval lets ECS shift to (the status shows it). */
    progress: rollout,
    /** Absent: approved (CONTINUE). Present: why the rollout ends (ROLLBACK). */
    failure,
  }),
  // The follow's token timed out with no ECS event: read the deployment once (recheckEcsRollout).
  z.object({
    action: z.literal('ecsRecheckRollout'),
    ref,
    handle: ecsRolloutHandleSchema,
  }),
  // Freeze windows (src/core/pipeline/freeze-gate.ts): is the environment open; if not, hold on a token.
  z.object({
    action: z.literal('freezeGate'),
    ref,
    freeze: z.array(
      z.object({
        schedule: z.string().min(1),
        durationSeconds: z.number().int().positive(),
        timeZone: z.string().min(1),
        mode: z.enum(['deny', 'allow']),
        reason: z.string().optional(),
      }),
    ),
  }),
  z.object({
    action: z.literal('holdFrozen'),
    ref,
    waitSeconds: z.number().int().positive(),
    message: z.string().optional(),
    /** Held at a pin, not by a window (the gate's answer). */
    pinned: z.boolean().optional(),
    taskToken: z.string().min(1),
  }),
]);

export type PipelineStep = z.input<typeof pipelineStepSchema>;

export type PipelineDeps = StageDeps &
  BakeDeps &
  LockDeps & {
    /** Approvals: an approval wait that timed out expires its approval. */
    store: ApprovalRecords & Pins;
    notifier: Notifier;
    scanner?: Scanner | undefined;
    signatures?: ImageSignatures | undefined;
    /** Canary/linear rollouts need the rollout calls too (both adapters have them). */
    ecs?: EcsTarget & Partial<EcsRolloutTarget>;
  };

/** What the invocation has left (the Lambda context's getRemainingTimeInMillis). */
export interface StepContext {
  remainingMs(): number;
}

const NO_DEADLINE: StepContext = { remainingMs: () => 15 * 60_000 };

export async function runPipelineStep(
  input: z.output<typeof pipelineStepSchema>,
  deps: PipelineDeps,
  context: StepContext = NO_DEADLINE,
): Promise<unknown> {
  const key = lockKey(input.ref.service, input.ref.environment);
  switch (input.action) {
    case 'acquireLock': {
      // The task waits on its token: settled here if the lock is free, else by whoever frees it.
      const queuedAt = input.queuedAt ?? (await deps.store.getDeployment(input.ref.deploymentId))?.createdAt;
      if (!queuedAt) throw new NotFoundError(`deployment ${input.ref.deploymentId} has no record`);
      const result = await requestLock(deps, {
        key,
        deploymentId: input.ref.deploymentId,
        createdAt: queuedAt,
        holdSeconds: input.holdSeconds,
        token: input.taskToken,
      });
      if (!result.acquired) {
        deps.log.info(`${input.ref.deploymentId} waits for ${key} (position ${result.position})`, { holder: result.holder });
      }
      return result;
    }
    case 'releaseLock':
      return { released: await releaseLock(deps, key, input.ref.deploymentId) };
    case 'recordStage':
      return recordStage(input, deps);
    case 'prepareRollback': {
      // A step's approval that ran out: the approval record says EXPIRED, as in RecordRejected.
      if (input.failure?.Error === 'States.Timeout') {
        const stage = await deps.store.getStage(input.ref.deploymentId, input.ref.environment);
        if (stage?.state === 'AWAITING_APPROVAL') await expireApproval(deps, stage.approvalId);
      }
      return prepareRollback(deps, input.ref, input.failure, input.step, input.buildEnv);
    }
    case 'checkAlarms': {
      const bakeRef = { deploymentId: input.ref.deploymentId, environment: input.ref.environment, alarms: input.alarms };
      // Before a bake, alarms that fired before the deploy get the bake to recover; with no bake, they count now.
      const tolerate = input.bakeSeconds ? await preexistingAlarms(deps, input.ref) : [];
      const check = input.endBake
        ? await endBake(deps, bakeRef)
        : await checkAlarms(deps.alarms, input.alarms, deps.log, tolerate);
      return { breached: check.breached, ...(check.failure ? { failure: check.failure } : {}) };
    }
    case 'scanGate':
      return runScanGate(deps, input.ref, input.scan);
    case 'signatureGate':
      return runSignatureGate(deps, input.ref, input.verify);
    case 'startBake':
      // Noted first: once the alarm watch is stored, nothing writes until the bake ends (a waiter wakes
      // only on writes; test/e2e/runtime-changes.test.ts holds this).
      await noteBakeEnd(deps, input.ref, input.bakeSeconds);
      await startBake(deps, {
        deploymentId: input.ref.deploymentId,
        environment: input.ref.environment,
        alarms: input.alarms,
        bakeSeconds: input.bakeSeconds,
        taskToken: input.taskToken,
        tolerate: await preexistingAlarms(deps, input.ref),
      });
      return {};
    case 'ecsDeploy':
      return runEcsStep('deploy', input.ref, input.buildEnv, deps, context.remainingMs());
    case 'ecsRollback':
      return runEcsStep('rollback', input.ref, input.buildEnv, deps, context.remainingMs());
    case 'ecsStartRollout':
      return startEcsRollout(
        deps,
        input.ref,
        input.buildEnv,
        {
          strategy: input.strategy,
          percents: input.ecs.percents,
          settings: input.ecs.settings as unknown as EcsDeploymentSettings,
          ...(input.ecs.recheckSeconds ? { recheckSeconds: input.ecs.recheckSeconds } : {}),
        },
        input.lockSeconds,
      );
    case 'followEcsRollout':
      await followEcsRollout(deps, input.ref, input.handle, input.taskToken, input.waitSeconds);
      return {};
    case 'ecsRecheckRollout':
      return recheckEcsRollout(deps, input.ref, input.handle);
    case 'ecsAnswerHook':
      return answerEcsHook(deps, input.ref, input.handle, { hookId: input.hookId, progress: input.progress }, input.failure);
    case 'freezeGate':
      return runFreezeGate(deps, input.ref, input.freeze);
    case 'holdFrozen':
      // Held at a pin: the token waits in the pin (pins.ts); by a window: on a break-glass approval.
      if (input.pinned) await holdAtPin(deps, input.ref, input.taskToken);
      else await holdFrozen(deps, input.ref, input);
      return {};
  }
}

/** When the bake ends, for "baking, 1m12s left"; a view only, so a failure to write it is logged, not fatal. */
async function noteBakeEnd(deps: PipelineDeps, ref: { deploymentId: string; environment: string }, seconds: number) {
  const at = deps.clock.now();
  await deps.store
    .updateStage(
      ref.deploymentId,
      ref.environment,
      { state: 'BAKING', bakeEndsAt: new Date(at.getTime() + seconds * 1000).toISOString() },
      at,
    )
    .catch((error) => deps.log.warn('could not note when the bake ends', { error: String(error) }));
}

async function preexistingAlarms(deps: PipelineDeps, ref: { deploymentId: string; environment: string }): Promise<string[]> {
  return (await deps.store.getStage(ref.deploymentId, ref.environment))?.preexistingAlarms ?? [];
}

async function recordStage(
  input: Extract<z.output<typeof pipelineStepSchema>, { action: 'recordStage' }>,
  deps: PipelineDeps,
): Promise<unknown> {
  const r = input.ref;
  switch (input.state) {
    case 'AWAITING_APPROVAL':
      return recordAwaitingApproval(deps, r, input.rollout);
    case 'DEPLOYING': {
      const recorded = await recordDeploying(deps, r, input.alarms, input.rollout);
      return input.buildEnv ? { ...recorded, buildEnv: await stepBuildEnvironment(deps, r, input.buildEnv) } : recorded;
    }
    case 'BAKING': {
      const deployment = await deps.store.getDeployment(r.deploymentId);
      return recordBaking(
        deps,
        { ...r, ...(deployment?.image.digest ? { digest: deployment.image.digest } : {}) },
        input.build,
        input.rollout,
      );
    }
    case 'SUCCEEDED': {
      const deployment = await deps.store.getDeployment(r.deploymentId);
      await recordSucceeded(deps, { ...r, ...(deployment?.image.digest ? { digest: deployment.image.digest } : {}) });
      return {};
    }
    case 'REJECTED': {
      const outcome = await recordRejected(deps, r, input.failure);
      const stage = await deps.store.getStage(r.deploymentId, r.environment);
      if (input.failure?.Error === 'States.Timeout') await expireApproval(deps, stage?.approvalId);
      return outcome;
    }
    case 'ROLLED_BACK':
      return recordRolledBack(deps, r, input.build);
    case 'ROLLBACK_FAILED':
      return recordRollbackFailed(deps, r, input.failure);
    case 'FAILED':
      return recordFailed(deps, r, input.failure, input.step);
  }
}
