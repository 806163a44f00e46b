/**
 * A Helm canary through the real buildspecs (templates/buildspec/helm-deploy.yml, helm-rollback.yml), run by
 * the local build runner as CodeBuild would run them, with the build variables the plan gives each step
 * (src/core/triggers/plan.ts: the step's COCONUT_ROLLOUT_*, the known-good COCONUT_STABLE_*, and for the
 * rollback of a rollout COCONUT_CANARY_*). A FAKE helm (test/fixtures/fake-bin/helm) records every call:
 * no cluster here. The commands must be exactly those of helmStepCommands (src/core/pipeline/helm-rollout.ts),
 * whose manifests test/unit/helm-rollout.test.ts renders with the real helm and checks against the
 * Kubernetes and Gateway API schemas (HTTPRoute backendRefs weights:
 * https://gateway-api.sigs.k8s.io/reference/spec/#backendref).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load.ts';
import { type HelmRolloutTarget, type HelmStep, helmStepCommands } from '../../src/core/pipeline/helm-rollout.ts';
import { type BuildEnvVar, buildPlan, rolloutRollbackEnvironment, withStableVersion } from '../../src/core/triggers/plan.ts';
import { BuildRunner } from '../../src/local/build-runner.ts';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';
import { memoryLog } from '../support/runtime.ts';

const FAKE_BIN = path.join(PROJECT_ROOT, 'test/fixtures/fake-bin');
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

const service = parseConfig(`
services:
  - name: web
    image: { registry: ghcr, repository: acme/web }
    target:
      kind: helm
      namespace: shop
      valuesFiles: [test/fixtures/helm-rollout/values.yaml]
      imagePullSecrets: [ghcr-pull]
    environments:
      - name: prod
        alarms: [web-5xx]
        rollout: { strategy: canary, steps: [10, 50] }
`).services[0] as NonNullable<ReturnType<typeof parseConfig>['services'][0]>;

const good = { version: '1.0.0', digest: D1, deploymentId: 'web-1.0.0-earlier', revision: '3' };
const plan = buildPlan(service, { registry: 'ghcr', repository: 'acme/web', tag: '1.1.0', digest: D2 });
const prod = plan.environments[0];
const steps = prod?.rollout?.steps ?? [];

/** The same release, images and version as helmStepCommands sees them. */
const target: HelmRolloutTarget = {
  release: 'web',
  namespace: 'shop',
  chart: 'templates/helm/coconut-service',
  timeout: '300s',
  valuesFiles: ['test/fixtures/helm-rollout/values.yaml'],
  imagePullSecrets: ['ghcr-pull'],
  stable: { repository: 'ghcr.io/acme/web', digest: D1, tag: '1.0.0' },
  canary: { repository: 'ghcr.io/acme/web', digest: D2, tag: '1.1.0' },
  version: '1.1.0',
  deploymentId: plan.deploymentId,
};

