/**
 * The pipeline-step function's dispatcher (src/core/pipeline/pipeline-steps.ts) on dynalite: the input
 * schema deploy.asl.json's Task states are held to, and what each action does. Platform rules: a
 * deployment id is the execution name, 1 to 80 characters (StartExecution `name`, "Length Constraints:
 * Minimum length of 1. Maximum length of 80.",
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html); `States.Timeout`
 * is how Step Functions reports a task past its timeout ("Error handling in Step Functions", "Error names").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoStore } from '../../src/aws/dynamo/store.ts';
import { NotFoundError } from '../../src/core/model/errors.ts';
import { type PipelineStep, pipelineStepSchema, runPipelineStep } from '../../src/core/pipeline/pipeline-steps.ts';
import type { AlarmStatus, ApprovalRecord, EcsDeployRequest, Log } from '../../src/core/ports.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { dynaliteStore } from '../support/stores.ts';

// Bake watches expire by the store's own clock: the test's clock is today.
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const DIGEST = `sha256:${'f'.repeat(64)}`;

interface Logged {
  level: string;
  message: string;
  extra?: Record<string, unknown>;
}

describe('runPipelineStep', () => {
  let store: DynamoStore;
  let dynamo: LocalDynamo;
  let n = 0;
  beforeAll(async () => ({ store, dynamo } = await dynaliteStore()));
  afterAll(() => dynamo?.stop());

  function harness(firing: string[] = []) {
    const lines: Logged[] = [];
    const at =
      (level: string) =>
      (message: string, extra?: Record<string, unknown>): void =>
        void lines.push({ level, message, ...(extra ? { extra } : {}) });
    const log: Log = { debug: at('DEBUG'), info: at('INFO'), warn: at('WARN'), error: at('ERROR') };
    const woken: string[] = [];
    const failed: string[][] = [];
    const decided: ApprovalRecord[] = [];
    const ecsCalls: EcsDeployRequest[] = [];
    const deps = {
      store,
      clock: { now: () => NOW },
      log,
      notifier: {
        approvalRequested: async () => undefined,
        approvalDecided: async (a: ApprovalRecord) => void decided.push(a),
        stageChanged: async () => {},
      },
      orchestrator: {
        startExecution: async () => ({ executionArn: 'arn:x', started: true }),
        sendTaskSuccess: async (token: string) => void woken.push(token),
        sendTaskFailure: async (token: string, error: string, cause: string) => void failed.push([token, error, cause]),
      },
      alarms: {
        getStates: async (names: string[]): Promise<AlarmStatus[]> =>
          names.map((name) => ({ name, state: firing.includes(name) ? 'ALARM' : 'OK' })),
      },
      ecs: {
        deploy: async (request: EcsDeployRequest) => {
          ecsCalls.push(request);
          return { state: 'COMPLETED' as const, taskDefinitionArn: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/api:9' };
        },
        rollback: async () => ({
          state: 'COMPLETED' as const,
          taskDefinitionArn: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/api:8',
        }),
      },
    };
    return { deps, lines, woken, failed, decided, ecsCalls };
  }

  const run = (input: PipelineStep, h: ReturnType<typeof harness>, remainingMs?: number) =>
    runPipelineStep(
      pipelineStepSchema.parse(input),
      h.deps,
      remainingMs === undefined ? undefined : { remainingMs: () => remainingMs },
    );

  async function deployment(createdAt = NOW.toISOString()) {
    n += 1;
    const service = `pipe${n}`;
    const deploymentId = `dep-pipe-${n}`;
    await store.createDeployment(
      {
        deploymentId,
        service,
        version: '2.0.0',
        image: { registry: 'ecr', repository: service, tag: '2.0.0', digest: DIGEST },
        trigger: { kind: 'ecr-push', id: 'evt', at: createdAt },
        environments: ['staging', 'prod'],
        createdAt,
        kind: 'deploy',
      },
      ['staging', 'prod'].map((environment, order) => ({
        deploymentId,
        service,
        environment,
        order,
        version: '2.0.0',
        state: 'PENDING' as const,
        createdAt,
        updatedAt: createdAt,
      })),
    );
    return { deploymentId, service, version: '2.0.0', environment: 'staging' };
  }

  describe('the input schema', () => {
    const ref = { deploymentId: 'd'.repeat(80), service: 'api', version: '1.0.0', environment: 'prod' };

    it('takes a deployment id as long as an execution name may be, and no longer', () => {
      expect(pipelineStepSchema.safeParse({ action: 'releaseLock', ref }).success).toBe(true);
      expect(pipelineStepSchema.safeParse({ action: 'releaseLock', ref: { ...ref, deploymentId: 'd'.repeat(81) } }).success).toBe(
        false,
      );
      for (const key of ['deploymentId', 'service', 'version', 'environment'])
        expect(pipelineStepSchema.safeParse({ action: 'releaseLock', ref: { ...ref, [key]: '' } }).success).toBe(false);
      expect(pipelineStepSchema.safeParse({ action: 'dance', ref }).success).toBe(false);
    });

    it('fills in the defaults the state machine leaves out', () => {
      expect(pipelineStepSchema.parse({ action: 'recordStage', ref, state: 'FAILED' })).toMatchObject({ step: 'deploy' });
      expect(pipelineStepSchema.parse({ action: 'prepareRollback', ref, buildEnv: [] })).toMatchObject({ step: 'deploy' });
      expect(pipelineStepSchema.parse({ action: 'checkAlarms', ref, alarms: [] })).toMatchObject({ endBake: false });
      expect(pipelineStepSchema.parse({ action: 'scanGate', ref, scan: { maxSeverity: 'HIGH' } })).toMatchObject({
        scan: { maxSeverity: 'HIGH', ignore: [] },
      });
    });

    it('refuses what no step can use: a lock held for no time, an empty token, a stage state no step records, secrets in build variables', () => {
      const bad: unknown[] = [
        { action: 'acquireLock', ref, holdSeconds: 0, taskToken: 't' },
        { action: 'acquireLock', ref, holdSeconds: 1.5, taskToken: 't' },
        { action: 'acquireLock', ref, holdSeconds: 60, taskToken: '' },
        { action: 'recordStage', ref, state: 'PENDING' },
        { action: 'recordStage', ref, state: 'SKIPPED' },
        { action: 'startBake', ref, alarms: [], bakeSeconds: 60, taskToken: '' },
        { action: 'startBake', ref, alarms: [], bakeSeconds: -1, taskToken: 't' },
        { action: 'checkAlarms', ref, alarms: [], bakeSeconds: -1 },
        { action: 'scanGate', ref, scan: { maxSeverity: 'SEVERE' } },
        { action: 'ecsDeploy', ref, buildEnv: [{ Name: 'X', Value: 'y', Type: 'SECRETS_MANAGER' }] },
        { action: 'recordStage', ref, state: 'FAILED', failure: { Cause: 'no error name' } },
      ];
      for (const input of bad) expect(pipelineStepSchema.safeParse(input).success, JSON.stringify(input)).toBe(false);
      const good: unknown[] = [
        { action: 'acquireLock', ref, holdSeconds: 60, taskToken: 't' },
        { action: 'startBake', ref, alarms: [], bakeSeconds: 0, taskToken: 't' },
        { action: 'checkAlarms', ref, alarms: ['a'], endBake: true, bakeSeconds: 0 },
        { action: 'ecsRollback', ref, buildEnv: [{ Name: 'X', Value: 'y', Type: 'PLAINTEXT' }] },
        { action: 'recordStage', ref, state: 'BAKING', build: { Id: 'b', BuildStatus: 'SUCCEEDED' } },
      ];
      for (const input of good) expect(pipelineStepSchema.safeParse(input).success, JSON.stringify(input)).toBe(true);
    });
  });

  describe('locks', () => {
    it('a free lock is taken and the waiting task woken; the next one queues behind it, in the order the executions started', async () => {
      const first = await deployment('2026-03-01T11:00:00.000Z');
      const h = harness();
      const key = `${first.service}#staging`;
      expect(await run({ action: 'acquireLock', ref: first, holdSeconds: 600, taskToken: 'token-first' }, h)).toEqual({
        acquired: true,
      });
      expect(h.woken).toEqual(['token-first']);
      // Taken at once: nothing to say about waiting.
      expect(h.lines.filter((l) => l.message.includes('waits for'))).toEqual([]);
      const ref = (deploymentId: string) => ({ ...first, deploymentId });
      // queuedAt, when the state machine passes it, is the queue order.
      expect(
        await run(
          {
            action: 'acquireLock',
            ref: ref('dep-late'),
            holdSeconds: 600,
            taskToken: 'token-late',
            queuedAt: '2026-03-01T11:30:00.000Z',
          },
          h,
        ),
      ).toEqual({ acquired: false, holder: first.deploymentId, position: 1 });
      expect(
        await run(
          {
            action: 'acquireLock',
            ref: ref('dep-early'),
            holdSeconds: 600,
            taskToken: 'token-early',
            queuedAt: '2026-03-01T11:10:00.000Z',
          },
          h,
        ),
      ).toEqual({ acquired: false, holder: first.deploymentId, position: 1 });
      expect(h.lines.filter((l) => l.level === 'INFO').slice(-2)).toEqual([
        { level: 'INFO', message: `dep-late waits for ${key} (position 1)`, extra: { holder: first.deploymentId } },
        { level: 'INFO', message: `dep-early waits for ${key} (position 1)`, extra: { holder: first.deploymentId } },
      ]);
      // Released: the earliest queued gets it and is woken; a second release holds nothing.
      expect(await run({ action: 'releaseLock', ref: first }, h)).toEqual({ released: true });
      expect(h.woken).toEqual(['token-first', 'token-early']);
      expect((await store.getLock(key))?.owner).toBe('dep-early');
      expect(await run({ action: 'releaseLock', ref: first }, h)).toEqual({ released: false });
    });

    it('without queuedAt the deployment record says when it was queued; without a record the step fails, saying so', async () => {
      const holder = await deployment('2026-03-01T11:00:00.000Z');
      const h = harness();
      await run({ action: 'acquireLock', ref: holder, holdSeconds: 600, taskToken: 'token-holder' }, h);
      await run(
        {
          action: 'acquireLock',
          ref: { ...holder, deploymentId: 'dep-x' },
          holdSeconds: 600,
          taskToken: 't-x',
          queuedAt: '2026-03-01T11:20:00.000Z',
        },
        h,
      );
      // Created (queued) at 11:10: ahead of dep-x although it asks later.
      const older = await deployment('2026-03-01T11:10:00.000Z');
      const asOlder = { ...older, service: holder.service };
      expect(await run({ action: 'acquireLock', ref: asOlder, holdSeconds: 600, taskToken: 't-older' }, h)).toEqual({
        acquired: false,
        holder: holder.deploymentId,
        position: 1,
      });
      await expect(
        run({ action: 'acquireLock', ref: { ...holder, deploymentId: 'dep-nowhere' }, holdSeconds: 600, taskToken: 't' }, h),
      ).rejects.toThrow(new NotFoundError('deployment dep-nowhere has no record'));
    });
  });

  describe('recordStage', () => {
    it('walks a stage through its states, with the image digest of the deployment record as what runs there', async () => {
      const ref = await deployment();
      const h = harness(['errors']);
      await store.setEnvironmentVersions(ref.service, 'staging', { current: { version: '1.0.0', deploymentId: 'dep-old' } }, NOW);
      expect(await run({ action: 'recordStage', ref, state: 'AWAITING_APPROVAL' }, h)).toEqual({ previousVersion: '1.0.0' });
      expect((await store.getStage(ref.deploymentId, 'staging'))?.state).toBe('AWAITING_APPROVAL');
      expect(await run({ action: 'recordStage', ref, state: 'DEPLOYING', alarms: ['errors', 'latency'] }, h)).toEqual({
        previousVersion: '1.0.0',
      });
      expect((await store.getStage(ref.deploymentId, 'staging'))?.preexistingAlarms).toEqual(['errors']);
      expect(
        await run({ action: 'recordStage', ref, state: 'BAKING', build: { Id: 'b-1', ExportedEnvironmentVariables: [] } }, h),
      ).toEqual({ rehearsal: false });
      expect((await store.getEnvironmentState(ref.service, 'staging'))?.current).toEqual({
        version: '2.0.0',
        deploymentId: ref.deploymentId,
        digest: DIGEST,
      });
      expect(await run({ action: 'recordStage', ref, state: 'SUCCEEDED' }, h)).toEqual({});
      expect((await store.getEnvironmentState(ref.service, 'staging'))?.lastKnownGood).toEqual({
        version: '2.0.0',
        deploymentId: ref.deploymentId,
        digest: DIGEST,
      });
    });

    it('SUCCEEDED without a current record of this deployment: the digest still comes from the deployment record', async () => {
      const ref = await deployment();
      const h = harness();
      await run({ action: 'recordStage', ref, state: 'DEPLOYING' }, h);
      await run({ action: 'recordStage', ref, state: 'SUCCEEDED' }, h);
      expect((await store.getEnvironmentState(ref.service, 'staging'))?.lastKnownGood?.digest).toBe(DIGEST);
    });

    it('an approval that timed out is REJECTED and the approval marked EXPIRED; a rejection leaves the approval as decided', async () => {
      for (const [failure, expected] of [
        [{ Error: 'States.Timeout' }, 'EXPIRED'],
        [{ Error: 'Coconut.Rejected', Cause: 'rejected by bob' }, 'PENDING'],
      ] as const) {
        const ref = await deployment();
        const approvalId = `apr-${ref.deploymentId}`;
        await store.putApproval({
          approvalId,
          deploymentId: ref.deploymentId,
          service: ref.service,
          environment: 'staging',
          version: '2.0.0',
          taskToken: 'token',
          requestedBy: 'ecr-push',
          requestedAt: NOW.toISOString(),
          expiresAt: NOW.toISOString(),
          status: 'PENDING',
        });
        await store.updateStage(ref.deploymentId, 'staging', { state: 'AWAITING_APPROVAL', approvalId }, NOW);
        const h = harness();
        const outcome = (await run({ action: 'recordStage', ref, state: 'REJECTED', failure }, h)) as { error: string };
        expect(outcome.error).toBe(expected === 'EXPIRED' ? 'Coconut.ApprovalExpired' : 'Coconut.Rejected');
        expect((await store.getStage(ref.deploymentId, 'staging'))?.state).toBe('REJECTED');
        expect((await store.getApproval(approvalId))?.status).toBe(expected);
        expect(h.decided.map((a) => a.status)).toEqual(expected === 'EXPIRED' ? ['EXPIRED'] : []);
      }
    });

    it('a stage of a deployment with no record fails the step with NotFoundError; a rejection without a failure is described', async () => {
      const h = harness();
      const ghost = { deploymentId: 'dep-ghost', service: 'ghost', version: '1.0.0', environment: 'prod' };
      for (const state of ['BAKING', 'SUCCEEDED'] as const)
        await expect(run({ action: 'recordStage', ref: ghost, state }, h)).rejects.toThrow(NotFoundError);
      const ref = await deployment();
      await run({ action: 'recordStage', ref, state: 'AWAITING_APPROVAL' }, h);
      expect(await run({ action: 'recordStage', ref, state: 'REJECTED' }, h)).toEqual({
        error: 'Coconut.Rejected',
        cause: `${ref.service} 2.0.0 on staging: approval request failed`,
      });
    });

    it('FAILED names the step (deploy unless told), ROLLED_BACK and ROLLBACK_FAILED report their outcome', async () => {
      const failed = await deployment();
      const h = harness();
      expect(await run({ action: 'recordStage', ref: failed, state: 'FAILED' }, h)).toEqual({
        error: 'Coconut.DeployFailed',
        cause: `${failed.service} 2.0.0 on staging: deploy failed`,
      });
      const scan = await deployment();
      expect(await run({ action: 'recordStage', ref: scan, state: 'FAILED', step: 'scan' }, h)).toMatchObject({
        cause: `${scan.service} 2.0.0 on staging: scan failed`,
      });

      const rolled = await deployment();
      await store.setEnvironmentVersions(
        rolled.service,
        'staging',
        { lastKnownGood: { version: '1.0.0', deploymentId: 'dep-old' } },
        NOW,
      );
      await run({ action: 'recordStage', ref: rolled, state: 'DEPLOYING' }, h);
      const plan = await run({ action: 'prepareRollback', ref: rolled, buildEnv: [] }, h);
      expect(plan).toMatchObject({ canRollBack: true, version: '1.0.0' });
      expect((await store.getStage(rolled.deploymentId, 'staging'))?.reason).toBe('deploy failed');
      expect(await run({ action: 'recordStage', ref: rolled, state: 'ROLLED_BACK' }, h)).toEqual({
        error: 'Coconut.RolledBack',
        cause: `${rolled.service} 2.0.0 on staging: rolled back to 1.0.0: deploy failed`,
      });

      const broken = await deployment();
      await store.setEnvironmentVersions(
        broken.service,
        'staging',
        { lastKnownGood: { version: '1.0.0', deploymentId: 'dep-old' } },
        NOW,
      );
      await run({ action: 'recordStage', ref: broken, state: 'DEPLOYING' }, h);
      await run({ action: 'prepareRollback', ref: broken, buildEnv: [], step: 'bake', failure: { Error: 'States.Timeout' } }, h);
      expect(
        await run({ action: 'recordStage', ref: broken, state: 'ROLLBACK_FAILED', failure: { Error: 'States.Timeout' } }, h),
      ).toEqual({
        error: 'Coconut.RollbackFailed',
        cause: `${broken.service} 2.0.0 on staging: bake timed out; then rollback timed out — ${broken.service} on staging needs attention`,
      });
    });
  });

  describe('alarms and bake', () => {
    it('checkAlarms: before a bake, alarms already firing before the deploy get the bake to recover; with no bake they count now', async () => {
      const ref = await deployment();
      const h = harness(['errors']);
      await run({ action: 'recordStage', ref, state: 'DEPLOYING', alarms: ['errors'] }, h);
      expect(await run({ action: 'checkAlarms', ref, alarms: ['errors'], bakeSeconds: 300 }, h)).toEqual({ breached: false });
      expect(await run({ action: 'checkAlarms', ref, alarms: ['errors'] }, h)).toEqual({
        breached: true,
        failure: { Error: 'Coconut.AlarmFired', Cause: 'errors' },
      });
      expect(await run({ action: 'checkAlarms', ref, alarms: ['errors'], bakeSeconds: 0 }, h)).toMatchObject({ breached: true });
      // A new alarm firing counts even before a bake.
      const h2 = harness(['errors', 'latency']);
      expect(await run({ action: 'checkAlarms', ref, alarms: ['errors', 'latency'], bakeSeconds: 300 }, h2)).toEqual({
        breached: true,
        failure: { Error: 'Coconut.AlarmFired', Cause: 'latency' },
      });
    });

    it('startBake watches the alarms, tolerating those firing before the deploy; endBake stops watching and counts them all', async () => {
      const ref = await deployment();
      const h = harness(['errors']);
      await run({ action: 'recordStage', ref, state: 'DEPLOYING', alarms: ['errors'] }, h);
      expect(
        await run({ action: 'startBake', ref, alarms: ['errors', 'latency'], bakeSeconds: 300, taskToken: 'bake-token' }, h),
      ).toEqual({});
      expect(h.failed).toEqual([]);
      expect((await store.listBakeWatches('latency')).map((w) => [w.deploymentId, w.taskToken])).toEqual([
        [ref.deploymentId, 'bake-token'],
      ]);
      expect(
        await run({ action: 'checkAlarms', ref, alarms: ['errors', 'latency'], endBake: true, bakeSeconds: 300 }, h),
      ).toEqual({
        breached: true,
        failure: { Error: 'Coconut.AlarmFired', Cause: 'errors' },
      });
      expect(await store.listBakeWatches('latency')).toEqual([]);

      // No alarm was firing before this deploy: one firing as the bake starts fails it at once.
      const fresh = await deployment();
      const h2 = harness();
      await run({ action: 'recordStage', ref: fresh, state: 'DEPLOYING', alarms: ['errors'] }, h2);
      await run(
        { action: 'startBake', ref: fresh, alarms: ['errors'], bakeSeconds: 300, taskToken: 'bake-2' },
        harness(['errors']),
      );
      expect((await store.listBakeWatches('errors')).filter((w) => w.deploymentId === fresh.deploymentId)).toEqual([]);
    });
  });

  it('scanGate: without a scanner the image is refused and the stage FAILED', async () => {
    const ref = await deployment();
    const h = harness();
    expect(await run({ action: 'scanGate', ref, scan: { maxSeverity: 'HIGH' } }, h)).toMatchObject({
      passed: false,
      performed: false,
      scanner: 'none',
      outcome: { error: 'Coconut.ScanUnavailable' },
    });
    expect((await store.getStage(ref.deploymentId, 'staging'))?.state).toBe('FAILED');
  });

  it('ecsDeploy and ecsRollback run the ECS step within the time the invocation has left (15 minutes when not told)', async () => {
    const ref = await deployment();
    const buildEnv = [
      { Name: 'COCONUT_ECS_CLUSTER', Value: 'main', Type: 'PLAINTEXT' as const },
      { Name: 'COCONUT_ECS_SERVICE', Value: 'api', Type: 'PLAINTEXT' as const },
      { Name: 'COCONUT_IMAGE_REPOSITORY', Value: 'team/api', Type: 'PLAINTEXT' as const },
      { Name: 'COCONUT_IMAGE_DIGEST', Value: DIGEST, Type: 'PLAINTEXT' as const },
    ];
    const h = harness();
    expect(await run({ action: 'ecsDeploy', ref, buildEnv }, h)).toMatchObject({
      Id: 'ecs:main/api:arn:aws:ecs:eu-west-1:123456789012:task-definition/api:9',
      BuildStatus: 'SUCCEEDED',
    });
    await run({ action: 'ecsDeploy', ref, buildEnv }, h, 120_000);
    expect(h.ecsCalls.map((c) => c.deadline - NOW.getTime())).toEqual([13 * 60_000, 100_000]);
    const rollbackEnv = [
      ...buildEnv,
      {
        Name: 'COCONUT_ROLLBACK_REVISION',
        Value: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/api:8',
        Type: 'PLAINTEXT' as const,
      },
    ];
    expect(await run({ action: 'ecsRollback', ref, buildEnv: rollbackEnv }, h)).toMatchObject({
      Id: 'ecs:main/api:arn:aws:ecs:eu-west-1:123456789012:task-definition/api:8',
    });
    // ecsDeploy deploys, even when the plan carries a rollback revision; a rehearsal names the step it stood in for.
    expect(await run({ action: 'ecsDeploy', ref, buildEnv: rollbackEnv }, h)).toMatchObject({
      Id: 'ecs:main/api:arn:aws:ecs:eu-west-1:123456789012:task-definition/api:9',
    });
    const rehearsing = harness();
    rehearsing.deps.ecs.deploy = async () => ({
      state: 'COMPLETED' as const,
      taskDefinitionArn: '',
      rehearsal: { missing: ['ecs'] },
    });
    const rehearsed = (await run({ action: 'ecsDeploy', ref, buildEnv }, rehearsing)) as {
      ExportedEnvironmentVariables: unknown[];
    };
    expect(rehearsed.ExportedEnvironmentVariables).toContainEqual({ Name: 'COCONUT_REHEARSED_STEP', Value: 'deploy' });
  });
});
