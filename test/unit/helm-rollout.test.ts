/**
 * Helm canary/linear steps (src/core/pipeline/helm-rollout.ts): the exact commands of each step, and the
 * manifests that the REAL `helm template` renders for each of those commands on the coconut-service chart
 * (test/golden/helm-rollout/, rendered by scripts/helm-rollout-goldens.ts; helm is not on this machine's
 * PATH, so the goldens carry the chart's hash and the command, and fail here when either moved on).
 * The rules checked come from the platforms:
 * - Gateway API: HTTPRoute gateway.networking.k8s.io/v1, backendRefs[].weight = share of the requests,
 *   weight / sum of weights, 0 = none (https://gateway-api.sigs.k8s.io/reference/spec/#backendref).
 * - Every rendered object validates against its API's own schema: Kubernetes' OpenAPI (kubernetes-models) and
 *   the Gateway API CRDs' (@kubernetes-models/gateway-api), e.g. backendRefs[].weight 0..1000000.
 * - Kubernetes label selectors: matchLabels all equal; matchExpressions "In" = the label's value is one of
 *   the values (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors).
 * The commands also run through the FAKE helm of test/fixtures (records argv and release revisions).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { HelmRolloutInvalidError, helmStepCommands } from '../../src/core/pipeline/helm-rollout.ts';
import { chartHash, EXAMPLE, GOLDEN_STEPS, goldenFile } from '../support/helm-render.ts';

const D1 = EXAMPLE.stable.digest;
const D2 = EXAMPLE.canary.digest;
const STABLE = 'demo-web-coconut-service';
const CANARY = 'demo-web-coconut-service-canary';

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: rendered Kubernetes objects of several kinds
  spec: any;
}

function golden(name: string, index: number): { header: Record<string, string>; manifests: Manifest[] } {
  const text = readFileSync(goldenFile(name, index), 'utf8');
  const header = Object.fromEntries(
    [...text.matchAll(/^# (chart-sha256|command): (.*)$/gm)].map((m) => [m[1] as string, m[2] as string]),
  );
  const manifests = parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
  return { header, manifests };
}

const find = (manifests: Manifest[], kind: string, name: string) =>
  manifests.find((m) => m.kind === kind && m.metadata.name === name);

/** Kubernetes label-selector semantics (matchLabels and matchExpressions with In / NotIn / Exists). */
function selects(
  selector: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] },
  labels: Record<string, string>,
): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => {
    const value = labels[e.key];
    if (e.operator === 'In') return value !== undefined && (e.values ?? []).includes(value);
    if (e.operator === 'NotIn') return value === undefined || !(e.values ?? []).includes(value);
    if (e.operator === 'Exists') return value !== undefined;
    throw new Error(`operator ${e.operator} not handled here`);
  });
  return byLabels && byExpressions;
}

const podLabels = (d: Manifest | undefined) => d?.spec.template.metadata.labels as Record<string, string>;
const image = (d: Manifest | undefined) => d?.spec.template.spec.containers[0].image as string;
function weights(manifests: Manifest[]): [string, number][] {
  const route = find(manifests, 'HTTPRoute', STABLE);
  if (!route) throw new Error('no HTTPRoute rendered');
  return (route.spec.rules[0].backendRefs as { name: string; weight: number }[]).map((b) => [b.name, b.weight]);
}

