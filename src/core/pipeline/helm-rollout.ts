/**
 * Canary and linear rollouts on the Helm target: the exact `helm upgrade` commands of each step.
 *
 * The coconut-service chart (templates/helm/coconut-service) has a canary track (a second Deployment
 * and Service, `<fullname>-canary`, running canary.image) and a Gateway API HTTPRoute whose
 * backendRefs weights split the requests between the stable and the canary Service. One Helm release
 * holds both tracks, and every command passes every value a step depends on (never --reuse-values),
 * so each command alone says what the cluster runs after it:
 *
 *   step p% (p < 100)  one upgrade: stable = known-good image, canary = new image, canary.weight = p
 *   step 100% (promote) two upgrades: (1) the stable Deployment takes the new image (a rolling update under
 *                      the share it had at the previous step; the canary keeps its share, so no pod gets a
 *                      sudden load); (2) the canary track off: the stable Service, now the new image, gets 100%
 *   abort (any failure) two upgrades: (1) canary.weight = 0, stable = known-good image; (2) the canary off
 *                      (only (2) when no canary serves requests: nothing to drain, and none to start)
 *
 * Commands are argument vectors, run without a shell; every value in them is checked first by the same
 * patterns as templates/buildspec/helm-deploy.yml and the chart's values.schema.json. In CodeBuild,
 * templates/buildspec/scripts/helm-step.sh runs the same commands from the build's environment variables
 * (test/unit/helm-rollout.test.ts holds the two to the same argv).
 * Traffic split: https://gateway-api.sigs.k8s.io/reference/spec/#backendref (weight / sum of weights; 0: none).
 */
import { ERRORS } from '../model/failure.ts';

export interface HelmImage {
  /** Registry and repository, without tag or digest. */
  repository: string;
  digest: string;
  /** The version the digest was pushed as: the pods' app.kubernetes.io/version label. */
  tag: string;
}

export interface HelmRolloutTarget {
  release: string;
  namespace: string;
  /** Chart folder relative to the repository root. */
  chart: string;
  /** helm --timeout, e.g. "300s". */
  timeout: string;
  /** Values files relative to the repository root, applied in order (one of them enables httpRoute). */
  valuesFiles: string[];
  imagePullSecrets: string[];
  /** The known-good image the stable track runs. */
  stable: HelmImage;
  /** The new version's image, on the canary track until promoted. */
  canary: HelmImage;
  /** For the release description: the version and deployment being rolled out. */
  version: string;
  deploymentId: string;
}

/**
 * A traffic step (1..100 percent to the new version; 100 also needs the percent of the step before it)
 * or the abort after a failure.
 */
export type HelmStep =
  | { percent: number; previousPercent?: number }
  /**
   * canaryLive false: no canary track serves requests (the first step's deploy never completed, or the
   * 100% step had already removed it): only the second command, so that no canary of a version that may
   * never become ready is started just to be turned off (helm --wait would wait for it, and fail).
   */
  | { abort: true; canaryLive?: boolean };

export class HelmRolloutInvalidError extends Error {
  override name = ERRORS.targetInvalid;
}

/** The patterns of helm-deploy.yml's check-inputs and of the chart's values.schema.json. */
const PATTERNS = {
  release: /^[a-z0-9]([a-z0-9-]{0,51}[a-z0-9])?$/,
  namespace: /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
  timeout: /^[0-9]{1,5}s$/,
  pullSecret: /^[a-z0-9][a-z0-9-]{0,62}$/,
  repository: /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]{1,5})?(\/[a-z0-9]+([._-]+[a-z0-9]+)*)*$/,
  digest: /^sha256:[a-f0-9]{64}$/,
  tag: /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/,
  deploymentId: /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/,
} as const;

function check(value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value)) {
    throw new HelmRolloutInvalidError(`${what} is "${value.slice(0, 100)}"; expected ${pattern.source}`);
  }
  return value;
}

