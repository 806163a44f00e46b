/**
 * `coconut deploy SERVICE TAG`: a deployment asked for by a person, for every target kind,
 * through the same plan and Orchestrator as a push. It may be limited to some environments
 * (approval gates still apply there). A request id salts the execution name: the same request
 * retried starts nothing new, a deliberate redeploy of the same version is a new execution.
 */
import { randomUUID } from 'node:crypto';
import type { ServiceConfig } from '../config/schema.ts';
import type { ImageRef } from '../model/deployment.ts';
import { InvalidInputError, NotFoundError } from '../model/errors.ts';
import { isValidDigest, isValidTag } from '../model/oci.ts';
import type { Trigger } from '../model/release.ts';
import type { Actor } from '../pipeline/approvals.ts';
import type { DeploymentReader, NewDeployments } from '../ports.ts';
import { assertServiceImage, isServiceRepository } from './image-policy.ts';
import { buildPlan, type DeploymentPlan } from './plan.ts';
import { withDigest } from './resolve-digest.ts';
import { type StartDeps, type StartOutcome, startPlan } from './start-deployment.ts';

const REQUEST_ID = /^[A-Za-z0-9-]{8,64}$/;

export interface ManualDeployRequest {
  service: string;
  version: string;
  /** In promotion order or not; default every environment of the service. */
  environments?: string[];
  digest?: string;
  /** Idempotency key chosen by the client (a UUID); a retry with the same one starts nothing new. */
  requestId?: string;
  actor: Actor;
}

/**
 * The trigger of a deployment a person asked for: their name to read, and their identity for
 * four eyes (not for the local operator, whose name is no identity anywhere else).
 */
export function triggerOf(
  kind: 'manual' | 'promote' | 'rollback',
  requestId: string,
  actor: Actor,
  now: Date,
  from?: string,
): Trigger {
  return {
    kind,
    id: requestId,
    actor: actor.name ?? actor.id,
    ...(actor.source === 'local' ? {} : { actorId: actor.id }),
    at: now.toISOString(),
    ...(kind === 'promote' && from ? { from } : {}),
  };
}

export type ManualOutcome = Extract<StartOutcome, { deploymentId: string }> & { plan: DeploymentPlan };

export function findService(deps: Pick<StartDeps, 'config'>, name: string): ServiceConfig {
  const service = deps.config.services.find((s) => s.name === name);
  if (!service) {
    throw new NotFoundError(
      `no service named "${name}" in coconut.yaml (configured: ${deps.config.services.map((s) => s.name).join(', ')})`,
    );
  }
  return service;
}

export function checkEnvironments(service: ServiceConfig, wanted: string[]): void {
  const known = service.environments.map((e) => e.name);
  const unknown = wanted.filter((e) => !known.includes(e));
  if (unknown.length) {
    throw new InvalidInputError(`${service.name} has no environment ${unknown.join(', ')} (environments: ${known.join(', ')})`);
  }
}

export function checkRequestId(requestId: string | undefined): string {
  if (requestId === undefined) return randomUUID();
  if (!REQUEST_ID.test(requestId)) throw new InvalidInputError('requestId must be 8 to 64 letters, digits or "-" (a UUID)');
  return requestId;
}

/** Keeps the chosen environments, in promotion order, with their positions unchanged. */
export function restrictPlan(plan: DeploymentPlan, environments: string[] | undefined): DeploymentPlan {
  if (!environments?.length) return plan;
  return { ...plan, environments: plan.environments.filter((e) => environments.includes(e.name)) };
}

/** Starting by hand looks up the digest of a version deployed before. */
export interface ManualDeployDeps extends StartDeps {
  store: NewDeployments & DeploymentReader;
}

export async function startManualDeployment(deps: ManualDeployDeps, req: ManualDeployRequest): Promise<ManualOutcome> {
  const service = findService(deps, req.service);
  if (!isValidTag(req.version)) {
    throw new InvalidInputError(
      `"${req.version}" is not a valid image tag (letters, digits, . _ -, at most 128, not starting with . or -)`,
    );
  }
  if (req.digest !== undefined && !isValidDigest(req.digest)) {
    throw new InvalidInputError(`digest must look like sha256:<64 hex>, got "${req.digest}"`);
  }
  if (req.environments) checkEnvironments(service, req.environments);
  const requestId = checkRequestId(req.requestId);
  // A manual deploy names only a tag: the repository is the service's; the tag must be a release.
  const named: ImageRef = { registry: service.image.registry, repository: service.image.repository, tag: req.version };
  assertServiceImage(service, named);
  // Without a digest, reuse the one an earlier deployment of this tag recorded: the same content.
  const digest = req.digest ?? (await knownDigest(deps, service, req.version));
  const image = await withDigest(
    { ...named, ...(digest ? { digest } : {}) },
    [service],
    deps,
    'no --digest was given and no earlier deployment recorded one for this tag',
  );
  const plan = restrictPlan(buildPlan(service, image, `manual:${requestId}`, deps.config.freeze), req.environments);
  const now = deps.clock.now();
  const outcome = await startPlan(plan, { trigger: triggerOf('manual', requestId, req.actor, now) }, deps);
  return { ...outcome, plan };
}

/** A digest recorded for this tag of the service's own repository (a record naming another image lends nothing). */
async function knownDigest(
  deps: Pick<ManualDeployDeps, 'store'>,
  service: ServiceConfig,
  tag: string,
): Promise<string | undefined> {
  const earlier = await deps.store.listDeployments({ service: service.name, limit: 200 });
  return earlier.find((d) => d.version === tag && d.image.tag === tag && d.image.digest && isServiceRepository(service, d.image))
    ?.image.digest;
}