describe('Function: helmStepCommands (exact helm commands per step)', () => {
  it('a canary step: one helm upgrade keeping the stable image, the new image on the canary track, the weight', () => {
    expect(helmStepCommands(EXAMPLE, { percent: 10 })).toEqual([
      [
        'helm',
        'upgrade',
        '--install',
        'demo-web',
        'templates/helm/coconut-service',
        '--namespace',
        'shop',
        '--atomic',
        '--wait',
        '--timeout',
        '300s',
        '--history-max',
        '20',
        '--description',
        'coconut canary 10% 1.1.0 (demo-web-prod-1.1.0-7f3a)',
        '--values',
        'test/fixtures/helm-rollout/values.yaml',
        '--set-string',
        'image.repository=ghcr.io/acme/demo-web',
        '--set-string',
        `image.digest=${D1}`,
        '--set-string',
        'image.tag=1.0.0',
        '--set',
        'canary.enabled=true',
        '--set-string',
        'canary.image.repository=ghcr.io/acme/demo-web',
        '--set-string',
        `canary.image.digest=${D2}`,
        '--set-string',
        'canary.image.tag=1.1.0',
        '--set',
        'canary.weight=10',
        '--set',
        'imagePullSecrets={ghcr-pull}',
      ],
    ]);
  });

  it('promotion at 100%: the stable track takes the new image at the previous share, then the canary is removed', () => {
    const [first, second] = helmStepCommands(EXAMPLE, { percent: 100, previousPercent: 50 });
    expect(first).toEqual(expect.arrayContaining([`image.digest=${D2}`, 'canary.enabled=true', 'canary.weight=50']));
    expect(second).toEqual(expect.arrayContaining([`image.digest=${D2}`, 'canary.enabled=false', 'canary.weight=0']));
    expect(second).not.toContain(`canary.image.digest=${D2}`);
  });

  it('abort: the canary weight to 0 on the known-good stable image, then the canary removed', () => {
    const [first, second] = helmStepCommands(EXAMPLE, { abort: true });
    expect(first).toEqual(expect.arrayContaining([`image.digest=${D1}`, 'canary.enabled=true', 'canary.weight=0']));
    expect(second).toEqual(expect.arrayContaining([`image.digest=${D1}`, 'canary.enabled=false', 'canary.weight=0']));
    expect(first?.[first.indexOf('--description') + 1]).toBe('coconut abort: canary weight 0 1.1.0 (demo-web-prod-1.1.0-7f3a)');
  });

  it('abort with no canary serving: only the removal (no canary started just to be turned off)', () => {
    const removal = helmStepCommands(EXAMPLE, { abort: true })[1];
    expect(helmStepCommands(EXAMPLE, { abort: true, canaryLive: false })).toEqual([removal]);
  });

  it.each([
    ['a percent of 0', { percent: 0 }, 'step percent is 0; expected a whole percentage from 1 to 100'],
    ['a percent of 101', { percent: 101 }, 'step percent is 101'],
    ['100% without the previous step', { percent: 100 }, 'step 100% needs previousPercent'],
  ])('refuses %s', (_what, step, message) => {
    expect(() => helmStepCommands(EXAMPLE, step)).toThrow(HelmRolloutInvalidError);
    expect(() => helmStepCommands(EXAMPLE, step)).toThrow(message);
  });

  it.each([
    ['a release name with a space', { release: 'demo web' }, 'release is "demo web"'],
    ['a digest that is a tag', { canary: { ...EXAMPLE.canary, digest: 'latest' } }, 'canary image.digest is "latest"'],
    ['a --set injected through the tag', { stable: { ...EXAMPLE.stable, tag: '1,canary.weight=100' } }, 'stable image.tag'],
    ['a chart outside the repository', { chart: '../other' }, 'chart "../other" must be a path relative'],
    ['a values file that is an option', { valuesFiles: ['--post-renderer=x'] }, 'values file "--post-renderer=x"'],
  ])('refuses %s, naming the value and what was expected', (_what, change, message) => {
    expect(() => helmStepCommands({ ...EXAMPLE, ...change }, { percent: 10 })).toThrow(message);
  });
});

