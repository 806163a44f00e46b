/**
 * The Helm rollout goldens: the manifests the real `helm template` renders for each step's exact
 * command (src/core/pipeline/helm-rollout.ts) on the coconut-service chart. scripts/helm-rollout-goldens.ts
 * renders them where a helm binary exists; test/unit/helm-rollout.test.ts reads them, and fails when the
 * chart changed since they were rendered (the chart's hash is recorded in each file).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { HelmRolloutTarget, HelmStep } from '../../src/core/pipeline/helm-rollout.ts';

export const CHART = 'templates/helm/coconut-service';
export const GOLDEN_DIR = 'test/golden/helm-rollout';

/** demo-web 1.1.0 as a canary over 1.0.0, with a values file that turns the HTTPRoute on. */
export const EXAMPLE: HelmRolloutTarget = {
  release: 'demo-web',
  namespace: 'shop',
  chart: CHART,
  timeout: '300s',
  valuesFiles: ['test/fixtures/helm-rollout/values.yaml'],
  imagePullSecrets: ['ghcr-pull'],
  stable: { repository: 'ghcr.io/acme/demo-web', digest: `sha256:${'1'.repeat(64)}`, tag: '1.0.0' },
  canary: { repository: 'ghcr.io/acme/demo-web', digest: `sha256:${'2'.repeat(64)}`, tag: '1.1.0' },
  version: '1.1.0',
  deploymentId: 'demo-web-prod-1.1.0-7f3a',
};

/** canary steps: [10, 50] then 100, and the abort: every command of each, named for its golden file. */
export const GOLDEN_STEPS: { name: string; step: HelmStep }[] = [
  { name: 'canary-10', step: { percent: 10 } },
  { name: 'canary-50', step: { percent: 50 } },
  { name: 'promote-100', step: { percent: 100, previousPercent: 50 } },
  { name: 'abort', step: { abort: true } },
];

/** Every file of the chart and the example's values files, hashed in path order: a golden rendered from others is stale. */
export function chartHash(root = CHART): string {
  const hash = createHash('sha256');
  const files = readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(root, path.relative(root, path.join(e.parentPath, e.name))))
    .sort();
  for (const file of [...files, ...EXAMPLE.valuesFiles]) hash.update(`${file}\0`).update(readFileSync(file)).update('\0');
  return hash.digest('hex');
}

/** `helm upgrade --install R CHART ...` -> `helm template R CHART ...` without the upgrade-only flags. */
export function templateArgs(command: string[]): string[] {
  const [tool, verb, install, ...rest] = command;
  if (tool !== 'helm' || verb !== 'upgrade' || install !== '--install')
    throw new Error(`not a helm upgrade --install: ${command.join(' ')}`);
  const out = ['template'];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    if (arg === '--atomic' || arg === '--wait') continue;
    if (arg === '--timeout' || arg === '--history-max' || arg === '--description') {
      i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}

export function goldenFile(name: string, index: number): string {
  return path.join(GOLDEN_DIR, `${name}.${index + 1}.yaml`);
}