const root = mkdtempSync(path.join(tmpdir(), 'coconut-helm-buildspec-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Run {
  status: string;
  log: string;
  exported: Record<string, string>;
  /** The FAKE helm's calls, as argv with "helm" first. */
  helm: string[][];
}

/** One build of `helm-<action>` with these variables; `state` is the folder of one release's history. */
async function build(action: 'deploy' | 'rollback', vars: BuildEnvVar[], state: string, extra: Record<string, string> = {}) {
  const toolLog = path.join(state, 'fake-tools.jsonl');
  const before = existsSync(toolLog) ? readFileSync(toolLog, 'utf8').split('\n').filter(Boolean).length : 0;
  const runner = new BuildRunner({
    sourceDir: PROJECT_ROOT,
    dataDir: state,
    projectPrefix: 'coconut',
    strict: true,
    checkTools: false,
    log: memoryLog(),
    env: { PATH: `${FAKE_BIN}:/usr/bin:/bin`, TMPDIR: state, HOME: state, FAKE_TOOL_LOG: toolLog, ...extra },
  });
  let result: {
    BuildStatus: string;
    ExportedEnvironmentVariables?: { Name: string; Value: string }[];
    Logs?: { DeepLink?: string };
  };
  try {
    result = (
      await runner.run(
        { ProjectName: `coconut-helm-${action}`, EnvironmentVariablesOverride: vars },
        { execution: 'helm-test', state: action },
      )
    ).Build;
  } catch (error) {
    result = JSON.parse((error as Error).message).Build;
  }
  const calls = (existsSync(toolLog) ? readFileSync(toolLog, 'utf8') : '')
    .split('\n')
    .filter(Boolean)
    .slice(before)
    .map((l) => ['helm', ...(JSON.parse(l) as { argv: string[] }).argv]);
  return {
    status: result.BuildStatus,
    log: readFileSync(String(result.Logs?.DeepLink ?? '').replace('file://', ''), 'utf8'),
    exported: Object.fromEntries((result.ExportedEnvironmentVariables ?? []).map((v) => [v.Name, v.Value])),
    helm: calls,
  } satisfies Run;
}

const upgrades = (run: Run) => run.helm.filter((argv) => argv[1] === 'upgrade');
const stepEnv = (i: number, known: typeof good | null = good) => withStableVersion(steps[i]?.buildEnv ?? [], known ?? undefined);
const HELM_STEPS: HelmStep[] = [{ percent: 10 }, { percent: 50 }, { percent: 100, previousPercent: 50 }];

describe('Helm canary through helm-deploy.yml and helm-rollback.yml (local build runner, FAKE helm)', () => {
  it('plans three steps for canary [10, 50]: 10, 50, then 100 after 50', () => {
    expect(steps.map((s) => [s.progress.previousPercent, s.progress.percent])).toEqual([
      [0, 10],
      [10, 50],
      [50, 100],
    ]);
  });

  it('each step (FAKE helm) runs exactly its helmStepCommands: 10% and 50% keep 1.0.0 stable, 100% promotes 1.1.0 then removes the canary', async () => {
    const state = mkdtempSync(path.join(root, 'walk-'));
    for (const [i, step] of HELM_STEPS.entries()) {
      const run = await build('deploy', stepEnv(i), state);
      expect(run.status, run.log).toBe('SUCCEEDED');
      expect(upgrades(run)).toEqual(helmStepCommands(target, step));
      // Each command printed before it ran, and only a successful step claims the version and its revision.
      expect(run.log.split('\n').filter((l) => l.startsWith('+ helm upgrade'))).toHaveLength(upgrades(run).length);
      expect(run.exported.COCONUT_DEPLOYED_VERSION).toBe('1.1.0');
      expect(run.exported.COCONUT_TARGET_REVISION).toBe(String(i === 2 ? 4 : i + 1));
    }
    const history = JSON.parse(readFileSync(path.join(state, 'fake-tool-state', 'helm-shop-web.json'), 'utf8')) as {
      history: { digest: string }[];
    };
    // The stable track (image.digest) stays on 1.0.0 until the promotion.
    expect(history.history.map((h) => h.digest)).toEqual([D1, D1, D2, D2]);
  });

  it('a failed upgrade (FAKE helm refuses the new stable image) fails the 100% step and claims nothing', async () => {
    const state = mkdtempSync(path.join(root, 'fail-'));
    const run = await build('deploy', stepEnv(2), state, { FAKE_HELM_FAIL_DIGEST: D2 });
    expect(run.status).toBe('FAILED');
    expect(upgrades(run)).toEqual(helmStepCommands(target, HELM_STEPS[2] as HelmStep).slice(0, 1));
    expect(run.exported.COCONUT_DEPLOYED_VERSION ?? '').toBe('');
    expect(run.log).toContain('deploy failed: COCONUT_DEPLOYED_VERSION is not set');
  });

  it('before a first good deploy (no COCONUT_STABLE_*, FAKE helm) every step deploys 1.1.0 all at once, saying why', async () => {
    const state = mkdtempSync(path.join(root, 'first-'));
    for (const i of [0, 1, 2]) {
      const run = await build('deploy', stepEnv(i, null), state);
      expect(run.status, run.log).toBe('SUCCEEDED');
      expect(run.log).toContain(
        `no known-good version of web on prod yet: step ${steps[i]?.progress.percent}% deploys 1.1.0 to all of it at once`,
      );
      const [upgrade, ...more] = upgrades(run);
      expect(more).toEqual([]);
      expect(upgrade).toEqual(expect.arrayContaining([`image.digest=${D2}`, 'image.tag=1.1.0']));
      expect(upgrade?.some((a) => a.startsWith('canary.'))).toBe(false);
    }
  });

  it('the rollback of a rollout at 50% (FAKE helm): canary weight 0 on the 1.0.0 stable track, then the canary removed; no helm rollback', async () => {
    const state = mkdtempSync(path.join(root, 'abort-'));
    await build('deploy', stepEnv(0), state);
    await build('deploy', stepEnv(1), state);
    const reached = steps[1]?.progress;
    if (!prod || !reached) throw new Error('no prod step 2');
    const run = await build('rollback', rolloutRollbackEnvironment(prod.buildEnv, good, reached, true), state);
    expect(run.status, run.log).toBe('SUCCEEDED');
    expect(run.helm.filter((argv) => argv[1] !== 'get')).toEqual(helmStepCommands(target, { abort: true }));
    expect(run.log).toContain('aborting the rollout of 1.1.0 at 50%');
    expect(run.exported).toMatchObject({ COCONUT_DEPLOYED_VERSION: '1.0.0', COCONUT_TARGET_REVISION: '4' });
    const history = JSON.parse(readFileSync(path.join(state, 'fake-tool-state', 'helm-shop-web.json'), 'utf8')) as {
      history: { digest: string; description: string }[];
    };
    expect(history.history.map((h) => [h.digest, h.description])).toEqual([
      [D1, `coconut canary 10% 1.1.0 (${plan.deploymentId})`],
      [D1, `coconut canary 50% 1.1.0 (${plan.deploymentId})`],
      [D1, `coconut abort: canary weight 0 1.1.0 (${plan.deploymentId})`],
      [D1, `coconut abort: canary removed 1.1.0 (${plan.deploymentId})`],
    ]);
  });

  it('the first step failed before its canary served (FAKE helm): the rollback only removes the canary, starting none', async () => {
    const state = mkdtempSync(path.join(root, 'first-step-'));
    const failed = await build('deploy', stepEnv(0), state, { FAKE_HELM_FAIL_DIGEST: D1 });
    expect(failed.status).toBe('FAILED');
    const reached = steps[0]?.progress;
    if (!prod || !reached) throw new Error('no prod step 1');
    const run = await build('rollback', rolloutRollbackEnvironment(prod.buildEnv, good, reached, false), state);
    expect(run.status, run.log).toBe('SUCCEEDED');
    expect(upgrades(run)).toEqual(helmStepCommands(target, { abort: true, canaryLive: false }));
    expect(upgrades(run)).toHaveLength(1);
    expect(upgrades(run)[0]).toEqual(expect.arrayContaining([`image.digest=${D1}`, 'canary.enabled=false']));
    expect(run.log).toContain('no canary serves requests: nothing to turn to weight 0 first');
  });

  it('refuses a rollout rollback without the canary version, naming the variable (FAKE helm never called)', async () => {
    const state = mkdtempSync(path.join(root, 'refused-'));
    const reached = steps[0]?.progress;
    if (!prod || !reached) throw new Error('no prod step 1');
    const vars = rolloutRollbackEnvironment(prod.buildEnv, good, reached, true).filter(
      (v) => v.Name !== 'COCONUT_CANARY_VERSION',
    );
    const run = await build('rollback', vars, state);
    expect(run.status).toBe('FAILED');
    expect(run.log).toContain('COCONUT_CANARY_VERSION must match');
    expect(upgrades(run)).toEqual([]);
  });
});