/** Inside the repository, not an option: as helm-deploy.yml checks COCONUT_HELM_CHART and values files. */
function repoPath(value: string, what: string): string {
  if (!value || value.startsWith('-') || value.startsWith('/') || value.includes('..')) {
    throw new HelmRolloutInvalidError(
      `${what} "${value}" must be a path relative to the repository root (no "..", not an option)`,
    );
  }
  return value;
}

function checkImage(image: HelmImage, what: string): HelmImage {
  return {
    repository: check(image.repository, PATTERNS.repository, `${what}.repository`),
    digest: check(image.digest, PATTERNS.digest, `${what}.digest`),
    tag: check(image.tag, PATTERNS.tag, `${what}.tag`),
  };
}

/**
 * The helm commands of one step, in order; each must succeed before the next runs (and before the
 * step's bake). Throws HelmRolloutInvalidError on a value that fails its pattern, or a percent outside 1..100.
 */
export function helmStepCommands(target: HelmRolloutTarget, step: HelmStep): string[][] {
  const release = check(target.release, PATTERNS.release, 'release');
  const namespace = check(target.namespace, PATTERNS.namespace, 'namespace');
  const timeout = check(target.timeout, PATTERNS.timeout, 'timeout');
  const chart = repoPath(target.chart, 'chart');
  const values = target.valuesFiles.flatMap((f) => ['--values', repoPath(f, 'values file')]);
  const secrets = target.imagePullSecrets.map((s) => check(s, PATTERNS.pullSecret, 'image pull secret'));
  const stable = checkImage(target.stable, 'stable image');
  const canary = checkImage(target.canary, 'canary image');
  const id = check(target.deploymentId, PATTERNS.deploymentId, 'deployment id');
  const version = check(target.version, PATTERNS.tag, 'version');

  const upgrade = (description: string, image: HelmImage, track: string[]) => [
    'helm',
    'upgrade',
    '--install',
    release,
    chart,
    '--namespace',
    namespace,
    '--atomic',
    '--wait',
    '--timeout',
    timeout,
    '--history-max',
    '20',
    '--description',
    `coconut ${description} ${version} (${id})`,
    // Values files first, so the images and weights Coconut sets always win over what they say.
    ...values,
    ...['--set-string', `image.repository=${image.repository}`],
    ...['--set-string', `image.digest=${image.digest}`],
    ...['--set-string', `image.tag=${image.tag}`],
    ...track,
    ...(secrets.length ? ['--set', `imagePullSecrets={${secrets.join(',')}}`] : []),
  ];
  const canaryOn = (weight: number) => [
    ...['--set', 'canary.enabled=true'],
    ...['--set-string', `canary.image.repository=${canary.repository}`],
    ...['--set-string', `canary.image.digest=${canary.digest}`],
    ...['--set-string', `canary.image.tag=${canary.tag}`],
    ...['--set', `canary.weight=${weight}`],
  ];
  const canaryOff = ['--set', 'canary.enabled=false', '--set', 'canary.weight=0'];

  if ('abort' in step) {
    const removed = upgrade('abort: canary removed', stable, canaryOff);
    return step.canaryLive === false ? [removed] : [upgrade('abort: canary weight 0', stable, canaryOn(0)), removed];
  }
  const { percent } = step;
  if (!Number.isInteger(percent) || percent < 1 || percent > 100) {
    throw new HelmRolloutInvalidError(`step percent is ${percent}; expected a whole percentage from 1 to 100`);
  }
  if (percent < 100) return [upgrade(`canary ${percent}%`, stable, canaryOn(percent))];
  const previous = step.previousPercent;
  if (previous === undefined || !Number.isInteger(previous) || previous < 1 || previous > 99) {
    throw new HelmRolloutInvalidError(
      `step 100% needs previousPercent, the percent of the step before it (1 to 99), got ${previous}: the canary keeps that share while the stable track takes the new image`,
    );
  }
  return [
    upgrade('promoting: stable takes the new image', canary, canaryOn(previous)),
    upgrade('promoted: canary removed', canary, canaryOff),
  ];
}
