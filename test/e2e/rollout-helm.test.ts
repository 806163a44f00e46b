/**
 * A Helm canary end to end in the local runtime: deploy.asl.json's step loop (SelectStep -> DeployStep ->
 * StepBake -> LastStep? -> NextStep) runs templates/buildspec/helm-deploy.yml once per step, and an alarm
 * during a step's bake runs helm-rollback.yml, which aborts the rollout. The builds run a FAKE helm
 * (test/fixtures/fake-bin/helm) first on their PATH: it records each call and keeps the release's revisions,
 * and no real helm or cluster is ever touched. The exact commands are helmStepCommands'
 * (src/core/pipeline/helm-rollout.ts), whose manifests the real `helm template` renders in
 * test/unit/helm-rollout.test.ts (Gateway API HTTPRoute weights: https://gateway-api.sigs.k8s.io/reference/spec/#backendref).
 */
import { existsSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StageRecord } from '../../src/core/model/deployment.ts';
import { type HelmRolloutTarget, type HelmStep, helmStepCommands } from '../../src/core/pipeline/helm-rollout.ts';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';
import { ecrPushEntry, memoryLog, REAL_DEPLOY_TEST_LIMIT_MS, startedId, startRuntimeWithConfig } from '../support/runtime.ts';

const REGISTRY = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const [D1, D2, D3] = [digest('1'), digest('2'), digest('3')];
const ENDED = ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'ROLLBACK_FAILED'];

const CONFIG = `services:
  - name: web
    image: { registry: ecr, repository: web, tagPattern: '^\\d+\\.\\d+\\.\\d+$' }
    target:
      kind: helm
      namespace: shop
      valuesFiles: [test/fixtures/helm-rollout/values.yaml]
      imageRepository: ${REGISTRY}/web
    environments:
      - name: prod
        bake: 1s
        alarms: [web-prod-5xx]
        rollout: { strategy: canary, steps: [10, 50], bake: 2s }
`;

/** helmStepCommands for web on prod: `version` on the canary track over `stable`. */
function commands(version: [string, string], stable: [string, string], deploymentId: string, step: HelmStep) {
  const target: HelmRolloutTarget = {
    release: 'web',
    namespace: 'shop',
    chart: 'templates/helm/coconut-service',
    timeout: '300s',
    valuesFiles: ['test/fixtures/helm-rollout/values.yaml'],
    imagePullSecrets: [],
    stable: { repository: `${REGISTRY}/web`, tag: stable[0], digest: stable[1] },
    canary: { repository: `${REGISTRY}/web`, tag: version[0], digest: version[1] },
    version: version[0],
    deploymentId,
  };
  return helmStepCommands(target, step);
}

