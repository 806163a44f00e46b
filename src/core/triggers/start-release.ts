/**
 * A git tag arrived (GitHub `push` or `create`): for every service whose `source.github` is
 * that repository and whose tag pattern matches, either deploy the image tagged with the git
 * tag (`onTag: deploy`) or start release.asl.json, which builds and pushes that image in
 * CodeBuild (`onTag: build`); the registry's own push event then starts the deployment.
 *
 * Names are idempotency keys, as for deployments: a tag push is delivered as both `push` and
 * `create` (and GitHub redelivers), so the names depend on (service, repository, tag) only —
 * `create` carries no commit id — and every copy after the first starts nothing.
 */
import { createHash } from 'node:crypto';
import type { ServiceConfig } from '../config/schema.ts';
import type { TagPush } from '../events/github.ts';
import type { ImageRef } from '../model/deployment.ts';
import type { ReleaseEvent } from '../model/release.ts';
import { type BuildEnvVar, buildPlan, gatedAtPins } from './plan.ts';
import { withDigest } from './resolve-digest.ts';
import { type StartDeps, type StartOutcome, startPlan } from './start-deployment.ts';

/** The execution input of release.asl.json. Deterministic for a given tag: no timestamps, no delivery id. */
export interface ReleasePlan {
  releaseId: string;
  service: string;
  version: string;
  /** The image the build pushes; its registry push starts the deployment. */
  image: ImageRef;
  source: {
    /** GitHub repository, owner/name. */
    repository: string;
    /** Clone URL for CodeBuild's source override. */
    location: string;
    /** What CodeBuild checks out: the tag. */
    sourceVersion: string;
  };
  /** Environment variables of the build-image build; the only way event values reach commands. */
  buildEnv: BuildEnvVar[];
}

export type TagOutcome =
  | StartOutcome
  | { status: 'release-started'; service: string; releaseId: string; executionArn: string }
  | { status: 'release-duplicate'; service: string; releaseId: string };

export interface TagReleaseOutcome {
  outcomes: TagOutcome[];
  ignored?: string;
}

function sameRepository(a: string, b: string): boolean {
  // GitHub names are case-insensitive; payloads use the canonical case, a config may not.
  return a.toLowerCase() === b.toLowerCase();
}

/** Services that release on tags of this repository (matching or not their tag pattern). */
export function servicesForRepository(services: ServiceConfig[], repository: string): ServiceConfig[] {
  return services.filter((s) => s.source && sameRepository(s.source.github, repository));
}

export function releaseName(service: string, repository: string, tag: string): string {
  const hash = createHash('sha256')
    .update(['release', service, repository.toLowerCase(), tag].join('\n'))
    .digest('hex')
    .slice(0, 12);
  const readable = `release-${service}-${tag}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80 - hash.length - 1);
  return `${readable}-${hash}`;
}

export function releasePlan(service: ServiceConfig, push: Pick<TagPush, 'repository' | 'tag' | 'sha'>): ReleasePlan {
  const source = service.source;
  if (!source) throw new Error(`service ${service.name} has no source.github`);
  const releaseId = releaseName(service.name, source.github, push.tag);
  const image: ImageRef = { registry: service.image.registry, repository: service.image.repository, tag: push.tag };
  const gitRef = `refs/tags/${push.tag}`;
  const vars: Record<string, string> = {
    COCONUT_ACTION: 'build',
    COCONUT_RELEASE_ID: releaseId,
    COCONUT_SERVICE: service.name,
    COCONUT_VERSION: push.tag,
    COCONUT_IMAGE_REGISTRY: image.registry,
    COCONUT_IMAGE_REPOSITORY: image.repository,
    COCONUT_IMAGE_TAG: push.tag,
    COCONUT_GIT_REPOSITORY: push.repository,
    COCONUT_GIT_REF: gitRef,
    COCONUT_GIT_SHA: push.sha ?? '',
    COCONUT_BUILD_CONTEXT: source.context,
    COCONUT_DOCKERFILE: source.dockerfile,
    COCONUT_REGISTRY_SECRET: source.pushSecret ?? '',
  };
  return {
    releaseId,
    service: service.name,
    version: push.tag,
    image,
    source: { repository: push.repository, location: `https://github.com/${push.repository}.git`, sourceVersion: gitRef },
    buildEnv: Object.entries(vars).map(([Name, Value]) => ({ Name, Value, Type: 'PLAINTEXT' as const })),
  };
}

export function explainNoSource(services: ServiceConfig[], repository: string): string {
  const known = services.flatMap((s) => (s.source ? [s.source.github] : []));
  return `no service in coconut.yaml has source.github "${repository}"${known.length ? ` (configured: ${[...new Set(known)].join(', ')})` : ''}`;
}

export async function startTagRelease(push: TagPush, deps: StartDeps): Promise<TagReleaseOutcome> {
  const candidates = servicesForRepository(deps.config.services, push.repository);
  if (candidates.length === 0) {
    const reason = explainNoSource(deps.config.services, push.repository);
    deps.log.info(`ignored tag ${push.repository}@${push.tag}: ${reason}`);
    return { outcomes: [], ignored: reason };
  }
  const matching = candidates.filter((service) => {
    if (new RegExp(service.image.tagPattern).test(push.tag)) return true;
    deps.log.info(
      `ignored tag ${push.repository}@${push.tag}: tag "${push.tag}" does not match ${service.name}'s tagPattern ${service.image.tagPattern}`,
    );
    return false;
  });
  // A git tag names an image by tag only: every digest is resolved before anything starts, so
  // a registry that cannot answer starts nothing.
  const images = new Map<string, ImageRef>();
  for (const service of matching.filter((s) => s.source?.onTag !== 'build')) {
    const image: ImageRef = { registry: service.image.registry, repository: service.image.repository, tag: push.tag };
    images.set(service.name, await withDigest(image, [service], deps, 'a git tag names the image by tag only'));
  }
  const outcomes: TagOutcome[] = [];
  for (const service of candidates) {
    if (!matching.includes(service)) {
      outcomes.push({
        status: 'skipped',
        reason: `tag "${push.tag}" does not match ${service.name}'s tagPattern ${service.image.tagPattern}`,
      });
      continue;
    }
    if (service.source?.onTag === 'build') {
      outcomes.push(await startBuild(service, push, deps));
      continue;
    }
    const image = images.get(service.name) as ImageRef;
    const release: ReleaseEvent = { ...image, trigger: push.trigger };
    outcomes.push(await startPlan(gatedAtPins(buildPlan(service, image, '', deps.config.freeze)), release, deps));
  }
  return { outcomes };
}

async function startBuild(service: ServiceConfig, push: TagPush, deps: StartDeps): Promise<TagOutcome> {
  const plan = releasePlan(service, push);
  const result = await deps.orchestrator.startExecution('release', plan.releaseId, plan);
  const extra = { service: service.name, version: push.tag, releaseId: plan.releaseId };
  if (!result.started) {
    deps.log.info(`duplicate tag: ${service.name} ${push.tag} is already building or built (${plan.releaseId})`, extra);
    return { status: 'release-duplicate', service: service.name, releaseId: plan.releaseId };
  }
  deps.log.info(
    `started release of ${service.name} ${push.tag}: building ${plan.image.repository}:${push.tag} from ${push.repository}${
      push.trigger.actor ? ` (tag pushed by ${push.trigger.actor})` : ''
    }`,
    extra,
  );
  return { status: 'release-started', service: service.name, releaseId: plan.releaseId, executionArn: result.executionArn };
}