describe('Helm chart coconut-service: what real `helm template` renders for each step (test/golden/helm-rollout)', () => {
  const hash = chartHash();

  it.each(
    GOLDEN_STEPS.flatMap(({ name, step }) =>
      helmStepCommands(EXAMPLE, step).map((command, index) => [name, index, command] as const),
    ),
  )('%s command %i: the golden was rendered from this command and this chart', (name, index, command) => {
    const { header } = golden(name, index);
    expect(header.command, `re-render: HELM=... node scripts/helm-rollout-goldens.ts`).toBe(JSON.stringify(command));
    expect(header['chart-sha256'], 'the chart changed: re-render with HELM=... node scripts/helm-rollout-goldens.ts').toBe(hash);
  });

  /** The models generated from Kubernetes' OpenAPI and the Gateway API CRDs, by apiVersion/kind. */
  const MODELS: Record<string, new (data: never) => { validate(): void }> = {
    'apps/v1/Deployment': Deployment,
    'v1/Service': Service,
    'v1/ServiceAccount': ServiceAccount,
    'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
    'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
    'gateway.networking.k8s.io/v1/HTTPRoute': HTTPRoute,
  };

  it.each(GOLDEN_STEPS.flatMap(({ name, step }) => helmStepCommands(EXAMPLE, step).map((_, index) => [name, index] as const)))(
    '%s command %i: every rendered object is valid for its API (Kubernetes OpenAPI, Gateway API CRD schemas)',
    (name, index) => {
      const { manifests } = golden(name, index);
      expect(manifests.length).toBeGreaterThan(4);
      for (const manifest of manifests) {
        const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
        expect(Model, `no schema for ${manifest.apiVersion} ${manifest.kind}`).toBeDefined();
        expect(
          () => new (Model as NonNullable<typeof Model>)(manifest as never).validate(),
          `${manifest.kind} ${manifest.metadata.name}`,
        ).not.toThrow();
      }
    },
  );

  it('canary 10%: two Deployments and Services, each Service selecting only its own track, HTTPRoute 90/10', () => {
    const { manifests } = golden('canary-10', 0);
    const stable = find(manifests, 'Deployment', STABLE);
    const canary = find(manifests, 'Deployment', CANARY);
    expect(image(stable)).toBe(`ghcr.io/acme/demo-web@${D1}`);
    expect(image(canary)).toBe(`ghcr.io/acme/demo-web@${D2}`);
    expect(podLabels(stable)['app.kubernetes.io/version']).toBe('1.0.0');
    expect(podLabels(canary)['app.kubernetes.io/version']).toBe('1.1.0');
    expect(canary?.spec.replicas).toBe(1);
    // Each Deployment's selector and each Service's selector pick exactly one track's pods.
    expect(selects(stable?.spec.selector, podLabels(stable))).toBe(true);
    expect(selects(stable?.spec.selector, podLabels(canary))).toBe(false);
    expect(selects(canary?.spec.selector, podLabels(stable))).toBe(false);
    const stableService = find(manifests, 'Service', STABLE);
    const canaryService = find(manifests, 'Service', CANARY);
    expect(selects({ matchLabels: stableService?.spec.selector }, podLabels(stable))).toBe(true);
    expect(selects({ matchLabels: stableService?.spec.selector }, podLabels(canary))).toBe(false);
    expect(selects({ matchLabels: canaryService?.spec.selector }, podLabels(canary))).toBe(true);
    expect(selects({ matchLabels: canaryService?.spec.selector }, podLabels(stable))).toBe(false);
    // The default-deny NetworkPolicy covers the canary pods too.
    const policy = find(manifests, 'NetworkPolicy', STABLE);
    expect(selects(policy?.spec.podSelector, podLabels(stable))).toBe(true);
    expect(selects(policy?.spec.podSelector, podLabels(canary))).toBe(true);
    // The HTTPRoute: Gateway API v1, attached to the user's Gateway, weights 90 / 10.
    const route = find(manifests, 'HTTPRoute', STABLE);
    expect(route?.apiVersion).toBe('gateway.networking.k8s.io/v1');
    expect(route?.spec.parentRefs).toEqual([{ name: 'public', namespace: 'gateways' }]);
    expect(route?.spec.hostnames).toEqual(['shop.example.com']);
    expect(route?.spec.rules[0].backendRefs).toEqual([
      { name: STABLE, port: 80, weight: 90 },
      { name: CANARY, port: 80, weight: 10 },
    ]);
  });

  it('canary 50%: HTTPRoute 50/50, the stable track still on the known-good image', () => {
    const { manifests } = golden('canary-50', 0);
    expect(weights(manifests)).toEqual([
      [STABLE, 50],
      [CANARY, 50],
    ]);
    expect(image(find(manifests, 'Deployment', STABLE))).toBe(`ghcr.io/acme/demo-web@${D1}`);
  });

  it('promotion: first the stable track runs the new image at the same 50/50, then the canary is gone and stable gets 100', () => {
    const first = golden('promote-100', 0).manifests;
    expect(image(find(first, 'Deployment', STABLE))).toBe(`ghcr.io/acme/demo-web@${D2}`);
    expect(weights(first)).toEqual([
      [STABLE, 50],
      [CANARY, 50],
    ]);
    const second = golden('promote-100', 1).manifests;
    expect(image(find(second, 'Deployment', STABLE))).toBe(`ghcr.io/acme/demo-web@${D2}`);
    expect(podLabels(find(second, 'Deployment', STABLE))['app.kubernetes.io/version']).toBe('1.1.0');
    expect(find(second, 'Deployment', CANARY)).toBeUndefined();
    expect(find(second, 'Service', CANARY)).toBeUndefined();
    expect(weights(second)).toEqual([[STABLE, 100]]);
  });

  it('abort: the canary weight 0 on the known-good stable image, then the canary removed', () => {
    const first = golden('abort', 0).manifests;
    expect(weights(first)).toEqual([
      [STABLE, 100],
      [CANARY, 0],
    ]);
    expect(image(find(first, 'Deployment', STABLE))).toBe(`ghcr.io/acme/demo-web@${D1}`);
    const second = golden('abort', 1).manifests;
    expect(find(second, 'Deployment', CANARY)).toBeUndefined();
    expect(find(second, 'Service', CANARY)).toBeUndefined();
    expect(weights(second)).toEqual([[STABLE, 100]]);
    expect(image(find(second, 'Deployment', STABLE))).toBe(`ghcr.io/acme/demo-web@${D1}`);
  });
});

