/**
 * `coconut rollback SERVICE --env E [--to VERSION]`: a rollback execution, recorded in history
 * like any deployment (kind "rollback"). It runs the target's rollback buildspec, which brings
 * back a release that ran there before, through the same state machine (lock, bake, alarms).
 * The target is a version that passed its bake on that environment: the named one, or else
 * the newest such version other than the one running now. It skips the approval gate (it is
 * the way back), so on AWS only the environment's approvers may ask for it.
 */

import type { StageRecord } from '../model/deployment.ts';
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError } from '../model/errors.ts';
import { type Actor, environmentApprovers, listsActor } from '../pipeline/approvals.ts';
import type { DeploymentReader, EnvironmentVersions, NewDeployments } from '../ports.ts';
import { assertServiceImage, ForeignImageError } from './image-policy.ts';
import { checkEnvironments, checkRequestId, findService, type ManualOutcome, triggerOf } from './manual-deploy.ts';
import { buildEnvironment, buildPlan, type PlanEnvironment } from './plan.ts';
import { type StartDeps, startPlan } from './start-deployment.ts';

export interface RollbackRequest {
  service: string;
  environment: string;
  /** A version that succeeded on this environment before; default: the newest other than the current one. */
  to?: string;
  requestId?: string;
  actor: Actor;
}

export interface RollbackTarget {
  version: string;
  from?: string;
  /** The stage that proved this version good there. */
  proof: StageRecord;
}

/** Versions that passed their bake on the environment, newest first, each once. */
export async function knownGoodVersions(deps: { store: DeploymentReader }, service: string, environment: string) {
  const stages = await deps.store.listStages({ service, environment, limit: 200 });
  const seen = new Set<string>();
  return stages.filter((s) => {
    if (s.state !== 'SUCCEEDED' || s.rehearsal || seen.has(s.version)) return false;
    seen.add(s.version);
    return true;
  });
}

export async function chooseRollbackTarget(
  deps: { store: DeploymentReader & EnvironmentVersions },
  req: Pick<RollbackRequest, 'service' | 'environment' | 'to'>,
): Promise<RollbackTarget> {
  const current = (await deps.store.getEnvironmentState(req.service, req.environment))?.current?.version;
  const good = await knownGoodVersions(deps, req.service, req.environment);
  const list = good.map((s) => s.version).join(', ') || 'none yet';
  if (req.to !== undefined) {
    if (req.to === current) throw new ConflictError(`${req.service} ${req.to} is already what runs on ${req.environment}`);
    const proof = good.find((s) => s.version === req.to);
    if (!proof) {
      throw new InvalidInputError(
        `${req.service} ${req.to} never passed its bake on ${req.environment}, so it cannot be rolled back to (versions that did: ${list})`,
      );
    }
    return { version: proof.version, ...(current ? { from: current } : {}), proof };
  }
  const proof = good.find((s) => s.version !== current);
  if (!proof) {
    throw new ConflictError(
      `no earlier good version of ${req.service} on ${req.environment} to roll back to (running: ${current ?? 'nothing'}; good versions: ${list})`,
    );
  }
  return { version: proof.version, ...(current ? { from: current } : {}), proof };
}

/** A rollback reads which versions passed their bake and what runs now, then starts a deployment. */
export interface RollbackDeps extends StartDeps {
  store: NewDeployments & DeploymentReader & EnvironmentVersions;
}

export async function startRollback(
  deps: RollbackDeps,
  req: RollbackRequest,
): Promise<ManualOutcome & { target: RollbackTarget }> {
  const service = findService(deps, req.service);
  checkEnvironments(service, [req.environment]);
  if (req.actor.source !== 'local') {
    const approvers = environmentApprovers(deps.config, service.name, req.environment);
    if (approvers && !approvers.some((a) => listsActor(a, req.actor))) {
      throw new ForbiddenError(
        `${req.actor.name ?? req.actor.id} is not an approver of ${service.name} on ${req.environment}, so may not roll it back`,
      );
    }
  }
  const requestId = checkRequestId(req.requestId);
  const target = await chooseRollbackTarget(deps, req);
  const proven = await deps.store.getDeployment(target.proof.deploymentId);
  if (!proven) throw new NotFoundError(`deployment ${target.proof.deploymentId} of ${service.name} ${target.version} is gone`);
  // The history names the image; it may have been imported or edited. Only the service's own
  // releases go back out, and nothing is started otherwise.
  try {
    assertServiceImage(service, proven.image);
  } catch (error) {
    throw new ForeignImageError(
      `cannot roll ${service.name} on ${req.environment} back to ${target.version}: deployment ${proven.deploymentId} recorded ${(error as Error).message}`,
    );
  }
  const plan = buildPlan(service, proven.image, `rollback:${requestId}`);
  // checkEnvironments (above) proved the service has it, and a plan has every environment of its service.
  const env = plan.environments.find((e) => e.name === req.environment) as PlanEnvironment;
  // No approval wait (see above), and the rollback buildspec with COCONUT_ACTION=rollback.
  // No signature gate either: the digest already ran here, and a rollback is never held.
  // All at once: a rollback returns the whole environment to a proven version, without steps.
  // No freeze either: a rollback is never held by a freeze window.
  const { approval: _gate, verify: _signed, rollout: _steps, freeze: _frozen, ...rest } = env;
  const rollbackEnv = {
    ...rest,
    lockSeconds: rest.lockSeconds - (env.approval?.timeoutSeconds ?? 0),
    buildAction: 'rollback' as const,
    buildEnv: buildEnvironment(service, env.name, plan.deploymentId, proven.image, 'rollback'),
  };
  const rollbackPlan = { ...plan, environments: [rollbackEnv] };
  const now = deps.clock.now();
  const outcome = await startPlan(rollbackPlan, { trigger: triggerOf('rollback', requestId, req.actor, now) }, deps, 'rollback');
  return { ...outcome, plan: rollbackPlan, target };
}
