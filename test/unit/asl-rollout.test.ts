/**
 * The rollout loop of deploy.asl.json (RolloutSteps), run for real: the same ASL in
 * aws-local-stepfunctions with the real pipeline-step handler over dynalite; only the deploy
 * build (a recorder) and the alarms (a switch) stand in. Each step waits on its bake's task token
 * and an alarm-changed event fails it (no polling: Step Functions counts history events, 25,000
 * per execution, "Step Functions service quotas"); a failure in any step rolls back the share
 * every step so far reached.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineStepHandler } from '../../functions/pipeline-step.ts';
import type { DynamoStore } from '../../src/aws/dynamo/store.ts';
import type { AslDefinition } from '../../src/core/asl.ts';
import { parseConfig } from '../../src/core/config/load.ts';
import type { EnvironmentConfig, RolloutConfig } from '../../src/core/config/schema.ts';
import { handleAlarmChange } from '../../src/core/pipeline/bake.ts';
import type { AlarmStatus } from '../../src/core/ports.ts';
import { buildPlan, deploymentRecord, initialStages } from '../../src/core/triggers/plan.ts';
import { loadStateMachine } from '../../src/local/asl.ts';
import { LocalEngine } from '../../src/local/engine.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';
import { memoryLog } from '../support/runtime.ts';
import { dynaliteStore } from '../support/stores.ts';

const config = parseConfig(`
services:
  - name: api
    image: { registry: ecr, repository: api }
    target: { kind: ansible, inventory: inv.yml }
    environments:
      - name: prod
        bake: 0s
        alarms: [api-health]
        rollout: { strategy: canary, steps: [10, 50], bake: 1s }
`);
const service = config.services[0] as NonNullable<(typeof config.services)[0]>;

const GOOD_DIGEST = `sha256:${'1'.repeat(64)}`;

interface Build {
  state: string;
  env: Record<string, string>;
}

describe('deploy.asl.json: the rollout loop (canary 10% -> 50% -> 100%)', () => {
  let definition: AslDefinition;
  let store: DynamoStore;
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    definition = await loadStateMachine(PROJECT_ROOT, 'deploy');
    ({ store, dynamo } = await dynaliteStore());
  });
  afterAll(() => dynamo?.stop());

  async function run(version: string, bake: number, onBuild: (build: Build, alarms: Map<string, string>) => void = () => {}) {
    // What runs before: 1.1.0, proven (the rollback target).
    const good = { version: '1.1.0', deploymentId: 'earlier', digest: GOOD_DIGEST };
    await store.setEnvironmentVersions('api', 'prod', { current: good, lastKnownGood: good }, new Date());
    const log = memoryLog();
    const alarmStates = new Map<string, string>([['api-health', 'OK']]);
    // A bake starts with two writes and a look: bakeEndsAt on the stage, the watch with its task
    // token, then one more look at the alarms (startBake). Only after that look is the watch the
    // one thing that can fail the bake, so the alarm test waits for it (\`bakeWatched\`).
    const progress = { bakeWatched: false };
    const alarms = {
      getStates: async (names: string[]): Promise<AlarmStatus[]> => {
        const watched = (await store.listBakeWatches('api-health')).length > 0;
        const states = names.map((name) => ({ name, state: (alarmStates.get(name) ?? 'UNKNOWN') as AlarmStatus['state'] }));
        if (watched) progress.bakeWatched = true;
        return states;
      },
    };
    const builds: Build[] = [];
    let engine: LocalEngine;
    const deps = () => ({ store, orchestrator: engine, clock: { now: () => new Date() }, log, notifier: {}, alarms });
    const handler = createPipelineStepHandler(async () => deps() as never);
    engine = new LocalEngine({
      definitions: { deploy: definition },
      functions: { 'pipeline-step': (event, context) => handler(event as never, context) },
      builds: {
        run: async (params, meta) => {
          const vars = params.EnvironmentVariablesOverride as { Name: string; Value: string }[];
          const build = { state: meta.state, env: Object.fromEntries(vars.map((v) => [v.Name, v.Value])) };
          builds.push(build);
          onBuild(build, alarmStates);
          return { Build: { Id: `build-${builds.length}` } };
        },
      },
      dataDir: mkdtempSync(path.join(tmpdir(), 'coconut-rollout-')),
      log,
    });
    const image = { registry: 'ecr' as const, repository: 'api', tag: version };
    const env = service.environments[0] as EnvironmentConfig;
    const plan = buildPlan(
      { ...service, environments: [{ ...env, rollout: { ...(env.rollout as RolloutConfig), bake } }] },
      image,
    );
    const now = new Date();
    await store.createDeployment(
      deploymentRecord(plan, { kind: 'manual', id: version, at: now.toISOString() }, 'deploy', now),
      initialStages(plan, now),
    );
    await engine.startExecution('deploy', plan.deploymentId, plan);
    return { engine, plan, builds, log, alarmStates, deps, progress };
  }

  it('walks every step in order, each deploying its share and baking, and ends SUCCEEDED', async () => {
    const { engine, plan, builds } = await run('1.1.0', 1);
    const record = await engine.waitFor(plan.deploymentId);
    expect(record?.status, record?.cause).toBe('SUCCEEDED');
    expect(builds.map((b) => [b.state, b.env.COCONUT_ROLLOUT_PREVIOUS_PERCENT, b.env.COCONUT_ROLLOUT_PERCENT])).toEqual([
      ['DeployStep', '0', '10'],
      ['DeployStep', '10', '50'],
      ['DeployStep', '50', '100'],
    ]);
    // Each step's build also names the known-good version the stable track keeps (read as the step starts).
    expect(
      builds.map((b) => [b.env.COCONUT_STABLE_VERSION, b.env.COCONUT_STABLE_IMAGE_DIGEST, b.env.COCONUT_STABLE_IMAGE_NAME]),
    ).toEqual(Array(3).fill(['1.1.0', GOOD_DIGEST, '']));
    const events = engine.events(plan.deploymentId);
    // Each step baked on its own token (StepBake entered once per step), then looked once more.
    expect(events.filter((e) => e.type === 'StateEntered' && e.state === 'StepBake')).toHaveLength(3);
    expect(events.filter((e) => e.type === 'StateEntered' && e.state === 'Deploy')).toHaveLength(0);
    expect(events.filter((e) => e.type === 'StateEntered' && e.state === 'Bake')).toHaveLength(0);
    const stage = await store.getStage(plan.deploymentId, 'prod');
    expect(stage?.state).toBe('SUCCEEDED');
    expect(stage?.rollout).toEqual({ strategy: 'canary', step: 3, of: 3, percent: 100, previousPercent: 50 });
    expect((await store.getEnvironmentState('api', 'prod'))?.lastKnownGood?.version).toBe('1.1.0');
  }, 60_000);

  it("an alarm during the first step's bake rolls back that step only, naming the alarm and the step", async () => {
    const { engine, plan, builds, deps, alarmStates, progress } = await run('1.2.0', 30);
    // The first step bakes (for 30 s): the alarm fires, and its change event fails the bake's token.
    const deadline = Date.now() + 20_000;
    while (!progress.bakeWatched) {
      if (Date.now() > deadline) throw new Error('the first step never started baking');
      await new Promise((r) => setTimeout(r, 50));
    }
    alarmStates.set('api-health', 'ALARM');
    expect((await handleAlarmChange(deps() as never, { alarmName: 'api-health', state: 'ALARM' })).failedBakes).toBe(1);
    const record = await engine.waitFor(plan.deploymentId);
    expect(record?.status).toBe('FAILED');
    expect(record?.error).toBe('Coconut.RolledBack');
    expect(record?.cause).toContain('alarm api-health fired during bake at canary 10% (step 1 of 3)');
    // One deploy (the 10% batch), then the rollback of exactly that share to 1.1.0.
    expect(builds.map((b) => [b.state, b.env.COCONUT_ACTION, b.env.COCONUT_VERSION, b.env.COCONUT_ROLLOUT_PERCENT])).toEqual([
      ['DeployStep', 'deploy', '1.2.0', '10'],
      ['Rollback', 'rollback', '1.1.0', '10'],
    ]);
    const stage = await store.getStage(plan.deploymentId, 'prod');
    expect(stage).toMatchObject({ state: 'ROLLED_BACK', alarm: 'api-health', rolledBackTo: '1.1.0' });
    expect(stage?.rollout).toMatchObject({ step: 1, percent: 10 });
    expect((await store.getEnvironmentState('api', 'prod'))?.current?.version).toBe('1.1.0');
  }, 60_000);

  it('a failed deploy in a later step rolls back every step so far (its share included)', async () => {
    const { engine, plan, builds } = await run('1.3.0', 0, (build) => {
      if (build.env.COCONUT_ROLLOUT_PERCENT === '50' && build.env.COCONUT_ACTION === 'deploy')
        throw Object.assign(new Error('host web-3 unreachable'), { name: 'CodeBuild.BuildFailed' });
    });
    const record = await engine.waitFor(plan.deploymentId);
    expect(record?.error).toBe('Coconut.RolledBack');
    expect(record?.cause).toContain('at canary 50% (step 2 of 3)');
    expect(builds.map((b) => [b.state, b.env.COCONUT_ROLLOUT_PERCENT])).toEqual([
      ['DeployStep', '10'],
      ['DeployStep', '50'],
      ['Rollback', '50'],
    ]);
    // The rollback keeps the stable version and names the one the canary track ran (a Helm abort needs both).
    expect(builds[2]?.env).toMatchObject({
      COCONUT_VERSION: '1.1.0',
      COCONUT_STABLE_VERSION: '1.1.0',
      COCONUT_STABLE_IMAGE_DIGEST: GOOD_DIGEST,
      COCONUT_CANARY_VERSION: '1.3.0',
      // The 50% deploy failed: the canary still serves the 10% of the step before.
      COCONUT_CANARY_LIVE: 'true',
    });
  }, 60_000);
});