describe('Helm rollout commands through the FAKE helm executable (test/fixtures/fake-bin/helm)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'coconut-helm-rollout-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const fakeHelm = path.resolve('test/fixtures/fake-bin/helm');
  const readLog = (log: string) =>
    readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => ['helm', ...(JSON.parse(l) as { argv: string[] }).argv]);

  /**
   * The build's environment for templates/buildspec/scripts/helm-step.sh, from the same example: a deploy
   * step (its percent), or "abort" (the rollback build: COCONUT_VERSION / _IMAGE_DIGEST are then the
   * known-good version's, and COCONUT_CANARY_* the version the rollout was bringing in).
   */
  const stepEnv = (log: string, step: string, previous?: number) => ({
    PATH: `${path.dirname(fakeHelm)}:${process.env.PATH}`,
    FAKE_TOOL_LOG: log,
    COCONUT_HELM_RELEASE: EXAMPLE.release,
    COCONUT_HELM_NAMESPACE: EXAMPLE.namespace,
    COCONUT_HELM_CHART: EXAMPLE.chart,
    COCONUT_HELM_TIMEOUT: EXAMPLE.timeout,
    COCONUT_HELM_VALUES_FILES: EXAMPLE.valuesFiles.join(','),
    COCONUT_HELM_IMAGE_PULL_SECRETS: EXAMPLE.imagePullSecrets.join(','),
    COCONUT_IMAGE_NAME: EXAMPLE.canary.repository,
    COCONUT_DEPLOYMENT_ID: EXAMPLE.deploymentId,
    COCONUT_STABLE_IMAGE_NAME: EXAMPLE.stable.repository,
    COCONUT_STABLE_IMAGE_DIGEST: EXAMPLE.stable.digest,
    COCONUT_STABLE_VERSION: EXAMPLE.stable.tag,
    ...(step === 'abort'
      ? {
          COCONUT_ACTION: 'rollback',
          COCONUT_VERSION: EXAMPLE.stable.tag,
          COCONUT_IMAGE_DIGEST: EXAMPLE.stable.digest,
          COCONUT_CANARY_VERSION: EXAMPLE.version,
          COCONUT_CANARY_IMAGE_DIGEST: EXAMPLE.canary.digest,
          COCONUT_CANARY_LIVE: 'true',
          COCONUT_ROLLOUT_PERCENT: '50',
        }
      : {
          COCONUT_ACTION: 'deploy',
          COCONUT_VERSION: EXAMPLE.version,
          COCONUT_IMAGE_DIGEST: EXAMPLE.canary.digest,
          COCONUT_ROLLOUT_PERCENT: step,
        }),
    ...(previous === undefined ? {} : { COCONUT_ROLLOUT_PREVIOUS_PERCENT: String(previous) }),
  });

  it.each([
    ['10', undefined, { percent: 10 }],
    ['100', 50, { percent: 100, previousPercent: 50 }],
    ['abort', undefined, { abort: true as const }],
  ])('helm-step.sh (CodeBuild, FAKE helm) step %s runs exactly the commands of helmStepCommands', (step, previous, same) => {
    const log = path.join(mkdtempSync(path.join(dir, 'step-')), 'fake-tools.jsonl');
    const printed = execFileSync('bash', ['templates/buildspec/scripts/helm-step.sh'], {
      encoding: 'utf8',
      env: stepEnv(log, step, previous),
    });
    const commands = helmStepCommands(EXAMPLE, same);
    expect(readLog(log)).toEqual(commands);
    // Each command is printed before it runs, as helm-upgrade.sh does.
    expect(printed.split('\n').filter((l) => l.startsWith('+ helm upgrade'))).toHaveLength(commands.length);
  });

  it('helm-step.sh (FAKE helm) refuses a step outside 1..100 and a promotion without the previous percent, naming them', () => {
    const run = (step: string) => {
      try {
        execFileSync('bash', ['templates/buildspec/scripts/helm-step.sh'], {
          encoding: 'utf8',
          stdio: 'pipe',
          env: stepEnv(path.join(mkdtempSync(path.join(dir, 'refused-')), 'fake-tools.jsonl'), step),
        });
        return '';
      } catch (error) {
        return String((error as { stderr: string }).stderr);
      }
    };
    expect(run('0')).toContain('COCONUT_ROLLOUT_PERCENT must match ^([1-9][0-9]?|100)$');
    expect(run('10;rm')).toContain('COCONUT_ROLLOUT_PERCENT must match');
    expect(run('100')).toContain('COCONUT_ROLLOUT_PREVIOUS_PERCENT must match');
  });

  it('FAKE helm runs every command of a canary rollout as given (no shell), one release revision each', () => {
    const log = path.join(mkdtempSync(path.join(dir, 'rollout-')), 'fake-tools.jsonl');
    const commands = [
      ...helmStepCommands(EXAMPLE, { percent: 10 }),
      ...helmStepCommands(EXAMPLE, { percent: 50 }),
      ...helmStepCommands(EXAMPLE, { percent: 100, previousPercent: 50 }),
    ];
    const outputs = commands.map((argv) =>
      execFileSync(fakeHelm, argv.slice(1), { encoding: 'utf8', env: { ...process.env, FAKE_TOOL_LOG: log } }),
    );
    expect(outputs.at(-1)).toContain('REVISION: 4');
    const calls = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { tool: string; argv: string[] });
    expect(calls.map((c) => ['helm', ...c.argv])).toEqual(commands);
    const state = JSON.parse(
      readFileSync(path.join(path.dirname(log), 'fake-tool-state', 'helm-shop-demo-web.json'), 'utf8'),
    ) as {
      history: { digest: string }[];
    };
    // The stable image (image.digest) moves to the new digest only at the promotion.
    expect(state.history.map((h) => h.digest)).toEqual([D1, D1, D2, D2]);
  });
});
