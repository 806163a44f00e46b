/**
 * `coconut promote SERVICE --to ENV [--from ENV] [--version V]`: deploys to ENV exactly the image
 * digest that passed its bake on an earlier environment — read from the store's records of that
 * stage and its deployment, never by resolving the tag again (a tag may have been pushed again
 * with other content since). It runs through the same plan and state machine as any deployment:
 * the lock, the gates, the approval and the bake of ENV all apply.
 * `--from` defaults to the environment just before ENV in promotion order; `--version` to the
 * newest version that passed there. A rehearsed stage (a tool was missing, nothing ran) proves
 * nothing and is never promoted.
 */
import type { StageRecord } from '../model/deployment.ts';
import { InvalidInputError, NotFoundError } from '../model/errors.ts';
import { isValidTag } from '../model/oci.ts';
import type { Actor } from '../pipeline/approvals.ts';
import { assertServiceImage, ForeignImageError } from './image-policy.ts';
import {
  checkEnvironments,
  checkRequestId,
  findService,
  type ManualDeployDeps,
  type ManualOutcome,
  restrictPlan,
  triggerOf,
} from './manual-deploy.ts';
import { buildPlan } from './plan.ts';
import { startPlan } from './start-deployment.ts';

export interface PromoteRequest {
  service: string;
  /** The environment to deploy to. */
  to: string;
  /** Where the version was proven; default the environment before `to`. */
  from?: string;
  /** Which proven version; default the newest that passed on `from`. */
  version?: string;
  requestId?: string;
  actor: Actor;
}

export interface PromotionSource {
  environment: string;
  version: string;
  digest: string;
  /** The stage that proved it (SUCCEEDED on `environment`). */
  proof: StageRecord;
}

export type PromoteOutcome = ManualOutcome & { source: PromotionSource };

/** The stage and digest to promote, or an error saying what is missing. */
export async function choosePromotionSource(
  deps: Pick<ManualDeployDeps, 'store' | 'config'>,
  req: Pick<PromoteRequest, 'service' | 'to' | 'from' | 'version'>,
): Promise<PromotionSource> {
  const service = findService(deps, req.service);
  checkEnvironments(service, [req.to, ...(req.from ? [req.from] : [])]);
  const order = service.environments.map((e) => e.name);
  const toIndex = order.indexOf(req.to);
  const from = req.from ?? order[toIndex - 1];
  if (!from) {
    throw new InvalidInputError(
      `${req.to} is ${service.name}'s first environment: there is nothing earlier to promote from (name one with --from)`,
    );
  }
  if (order.indexOf(from) >= toIndex) {
    throw new InvalidInputError(
      `--from ${from} must come before --to ${req.to} in ${service.name}'s promotion order (${order.join(' -> ')})`,
    );
  }
  if (req.version !== undefined && !isValidTag(req.version)) {
    throw new InvalidInputError(`"${req.version}" is not a valid version (an image tag)`);
  }
  const stages = await deps.store.listStages({ service: service.name, environment: from, limit: 200 });
  const passed = stages.filter((s) => s.state === 'SUCCEEDED' && !s.rehearsal);
  const proof = req.version === undefined ? passed[0] : passed.find((s) => s.version === req.version);
  if (!proof) {
    const known = [...new Set(passed.map((s) => s.version))].join(', ') || 'none yet';
    throw new NotFoundError(
      req.version === undefined
        ? `no version of ${service.name} has passed its bake on ${from} yet, so there is nothing to promote (rehearsals do not count)`
        : `${service.name} ${req.version} never passed its bake on ${from}, so it cannot be promoted from there (versions that did: ${known})`,
    );
  }
  const deployment = await deps.store.getDeployment(proof.deploymentId);
  if (!deployment) throw new NotFoundError(`deployment ${proof.deploymentId} of ${service.name} ${proof.version} is gone`);
  const digest = deployment.image.digest;
  if (!digest) {
    throw new InvalidInputError(
      `${service.name} ${proof.version} passed on ${from} (deployment ${proof.deploymentId}), but no image digest was recorded for it: promote deploys a digest, never a tag that may have moved; deploy it by digest instead (coconut deploy --digest)`,
    );
  }
  return { environment: from, version: proof.version, digest, proof };
}

export async function startPromotion(deps: ManualDeployDeps, req: PromoteRequest): Promise<PromoteOutcome> {
  const service = findService(deps, req.service);
  const requestId = checkRequestId(req.requestId);
  const source = await choosePromotionSource(deps, req);
  const proven = await deps.store.getDeployment(source.proof.deploymentId);
  if (!proven) throw new NotFoundError(`deployment ${source.proof.deploymentId} is gone`);
  // The history names the image; only the service's own releases go out.
  try {
    assertServiceImage(service, proven.image);
  } catch (error) {
    throw new ForeignImageError(
      `cannot promote ${service.name} ${source.version} to ${req.to}: deployment ${proven.deploymentId} recorded ${(error as Error).message}`,
    );
  }
  // The recorded image with its digest, as it is: no registry is asked what the tag means now.
  const image = { ...proven.image, digest: source.digest };
  // The whole config's freeze windows hold a promotion as they hold any deployment (only rollbacks are never held).
  const plan = restrictPlan(buildPlan(service, image, `promote:${requestId}`, deps.config.freeze), [req.to]);
  const now = deps.clock.now();
  const trigger = triggerOf('promote', requestId, req.actor, now, source.environment);
  const outcome = await startPlan(plan, { trigger }, deps);
  deps.log.info(
    `promotion of ${service.name} ${source.version} (${source.digest}) from ${source.environment} to ${req.to} by ${req.actor.name ?? req.actor.id}`,
    { deploymentId: outcome.deploymentId, proof: source.proof.deploymentId },
  );
  return { ...outcome, plan, source };
}
