/**
 * A Helm canary splits traffic with the weights of the chart's Gateway API HTTPRoute
 * (templates/buildspec/scripts/helm-step.sh sets canary.enabled and canary.weight; the chart's
 * templates/httproute.yaml renders the two backendRefs only when httpRoute.enabled). Without the
 * route, the chart's own schema refuses the first step (values.schema.json: canary.enabled
 * requires httpRoute.enabled), so the deployment fails safely, but only once it has started.
 * This finds it from the files before: the chart's values.yaml, then each values file in the order
 * Helm applies them (later --values files override earlier ones, "helm install" docs), and the
 * last one that says anything about httpRoute.enabled decides.
 */
import { parse } from 'yaml';
import { rolloutSteps } from '../pipeline/rollout.ts';
import type { CoconutConfig } from './schema.ts';

/** Reads a file relative to the repository root; undefined when it does not exist. */
export type ReadRepoFile = (relativePath: string) => string | undefined;

export function helmCanaryRouteProblems(config: CoconutConfig, read: ReadRepoFile): string[] {
  const problems: string[] = [];
  for (const service of config.services) {
    const target = service.target;
    if (target.kind !== 'helm') continue;
    for (const env of service.environments) {
      // One step of 100% is all at once: no canary track, no weights.
      if (rolloutSteps(env.rollout).length < 2) continue;
      const layers = [
        `${target.chart.replace(/\/+$/, '')}/values.yaml`,
        ...target.valuesFiles.map((file) => file.replaceAll('{environment}', env.name)),
      ];
      let enabled: unknown;
      let decidedBy = 'none of them sets it';
      for (const layer of layers) {
        const text = read(layer);
        // A missing file is reported where the files are checked (infra/pipeline.ts sourcePaths).
        if (text === undefined) continue;
        const value = httpRouteEnabled(text);
        if (value === undefined) continue;
        enabled = value;
        decidedBy = `${layer} sets ${JSON.stringify(value)}`;
      }
      if (enabled === true) continue;
      problems.push(
        `service ${service.name}, environment ${env.name}: a ${env.rollout?.strategy} rollout on Helm shifts traffic with the chart's HTTPRoute weights, so it needs httpRoute.enabled: true in target.valuesFiles (read in order: ${layers.join(', ')}; ${decidedBy})`,
      );
    }
  }
  return problems;
}

/** httpRoute.enabled as one values file says it; undefined when it says nothing (or is not YAML: Helm reports that). */
function httpRouteEnabled(text: string): unknown {
  let values: unknown;
  try {
    values = parse(text);
  } catch {
    return undefined;
  }
  const route = (values as { httpRoute?: unknown } | null)?.httpRoute;
  if (route === null || typeof route !== 'object') return undefined;
  return (route as { enabled?: unknown }).enabled;
}