describe('Helm canary rollout (local runtime, FAKE helm): 10% -> 50% -> 100%, and an abort on an alarm', {
  timeout: REAL_DEPLOY_TEST_LIMIT_MS,
}, () => {
  let rt: Awaited<ReturnType<typeof startRuntimeWithConfig>>;
  beforeAll(async () => {
    // The FAKE helm, ahead of any real one on this machine's PATH.
    const bin = mkdtempSync(path.join(tmpdir(), 'coconut-fake-helm-'));
    symlinkSync(path.join(PROJECT_ROOT, 'test/fixtures/fake-bin/helm'), path.join(bin, 'helm'));
    rt = await startRuntimeWithConfig(CONFIG, {
      buildPath: `${bin}${path.delimiter}${process.env.PATH ?? ''}`,
      probes: false,
      strict: true,
      slack: false,
      log: memoryLog(),
    });
  }, 120_000);
  afterAll(() => rt?.stop());

  const helmCalls = () => {
    const file = path.join(rt.dir, 'fake-tools.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => ['helm', ...(JSON.parse(l) as { argv: string[] }).argv])
      .filter((argv) => argv[1] !== 'get'); // each build's post_build reads the revision with helm get metadata
  };
  const push = async (tag: string, d: string) =>
    startedId((await rt.postEvents([ecrPushEntry('web', tag, d)])) as Parameters<typeof startedId>[0]);
  /** The stage once the execution has ended (its last writes, e.g. the known-good version, are done). */
  const ended = async (id: string) => {
    await rt.until(`${id} on prod to end`, async () => {
      const stage = await rt.ports.store.getStage(id, 'prod');
      return stage && ENDED.includes(stage.state) ? stage : undefined;
    });
    await rt.engine.waitFor(id);
    return (await rt.ports.store.getStage(id, 'prod')) as StageRecord;
  };
  const entered = (id: string, state: string) =>
    rt.engine.events(id).filter((e) => e.type === 'StateEntered' && e.state === state).length;

  it('the first deploy has no known-good version: each step deploys it all at once (no canary), and it becomes the stable one', async () => {
    const id = await push('1.0.0', D1);
    const prod: StageRecord = await ended(id);
    expect(prod.state, prod.reason).toBe('SUCCEEDED');
    const calls = helmCalls();
    expect(calls).toHaveLength(3);
    for (const argv of calls) {
      expect(argv).toEqual(expect.arrayContaining([`image.digest=${D1}`, 'image.tag=1.0.0', `coconut deploy 1.0.0 (${id})`]));
      expect(argv.some((a) => a.startsWith('canary.'))).toBe(false);
    }
    expect(entered(id, 'DeployStep')).toBe(3);
    expect(await rt.ports.store.getEnvironmentState('web', 'prod')).toMatchObject({
      lastKnownGood: { version: '1.0.0', digest: D1, revision: '3' },
    });
  });

  it('1.1.0 walks the steps over the stable 1.0.0: canary 10%, canary 50%, then promoted and the canary removed', async () => {
    const before = helmCalls().length;
    const id = await push('1.1.0', D2);
    const prod: StageRecord = await ended(id);
    expect(prod.state, prod.reason).toBe('SUCCEEDED');
    expect(prod.rollout).toMatchObject({ step: 3, of: 3, percent: 100, previousPercent: 50 });
    const steps: HelmStep[] = [{ percent: 10 }, { percent: 50 }, { percent: 100, previousPercent: 50 }];
    expect(helmCalls().slice(before)).toEqual(steps.flatMap((step) => commands(['1.1.0', D2], ['1.0.0', D1], id, step)));
    expect([entered(id, 'DeployStep'), entered(id, 'StepBake')]).toEqual([3, 3]);
    expect(await rt.ports.store.getEnvironmentState('web', 'prod')).toMatchObject({
      current: { version: '1.1.0', digest: D2 },
      lastKnownGood: { version: '1.1.0', digest: D2, revision: '7' },
    });
  });

  it('an alarm during the 50% bake of 1.2.0 aborts the rollout: canary weight 0 on the stable 1.1.0, then the canary removed', async () => {
    const before = helmCalls().length;
    const id = await push('1.2.0', D3);
    await rt.until('1.2.0 baking at 50%', async () => {
      const stage = await rt.ports.store.getStage(id, 'prod');
      return stage?.state === 'BAKING' && stage.rollout?.percent === 50 ? stage : undefined;
    });
    await rt.alarms.set('web-prod-5xx', 'ALARM', 'test: 5xx above threshold');
    const prod: StageRecord = await ended(id);
    await rt.alarms.set('web-prod-5xx', 'OK');
    expect(prod.state, prod.reason).toBe('ROLLED_BACK');
    expect(prod).toMatchObject({ alarm: 'web-prod-5xx', rolledBackTo: '1.1.0' });
    expect(prod.reason).toContain('at canary 50% (step 2 of 3)');
    expect(helmCalls().slice(before)).toEqual([
      ...commands(['1.2.0', D3], ['1.1.0', D2], id, { percent: 10 }),
      ...commands(['1.2.0', D3], ['1.1.0', D2], id, { percent: 50 }),
      ...commands(['1.2.0', D3], ['1.1.0', D2], id, { abort: true }),
    ]);
    // The stable track never left 1.1.0: no command of this deployment set image.digest to 1.2.0's.
    expect(
      helmCalls()
        .slice(before)
        .some((argv) => argv.includes(`image.digest=${D3}`)),
    ).toBe(false);
    expect(await rt.ports.store.getEnvironmentState('web', 'prod')).toMatchObject({
      current: { version: '1.1.0' },
      lastKnownGood: { version: '1.1.0', digest: D2 },
    });
    expect((await rt.engine.waitFor(id))?.error).toBe('Coconut.RolledBack');
  });
});
