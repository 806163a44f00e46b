/**
 * A Helm canary needs the chart's HTTPRoute: its weights are what split the traffic
 * (templates/helm/coconut-service/templates/httproute.yaml renders the canary backendRef only when
 * httpRoute.enabled), and the chart's own values.schema.json refuses canary.enabled without it
 * (its if/then, read below, not restated). Values files override the chart's values.yaml and
 * each other in the order given (Helm docs, "helm install": "the last (right-most) file specified
 * takes precedence"). `sst deploy` refuses such a config before anything is deployed; `coconut
 * validate` warns.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourcePaths } from '../../infra/pipeline.ts';
import { helmCanaryRouteProblems } from '../../src/core/config/helm-canary-route.ts';
import { parseConfig } from '../../src/core/config/load.ts';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';

const CHART = 'templates/helm/coconut-service';

function config(prodRollout: string) {
  return parseConfig(`
services:
  - name: web
    image: { registry: ghcr, repository: octo/web }
    target: { kind: helm, valuesFiles: [deploy/common.yaml, "deploy/values-{environment}.yaml"] }
    environments:
      - name: staging
      - name: prod
        rollout: ${prodRollout}
`);
}

/** A user repository with the real chart's values.yaml and the given values files. */
function repo(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'coconut-helm-route-'));
  mkdirSync(path.join(root, CHART, 'templates'), { recursive: true });
  copyFileSync(path.join(PROJECT_ROOT, CHART, 'values.yaml'), path.join(root, CHART, 'values.yaml'));
  copyFileSync(path.join(PROJECT_ROOT, CHART, 'Chart.yaml'), path.join(root, CHART, 'Chart.yaml'));
  mkdirSync(path.join(root, 'deploy'));
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(root, file), text);
  mkdirSync(path.join(root, 'templates', 'buildspec'), { recursive: true });
  return root;
}

const readIn = (root: string) => (relative: string) => {
  try {
    return readFileSync(path.join(root, relative), 'utf8');
  } catch {
    return undefined;
  }
};

const ROUTE_ON = 'httpRoute:\n  enabled: true\n  parentRefs: [{ name: public }]\n';

describe('A Helm canary needs httpRoute.enabled (helmCanaryRouteProblems)', () => {
  it("the chart's own schema is the rule: canary.enabled requires httpRoute.enabled: true", () => {
    const schema = JSON.parse(readFileSync(path.join(PROJECT_ROOT, CHART, 'values.schema.json'), 'utf8'));
    expect(schema.if.properties.canary.properties.enabled).toEqual({ const: true });
    expect(schema.then.properties.httpRoute.properties.enabled).toEqual({ const: true });
  });

  it("names the environment and the file that decided, when the chart's default (false) stands", () => {
    const root = repo({
      'deploy/common.yaml': 'replicaCount: 2\n',
      'deploy/values-prod.yaml': '',
      'deploy/values-staging.yaml': '',
    });
    expect(helmCanaryRouteProblems(config('{ strategy: canary, steps: [10, 50] }'), readIn(root))).toEqual([
      `service web, environment prod: a canary rollout on Helm shifts traffic with the chart's HTTPRoute weights, so it needs httpRoute.enabled: true in target.valuesFiles (read in order: ${CHART}/values.yaml, deploy/common.yaml, deploy/values-prod.yaml; ${CHART}/values.yaml sets false)`,
    ]);
  });

  it('passes when a values file turns the route on; staging, all at once, is not asked', () => {
    const root = repo({ 'deploy/common.yaml': '', 'deploy/values-prod.yaml': ROUTE_ON, 'deploy/values-staging.yaml': '' });
    expect(helmCanaryRouteProblems(config('{ strategy: linear, stepPercent: 25 }'), readIn(root))).toEqual([]);
  });

  it('the last file that says anything decides: a later false overrides an earlier true', () => {
    const root = repo({
      'deploy/common.yaml': ROUTE_ON,
      'deploy/values-prod.yaml': 'httpRoute: { enabled: false }\n',
      'deploy/values-staging.yaml': '',
    });
    expect(helmCanaryRouteProblems(config('{ strategy: canary, steps: [10] }'), readIn(root))[0]).toMatch(
      /environment prod: .*; deploy\/values-prod\.yaml sets false\)$/,
    );
  });

  it('sst deploy stops before anything is deployed (sourcePaths), naming the environment', () => {
    const root = repo({ 'deploy/common.yaml': '', 'deploy/values-prod.yaml': '', 'deploy/values-staging.yaml': '' });
    expect(() => sourcePaths(config('{ strategy: canary, steps: [10, 50] }'), root)).toThrow(
      /coconut\.yaml asks for Helm rollouts the chart cannot split:\n {2}service web, environment prod: /,
    );
    writeFileSync(path.join(root, 'deploy/values-prod.yaml'), ROUTE_ON);
    // The default chart travels inside templates/, archived whole.
    expect(sourcePaths(config('{ strategy: canary, steps: [10, 50] }'), root).map((p) => p.path)).toContain('templates');
  });
});
