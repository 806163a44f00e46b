/**
 * The bookkeeping steps of deploy.asl.json (src/core/pipeline/stage-steps.ts) on dynalite: the state
 * each environment's stage moves to, what runs where afterwards (current / last known-good), what
 * the execution's Fail state reports, and the later environments an early end skips. Failures
 * arrive as Step Functions hands a caught error over, { Error, Cause } ("Error handling in Step
 * Functions", https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html:
 * the Catch's ResultPath receives "Error" and "Cause"); `States.Timeout` is the platform's own name
 * for a task that ran past its TimeoutSeconds (same page, "Error names").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoStore } from '../../src/aws/dynamo/store.ts';
import type { StageRecord } from '../../src/core/model/deployment.ts';
import { NotFoundError } from '../../src/core/model/errors.ts';
import {
  type BuildResult,
  mergeRehearsal,
  prepareRollback,
  recordAwaitingApproval,
  recordBaking,
  recordDeploying,
  recordFailed,
  recordRejected,
  recordRollbackFailed,
  recordRolledBack,
  recordSucceeded,
  type StageRef,
} from '../../src/core/pipeline/stage-steps.ts';
import type { AlarmStatus, Notifier } from '../../src/core/ports.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { recordingLog } from '../support/logs.ts';
import { dynaliteStore } from '../support/stores.ts';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const ENVS = ['dev', 'staging', 'prod'];
const ECS_ARN = 'arn:aws:ecs:eu-west-1:123456789012:task-definition/api:42';

describe('stage steps', () => {
  let store: DynamoStore;
  let dynamo: LocalDynamo;
  let n = 0;
  beforeAll(async () => ({ store, dynamo } = await dynaliteStore()));
  afterAll(() => dynamo?.stop());

  function harness(options: { now?: Date; notifier?: Partial<Notifier>; store?: DynamoStore } = {}) {
    const changed: StageRecord[] = [];
    const log = recordingLog();
    const notifier: Notifier = {
      approvalRequested: async () => undefined,
      approvalDecided: async () => {},
      stageChanged: async (stage) => void changed.push(stage),
      ...options.notifier,
    };
    const deps = { store: options.store ?? store, clock: { now: () => options.now ?? NOW }, log, notifier };
    return { deps, changed, log };
  }

  /** A deployment of a fresh service through dev, staging, prod; the ref of its `environment`. */
  async function deployment(environment = 'staging', digest?: string): Promise<StageRef> {
    n += 1;
    const service = `svc${n}`;
    const deploymentId = `dep-steps-${n}`;
    const version = '2.0.0';
    const at = NOW.toISOString();
    await store.createDeployment(
      {
        deploymentId,
        service,
        version,
        image: { registry: 'ecr', repository: service, tag: version, ...(digest ? { digest } : {}) },
        trigger: { kind: 'ecr-push', id: 'evt', at },
        environments: ENVS,
        createdAt: at,
        kind: 'deploy',
      },
      ENVS.map((env, order) => ({
        deploymentId,
        service,
        environment: env,
        order,
        version,
        state: 'PENDING',
        createdAt: at,
        updatedAt: at,
      })),
    );
    return { deploymentId, service, version, environment };
  }

  const states = async (ref: StageRef) => (await store.getDeployment(ref.deploymentId))?.stages.map((s) => s.state);
  const move = async (ref: StageRef, ...path: StageRecord['state'][]) => {
    for (const state of path) await store.updateStage(ref.deploymentId, ref.environment, { state }, NOW);
  };
  const good = (ref: StageRef, version: string, more: { digest?: string; revision?: string } = {}) =>
    store.setEnvironmentVersions(
      ref.service,
      ref.environment,
      {
        current: { version, deploymentId: `dep-${version}`, ...more },
        lastKnownGood: { version, deploymentId: `dep-${version}`, ...more },
      },
      NOW,
    );
  const exported = (vars: Record<string, string>, Id = 'build-1'): BuildResult => ({
    Id,
    ExportedEnvironmentVariables: Object.entries(vars).map(([Name, Value]) => ({ Name, Value })),
  });

  describe('recordAwaitingApproval', () => {
    it('moves the stage, remembers what ran before, logs it and tells the notifier', async () => {
      const ref = await deployment();
      await good(ref, '1.9.0');
      const { deps, changed, log } = harness();
      expect(await recordAwaitingApproval(deps, ref)).toEqual({ previousVersion: '1.9.0' });
      const stage = await store.getStage(ref.deploymentId, 'staging');
      expect(stage).toMatchObject({ state: 'AWAITING_APPROVAL', previousVersion: '1.9.0', startedAt: NOW.toISOString() });
      expect(changed).toEqual([stage]);
      expect(log.lines).toEqual([
        {
          level: 'INFO',
          message: `${ref.service} 2.0.0 on staging: AWAITING_APPROVAL`,
          extra: { deploymentId: ref.deploymentId, environment: 'staging', state: 'AWAITING_APPROVAL' },
        },
      ]);
    });

    it('nothing ran there before: no previous version; a notifier outage is only logged', async () => {
      const ref = await deployment();
      const { deps, log } = harness({
        notifier: {
          stageChanged: async () => {
            throw new Error('slack: channel_not_found');
          },
        },
      });
      expect(await recordAwaitingApproval(deps, ref)).toEqual({});
      expect((await store.getStage(ref.deploymentId, 'staging'))?.previousVersion).toBeUndefined();
      expect(log.lines.at(-1)).toEqual({
        level: 'WARN',
        message: 'could not notify about a stage change',
        extra: { error: 'Error: slack: channel_not_found' },
      });
    });
  });

  describe('recordDeploying', () => {
    it('keeps the start and previous version the approval wait recorded, and names the alarms already firing', async () => {
      const ref = await deployment();
      await good(ref, '1.9.0');
      const early = harness({ now: new Date(NOW.getTime() - 60_000) });
      await recordAwaitingApproval(early.deps, ref);
      // Meanwhile another deployment changed what runs there: the stage keeps what it saw first.
      await good(ref, '1.9.5');
      const asked: string[][] = [];
      const alarms = {
        getStates: async (names: string[]): Promise<AlarmStatus[]> => {
          asked.push(names);
          return names.map((name) => ({ name, state: name === 'errors' ? ('ALARM' as const) : ('OK' as const) }));
        },
      };
      const { deps, log } = harness();
      expect(await recordDeploying({ ...deps, alarms }, ref, ['errors', 'latency'])).toEqual({ previousVersion: '1.9.0' });
      expect(asked).toEqual([['errors', 'latency']]);
      expect(await store.getStage(ref.deploymentId, 'staging')).toMatchObject({
        state: 'DEPLOYING',
        previousVersion: '1.9.0',
        startedAt: new Date(NOW.getTime() - 60_000).toISOString(),
        preexistingAlarms: ['errors'],
      });
      expect(log.lines.map((l) => l.message)).toEqual([`${ref.service} 2.0.0 on staging: DEPLOYING`]);
    });

    it('without an approval wait: starts now, previous version from what runs there; no alarms asked when none or no port', async () => {
      const ref = await deployment();
      await good(ref, '1.8.0');
      let asked = 0;
      const alarms = {
        getStates: async (names: string[]): Promise<AlarmStatus[]> => {
          asked += 1;
          return names.map((name) => ({ name, state: 'OK' as const }));
        },
      };
      const { deps } = harness();
      expect(await recordDeploying({ ...deps, alarms }, ref)).toEqual({ previousVersion: '1.8.0' });
      expect(asked).toBe(0);
      const stage = await store.getStage(ref.deploymentId, 'staging');
      expect(stage).toMatchObject({ state: 'DEPLOYING', previousVersion: '1.8.0', startedAt: NOW.toISOString() });
      expect(stage?.preexistingAlarms).toBeUndefined();

      const fresh = await deployment();
      expect(await recordDeploying(harness().deps, fresh, ['errors'])).toEqual({});
      const first = await store.getStage(fresh.deploymentId, 'staging');
      expect(first?.previousVersion).toBeUndefined();
      expect(first?.preexistingAlarms).toBeUndefined();
      // Alarms all OK: nothing recorded as pre-existing.
      const quiet = await deployment();
      await recordDeploying({ ...harness().deps, alarms }, quiet, ['errors']);
      expect(asked).toBe(1);
      expect((await store.getStage(quiet.deploymentId, 'staging'))?.preexistingAlarms).toBeUndefined();
    });
  });

  describe('recordBaking', () => {
    it('a real deploy: BAKING with the build id; the new version now runs there, with its digest and target revision', async () => {
      const ref = await deployment();
      await good(ref, '1.0.0');
      await move(ref, 'DEPLOYING');
      const { deps } = harness();
      const digest = `sha256:${'a'.repeat(64)}`;
      const build = exported({ COCONUT_DEPLOYED_VERSION: '2.0.0', COCONUT_TARGET_REVISION: ECS_ARN }, 'coconut-deploy:b1');
      expect(await recordBaking(deps, { ...ref, digest }, build)).toEqual({ rehearsal: false });
      const stage = await store.getStage(ref.deploymentId, 'staging');
      expect(stage).toMatchObject({ state: 'BAKING', buildId: 'coconut-deploy:b1', deployedAt: NOW.toISOString() });
      expect(stage?.rehearsal).toBeUndefined();
      const env = await store.getEnvironmentState(ref.service, 'staging');
      expect(env?.current).toEqual({ version: '2.0.0', deploymentId: ref.deploymentId, digest, revision: ECS_ARN });
      // What passed its bake is unchanged until SUCCEEDED.
      expect(env?.lastKnownGood?.version).toBe('1.0.0');
    });

    it('a revision that is not a plain identifier (or too long) is not stored; no digest, no build: none recorded', async () => {
      for (const revision of ['rev 1; rm -rf /', 'x'.repeat(513), '']) {
        const ref = await deployment();
        await move(ref, 'DEPLOYING');
        await recordBaking(harness().deps, ref, exported({ COCONUT_TARGET_REVISION: revision }));
        expect((await store.getEnvironmentState(ref.service, 'staging'))?.current).toEqual({
          version: '2.0.0',
          deploymentId: ref.deploymentId,
        });
      }
      const longest = await deployment();
      await move(longest, 'DEPLOYING');
      await recordBaking(harness().deps, longest, exported({ COCONUT_TARGET_REVISION: 'r'.repeat(512) }));
      expect((await store.getEnvironmentState(longest.service, 'staging'))?.current?.revision).toBe('r'.repeat(512));
      const bare = await deployment();
      await move(bare, 'DEPLOYING');
      expect(await recordBaking(harness().deps, bare, undefined)).toEqual({ rehearsal: false });
      // A build that exported nothing (CodeBuild leaves ExportedEnvironmentVariables out then).
      const silent = await deployment();
      await move(silent, 'DEPLOYING');
      expect(await recordBaking(harness().deps, silent, { Id: 'b-silent' })).toEqual({ rehearsal: false });
      expect((await store.getEnvironmentState(silent.service, 'staging'))?.current).toEqual({
        version: '2.0.0',
        deploymentId: silent.deploymentId,
      });
      expect((await store.getStage(bare.deploymentId, 'staging'))?.buildId).toBeUndefined();
    });

    it('a rehearsal (a tool was missing, nothing ran): labelled, joined to what was rehearsed before; what runs there is unchanged', async () => {
      const ref = await deployment();
      await good(ref, '1.0.0');
      await store.updateStage(
        ref.deploymentId,
        'staging',
        { state: 'PENDING', rehearsal: { tools: ['trivy'], steps: ['scan'] } },
        NOW,
      );
      await move(ref, 'DEPLOYING');
      const build = exported({ COCONUT_REHEARSAL: 'true', COCONUT_MISSING_TOOLS: 'helm,trivy,kubectl' });
      expect(await recordBaking(harness().deps, ref, build)).toEqual({ rehearsal: true });
      const stage = await store.getStage(ref.deploymentId, 'staging');
      expect(stage).toMatchObject({
        state: 'BAKING',
        rehearsal: { tools: ['trivy', 'helm', 'kubectl'], steps: ['scan', 'deploy'] },
      });
      expect(stage?.deployedAt).toBeUndefined();
      expect((await store.getEnvironmentState(ref.service, 'staging'))?.current?.version).toBe('1.0.0');

      // The ECS step names the step it rehearsed; no missing tools listed: none.
      const other = await deployment();
      await move(other, 'DEPLOYING');
      await recordBaking(harness().deps, other, exported({ COCONUT_REHEARSAL: 'true', COCONUT_REHEARSED_STEP: 'ecs-deploy' }));
      expect((await store.getStage(other.deploymentId, 'staging'))?.rehearsal).toEqual({ tools: [], steps: ['ecs-deploy'] });
      // COCONUT_REHEARSAL must say "true".
      const real = await deployment();
      await move(real, 'DEPLOYING');
      expect(await recordBaking(harness().deps, real, exported({ COCONUT_REHEARSAL: 'false' }))).toEqual({ rehearsal: false });
    });
  });

  describe('recordSucceeded', () => {
    it('the version that passed its bake becomes the last known-good, keeping the revision RecordBaking stored', async () => {
      const ref = await deployment();
      await move(ref, 'DEPLOYING');
      await recordBaking(harness().deps, ref, exported({ COCONUT_TARGET_REVISION: ECS_ARN }));
      const later = new Date(NOW.getTime() + 300_000);
      await recordSucceeded(harness({ now: later }).deps, { ...ref, digest: `sha256:${'b'.repeat(64)}` });
      expect(await store.getStage(ref.deploymentId, 'staging')).toMatchObject({
        state: 'SUCCEEDED',
        finishedAt: later.toISOString(),
      });
      const env = await store.getEnvironmentState(ref.service, 'staging');
      expect(env?.lastKnownGood).toEqual({ version: '2.0.0', deploymentId: ref.deploymentId, revision: ECS_ARN });
    });

    it('when another deployment ran there since, the good version is this one as the plan knew it', async () => {
      const ref = await deployment();
      await move(ref, 'DEPLOYING', 'BAKING');
      await good(ref, '3.0.0', { revision: 'other' });
      const digest = `sha256:${'c'.repeat(64)}`;
      await recordSucceeded(harness().deps, { ...ref, digest });
      expect((await store.getEnvironmentState(ref.service, 'staging'))?.lastKnownGood).toEqual({
        version: '2.0.0',
        deploymentId: ref.deploymentId,
        digest,
      });
      const plain = await deployment();
      await move(plain, 'DEPLOYING', 'BAKING');
      await recordSucceeded(harness().deps, plain);
      expect((await store.getEnvironmentState(plain.service, 'staging'))?.lastKnownGood).toEqual({
        version: '2.0.0',
        deploymentId: plain.deploymentId,
      });
    });

    it('a rehearsed deploy is never a known-good version; one whose only rehearsal was the scan is', async () => {
      const rehearsed = await deployment();
      await move(rehearsed, 'DEPLOYING');
      await recordBaking(harness().deps, rehearsed, exported({ COCONUT_REHEARSAL: 'true', COCONUT_MISSING_TOOLS: 'helm' }));
      await recordSucceeded(harness().deps, rehearsed);
      expect((await store.getStage(rehearsed.deploymentId, 'staging'))?.state).toBe('SUCCEEDED');
      expect((await store.getEnvironmentState(rehearsed.service, 'staging'))?.lastKnownGood).toBeUndefined();

      const scanOnly = await deployment();
      await store.updateStage(
        scanOnly.deploymentId,
        'staging',
        { state: 'PENDING', rehearsal: { tools: ['trivy'], steps: ['scan'] } },
        NOW,
      );
      await move(scanOnly, 'DEPLOYING', 'BAKING');
      await recordSucceeded(harness().deps, scanOnly);
      expect((await store.getEnvironmentState(scanOnly.service, 'staging'))?.lastKnownGood?.version).toBe('2.0.0');
    });
  });

  describe('recordRejected', () => {
    it('an approval that timed out: REJECTED as expired, later environments skipped, Coconut.ApprovalExpired reported', async () => {
      const ref = await deployment();
      await move(ref, 'AWAITING_APPROVAL');
      const { deps, log } = harness();
      const outcome = await recordRejected(deps, ref, { Error: 'States.Timeout', Cause: 'the task timed out' });
      expect(outcome).toEqual({
        error: 'Coconut.ApprovalExpired',
        cause: `${ref.service} 2.0.0 on staging: approval expired: nobody approved it in time`,
      });
      expect(await states(ref)).toEqual(['PENDING', 'REJECTED', 'SKIPPED']);
      const stages = (await store.getDeployment(ref.deploymentId))?.stages;
      expect(stages?.[1]).toMatchObject({
        reason: 'approval expired: nobody approved it in time',
        finishedAt: NOW.toISOString(),
      });
      expect(stages?.[2]?.reason).toBe('not reached: staging REJECTED');
      expect(log.lines.map((l) => l.message)).toEqual([
        `${ref.service} 2.0.0 on staging: REJECTED — approval expired: nobody approved it in time`,
      ]);
    });

    it('rejected by someone: their words are the reason; without words, "rejected"; any other failure is described', async () => {
      const cases: [Parameters<typeof recordRejected>[2], string][] = [
        [{ Error: 'Coconut.Rejected', Cause: 'rejected by alice: not today' }, 'rejected by alice: not today'],
        [{ Error: 'Coconut.Rejected' }, 'rejected'],
        [{ Error: 'Coconut.Rejected', Cause: '' }, 'rejected'],
        [{ Error: 'Lambda.ServiceException', Cause: 'boom' }, 'approval request failed: Lambda.ServiceException — boom'],
        [undefined, 'approval request failed'],
      ];
      for (const [failure, reason] of cases) {
        const ref = await deployment();
        await move(ref, 'AWAITING_APPROVAL');
        expect(await recordRejected(harness().deps, ref, failure)).toEqual({
          error: 'Coconut.Rejected',
          cause: `${ref.service} 2.0.0 on staging: ${reason}`,
        });
        expect((await store.getStage(ref.deploymentId, 'staging'))?.reason).toBe(reason);
      }
    });
  });

  describe('prepareRollback', () => {
    const deployEnv = [
      { Name: 'COCONUT_ACTION', Value: 'deploy', Type: 'PLAINTEXT' as const },
      { Name: 'COCONUT_VERSION', Value: '2.0.0', Type: 'PLAINTEXT' as const },
    ];

    it('with a last known-good version: ROLLING_BACK to it, with the build variables that deploy it', async () => {
      const ref = await deployment();
      await good(ref, '1.5.0', { digest: `sha256:${'d'.repeat(64)}`, revision: '7' });
      await move(ref, 'DEPLOYING', 'BAKING');
      const plan = await prepareRollback(
        harness().deps,
        ref,
        { Error: 'Coconut.AlarmFired', Cause: 'api-5xx' },
        'bake',
        deployEnv,
      );
      expect(plan).toEqual({
        canRollBack: true,
        version: '1.5.0',
        buildEnv: expect.arrayContaining([
          { Name: 'COCONUT_ACTION', Value: 'rollback', Type: 'PLAINTEXT' },
          { Name: 'COCONUT_VERSION', Value: '1.5.0', Type: 'PLAINTEXT' },
          { Name: 'COCONUT_IMAGE_DIGEST', Value: `sha256:${'d'.repeat(64)}`, Type: 'PLAINTEXT' },
          { Name: 'COCONUT_ROLLBACK_REVISION', Value: '7', Type: 'PLAINTEXT' },
        ]),
      });
      expect(await store.getStage(ref.deploymentId, 'staging')).toMatchObject({
        state: 'ROLLING_BACK',
        reason: 'alarm api-5xx fired during bake',
        rolledBackTo: '1.5.0',
        alarm: 'api-5xx',
      });
      // Rolling back is not the end: the later environments wait for how it ends.
      expect(await states(ref)).toEqual(['PENDING', 'ROLLING_BACK', 'PENDING']);

      const failed = await deployment();
      await good(failed, '1.5.0');
      await move(failed, 'DEPLOYING');
      await prepareRollback(
        harness().deps,
        failed,
        { Error: 'States.TaskFailed', Cause: 'helm: timed out' },
        'deploy',
        deployEnv,
      );
      const stage = await store.getStage(failed.deploymentId, 'staging');
      expect(stage).toMatchObject({ state: 'ROLLING_BACK', reason: 'deploy failed: States.TaskFailed — helm: timed out' });
      expect(stage?.alarm).toBeUndefined();
    });

    it('nothing was changed (a tool was missing): FAILED here, nothing to roll back, later environments skipped', async () => {
      const ref = await deployment();
      await good(ref, '1.5.0');
      await move(ref, 'DEPLOYING');
      const plan = await prepareRollback(
        harness().deps,
        ref,
        { Error: 'Coconut.MissingTool', Cause: 'helm is not installed' },
        'deploy',
        deployEnv,
      );
      expect(plan).toEqual({
        canRollBack: false,
        outcome: { error: 'Coconut.DeployFailed', cause: `${ref.service} 2.0.0 on staging: helm is not installed` },
      });
      expect(await states(ref)).toEqual(['PENDING', 'FAILED', 'SKIPPED']);
      expect(await store.getStage(ref.deploymentId, 'staging')).toMatchObject({
        reason: 'helm is not installed',
        finishedAt: NOW.toISOString(),
      });
    });

    it('no earlier good version (none, or the one that failed): FAILED, saying so, with the alarm that fired', async () => {
      const none = await deployment();
      await move(none, 'DEPLOYING', 'BAKING');
      const reason = `alarm api-5xx fired during bake; no earlier good version of ${none.service} on staging to roll back to`;
      expect(
        await prepareRollback(harness().deps, none, { Error: 'Coconut.AlarmFired', Cause: 'api-5xx' }, 'bake', deployEnv),
      ).toEqual({
        canRollBack: false,
        outcome: { error: 'Coconut.DeployFailed', cause: `${none.service} 2.0.0 on staging: ${reason}` },
      });
      expect(await store.getStage(none.deploymentId, 'staging')).toMatchObject({
        state: 'FAILED',
        reason,
        alarm: 'api-5xx',
        finishedAt: NOW.toISOString(),
      });
      expect(await states(none)).toEqual(['PENDING', 'FAILED', 'SKIPPED']);

      const same = await deployment();
      await good(same, '2.0.0');
      await move(same, 'DEPLOYING');
      const plan = await prepareRollback(harness().deps, same, undefined, 'deploy', deployEnv);
      expect(plan.canRollBack).toBe(false);
      const stage = await store.getStage(same.deploymentId, 'staging');
      expect(stage).toMatchObject({
        state: 'FAILED',
        reason: `deploy failed; no earlier good version of ${same.service} on staging to roll back to`,
      });
      expect(stage?.alarm).toBeUndefined();
    });
  });

  describe('recordRolledBack', () => {
    it('ROLLED_BACK; the known-good version runs again, with the revision the rollback reports; the outcome says to what', async () => {
      const ref = await deployment();
      await good(ref, '1.5.0', { digest: `sha256:${'e'.repeat(64)}` });
      await move(ref, 'DEPLOYING', 'BAKING');
      await prepareRollback(harness().deps, ref, { Error: 'Coconut.AlarmFired', Cause: 'api-5xx' }, 'bake', []);
      // RecordBaking made 2.0.0 current.
      await store.setEnvironmentVersions(
        ref.service,
        'staging',
        { current: { version: '2.0.0', deploymentId: ref.deploymentId } },
        NOW,
      );
      const outcome = await recordRolledBack(harness().deps, ref, exported({ COCONUT_TARGET_REVISION: ECS_ARN }));
      expect(outcome).toEqual({
        error: 'Coconut.RolledBack',
        cause: `${ref.service} 2.0.0 on staging: rolled back to 1.5.0: alarm api-5xx fired during bake`,
      });
      expect(await store.getStage(ref.deploymentId, 'staging')).toMatchObject({
        state: 'ROLLED_BACK',
        finishedAt: NOW.toISOString(),
      });
      expect((await store.getEnvironmentState(ref.service, 'staging'))?.current).toEqual({
        version: '1.5.0',
        deploymentId: 'dep-1.5.0',
        digest: `sha256:${'e'.repeat(64)}`,
        revision: ECS_ARN,
      });
      expect(await states(ref)).toEqual(['PENDING', 'ROLLED_BACK', 'SKIPPED']);
      // No revision reported: the known-good one as recorded.
      const plain = await deployment();
      await good(plain, '1.5.0', { revision: '3' });
      await move(plain, 'DEPLOYING');
      await prepareRollback(harness().deps, plain, undefined, 'deploy', []);
      await recordRolledBack(harness().deps, plain, undefined);
      expect((await store.getEnvironmentState(plain.service, 'staging'))?.current).toEqual({
        version: '1.5.0',
        deploymentId: 'dep-1.5.0',
        revision: '3',
      });
    });

    it('a rehearsed rollback changes nothing that runs; a stage without its plan says so in general words', async () => {
      const ref = await deployment();
      await good(ref, '1.5.0');
      await store.updateStage(
        ref.deploymentId,
        'staging',
        { state: 'PENDING', rehearsal: { tools: ['helm'], steps: ['deploy'] } },
        NOW,
      );
      await move(ref, 'DEPLOYING');
      await prepareRollback(harness().deps, ref, undefined, 'deploy', []);
      await store.setEnvironmentVersions(
        ref.service,
        'staging',
        { current: { version: '2.0.0', deploymentId: ref.deploymentId } },
        NOW,
      );
      await recordRolledBack(
        harness().deps,
        ref,
        exported({ COCONUT_REHEARSAL: 'true', COCONUT_MISSING_TOOLS: 'helm,kubectl', COCONUT_REHEARSED_STEP: 'rollback' }),
      );
      expect((await store.getStage(ref.deploymentId, 'staging'))?.rehearsal).toEqual({
        tools: ['helm', 'kubectl'],
        steps: ['deploy', 'rollback'],
      });
      expect((await store.getEnvironmentState(ref.service, 'staging'))?.current?.version).toBe('2.0.0');

      // ROLLING_BACK without rolledBackTo or reason (written by hand or by an older version).
      const bare = await deployment();
      await good(bare, '1.5.0');
      await move(bare, 'DEPLOYING', 'ROLLING_BACK');
      await store.setEnvironmentVersions(
        bare.service,
        'staging',
        { current: { version: '2.0.0', deploymentId: bare.deploymentId } },
        NOW,
      );
      expect(await recordRolledBack(harness().deps, bare, undefined)).toEqual({
        error: 'Coconut.RolledBack',
        cause: `${bare.service} 2.0.0 on staging: rolled back to the last known-good version: deployment failed`,
      });
      expect((await store.getEnvironmentState(bare.service, 'staging'))?.current?.version).toBe('2.0.0');
    });
  });

  describe('recordRollbackFailed and recordFailed', () => {
    it('a failed rollback needs attention: both reasons, Coconut.RollbackFailed', async () => {
      const ref = await deployment();
      await good(ref, '1.5.0');
      await move(ref, 'DEPLOYING');
      await prepareRollback(harness().deps, ref, { Error: 'Coconut.AlarmFired', Cause: 'api-5xx' }, 'deploy', []);
      const outcome = await recordRollbackFailed(harness().deps, ref, { Error: 'States.Timeout' });
      const reason = `alarm api-5xx fired during bake; then rollback timed out — ${ref.service} on staging needs attention`;
      expect(outcome).toEqual({ error: 'Coconut.RollbackFailed', cause: `${ref.service} 2.0.0 on staging: ${reason}` });
      expect(await store.getStage(ref.deploymentId, 'staging')).toMatchObject({
        state: 'ROLLBACK_FAILED',
        reason,
        finishedAt: NOW.toISOString(),
      });
      expect(await states(ref)).toEqual(['PENDING', 'ROLLBACK_FAILED', 'SKIPPED']);

      const bare = await deployment();
      await move(bare, 'DEPLOYING', 'ROLLING_BACK');
      expect((await recordRollbackFailed(harness().deps, bare, undefined)).cause).toBe(
        `${bare.service} 2.0.0 on staging: deployment failed; then rollback failed — ${bare.service} on staging needs attention`,
      );
    });

    it('FAILED with the described failure and its alarm; a scan gate reports its own error, anything else Coconut.DeployFailed', async () => {
      const ref = await deployment();
      await move(ref, 'DEPLOYING', 'BAKING');
      expect(await recordFailed(harness().deps, ref, { Error: 'Coconut.AlarmFired', Cause: 'api-5xx' }, 'bake')).toEqual({
        error: 'Coconut.DeployFailed',
        cause: `${ref.service} 2.0.0 on staging: alarm api-5xx fired during bake`,
      });
      expect(await store.getStage(ref.deploymentId, 'staging')).toMatchObject({
        state: 'FAILED',
        reason: 'alarm api-5xx fired during bake',
        alarm: 'api-5xx',
        finishedAt: NOW.toISOString(),
      });
      expect(await states(ref)).toEqual(['PENDING', 'FAILED', 'SKIPPED']);
      for (const gate of ['Coconut.ScanBlocked', 'Coconut.ScanUnavailable']) {
        const gated = await deployment();
        const outcome = await recordFailed(harness().deps, gated, { Error: gate, Cause: 'CVE-2026-0001 (CRITICAL)' }, 'scan');
        expect(outcome).toEqual({ error: gate, cause: `${gated.service} 2.0.0 on staging: CVE-2026-0001 (CRITICAL)` });
        const stage = await store.getStage(gated.deploymentId, 'staging');
        expect(stage?.alarm).toBeUndefined();
      }
      const plain = await deployment();
      expect((await recordFailed(harness().deps, plain, undefined, 'scan')).error).toBe('Coconut.DeployFailed');
    });

    it('only later PENDING environments are skipped; one that cannot be marked is logged and the failure still recorded', async () => {
      const ref = await deployment('dev');
      // staging already moved on (a parallel retry); prod is still PENDING.
      await store.updateStage(ref.deploymentId, 'staging', { state: 'DEPLOYING' }, NOW);
      const failing = new Proxy(store, {
        get(target, key, receiver) {
          if (key === 'updateStage') {
            return async (...args: Parameters<DynamoStore['updateStage']>) => {
              if (args[1] === 'prod') throw new Error('dynamodb: throttled');
              return target.updateStage(...args);
            };
          }
          const value = Reflect.get(target, key, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const { deps, log } = harness({ store: failing });
      await recordFailed(deps, ref, undefined, 'deploy');
      expect(await states(ref)).toEqual(['FAILED', 'DEPLOYING', 'PENDING']);
      expect(log.lines[0]).toEqual({
        level: 'WARN',
        message: 'could not mark prod as skipped',
        extra: { error: 'Error: dynamodb: throttled' },
      });

      // The last environment: nothing after it; the earlier ones are left as they are.
      const last = await deployment('prod');
      await recordFailed(harness().deps, last, undefined, 'deploy');
      expect(await states(last)).toEqual(['PENDING', 'PENDING', 'FAILED']);
    });
  });

  it('mergeRehearsal: the tools of both once, the steps in order', () => {
    expect(mergeRehearsal(undefined, { tools: ['helm'], steps: ['deploy'] })).toEqual({ tools: ['helm'], steps: ['deploy'] });
    expect(
      mergeRehearsal({ tools: ['trivy', 'helm'], steps: ['scan'] }, { tools: ['helm', 'kubectl'], steps: ['deploy'] }),
    ).toEqual({
      tools: ['trivy', 'helm', 'kubectl'],
      steps: ['scan', 'deploy'],
    });
  });

  it('a step for a deployment or stage with no record fails with NotFoundError, naming it', async () => {
    const ghost: StageRef = { deploymentId: 'dep-ghost', service: 'ghost', version: '1.0.0', environment: 'prod' };
    const h = harness();
    const rehearsed = exported({ COCONUT_REHEARSAL: 'true' });
    for (const step of [
      () => recordDeploying(h.deps, ghost),
      () => recordBaking(h.deps, ghost, rehearsed),
      () => recordRolledBack(h.deps, ghost, rehearsed),
      () => recordRollbackFailed(h.deps, ghost, undefined),
      () => recordFailed(h.deps, ghost, undefined, 'deploy'),
    ]) {
      await expect(step()).rejects.toThrow(NotFoundError);
      await expect(step()).rejects.toThrow('dep-ghost');
    }
  });

  it('a rollback recorded without a known-good version leaves what runs there alone', async () => {
    const ref = await deployment();
    await store.updateStage(ref.deploymentId, 'staging', { state: 'DEPLOYING' }, NOW);
    await store.updateStage(
      ref.deploymentId,
      'staging',
      { state: 'ROLLING_BACK', rolledBackTo: '1.0.0', reason: 'deploy failed' },
      NOW,
    );
    expect((await recordRolledBack(harness().deps, ref, { Id: 'b-1' })).cause).toContain('rolled back to 1.0.0: deploy failed');
    expect(await store.getEnvironmentState(ref.service, 'staging')).toBeUndefined();
  });

  it('the later environments are told which state ended the deployment', async () => {
    const withGood = async () => {
      const ref = await deployment();
      await good(ref, '1.5.0');
      await move(ref, 'DEPLOYING');
      return ref;
    };
    const laterReason = async (ref: StageRef) => (await store.getStage(ref.deploymentId, 'prod'))?.reason;
    const nothingChanged = await withGood();
    await prepareRollback(harness().deps, nothingChanged, { Error: 'Coconut.MissingTool' }, 'deploy', []);
    expect(await laterReason(nothingChanged)).toBe('not reached: staging FAILED');
    const noTarget = await deployment();
    await move(noTarget, 'DEPLOYING');
    await prepareRollback(harness().deps, noTarget, undefined, 'deploy', []);
    expect(await laterReason(noTarget)).toBe('not reached: staging FAILED');
    const rolled = await withGood();
    await prepareRollback(harness().deps, rolled, undefined, 'deploy', []);
    await recordRolledBack(harness().deps, rolled, undefined);
    expect(await laterReason(rolled)).toBe('not reached: staging ROLLED_BACK');
    const broken = await withGood();
    await prepareRollback(harness().deps, broken, undefined, 'deploy', []);
    await recordRollbackFailed(harness().deps, broken, undefined);
    expect(await laterReason(broken)).toBe('not reached: staging ROLLBACK_FAILED');
    const failed = await deployment();
    await recordFailed(harness().deps, failed, undefined, 'deploy');
    expect(await laterReason(failed)).toBe('not reached: staging FAILED');
  });
});
