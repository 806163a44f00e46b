/**
 * A release arrived: plan it for every service it belongs to, write the record, then start
 * the execution. The record comes first so that no execution ever runs without one; the
 * execution name is the idempotency key, so a duplicate push starts nothing.
 */

import type { CoconutConfig, ServiceConfig } from '../config/schema.ts';
import type { DeploymentRecord } from '../model/deployment.ts';
import type { ReleaseEvent } from '../model/release.ts';
import type { Clock, ImageRegistry, Log, NewDeployments, Notifier, Orchestrator } from '../ports.ts';
import {
  buildPlan,
  type DeploymentPlan,
  deploymentRecord,
  explainNoMatch,
  gatedAtPins,
  imageOf,
  initialStages,
  matchServices,
} from './plan.ts';
import { withDigest } from './resolve-digest.ts';

export interface StartDeps {
  config: CoconutConfig;
  store: NewDeployments;
  orchestrator: Orchestrator;
  clock: Clock;
  log: Log;
  notifier?: Notifier;
  /** Resolves the digest of a release that carries none (Docker Hub, git tags) before planning. */
  registry?: ImageRegistry;
}

export type StartOutcome =
  | { status: 'started'; service: string; deploymentId: string; executionArn: string }
  | { status: 'duplicate'; service: string; deploymentId: string }
  | { status: 'skipped'; reason: string };

export interface ReleaseOutcome {
  outcomes: StartOutcome[];
  /** Present when the release matched no service at all. */
  ignored?: string;
}

const REGISTRY_PUSHES: ReadonlySet<string> = new Set(['ecr-push', 'ghcr-push', 'dockerhub-push']);

export async function startDeployments(release: ReleaseEvent, deps: StartDeps, salt = ''): Promise<ReleaseOutcome> {
  const matches = matchServices(deps.config, release);
  if (matches.length === 0) {
    const reason = explainNoMatch(deps.config, release);
    deps.log.info(`ignored push ${release.repository}:${release.tag}: ${reason}`, {
      repository: release.repository,
      tag: release.tag,
    });
    return { outcomes: [], ignored: reason };
  }
  const outcomes: (StartOutcome | ServiceConfig)[] = [];
  for (const match of matches) {
    if ('skipped' in match) {
      deps.log.info(`ignored push ${release.repository}:${release.tag}: ${match.skipped}`);
      outcomes.push({ status: 'skipped', reason: match.skipped });
      continue;
    }
    if (REGISTRY_PUSHES.has(release.trigger.kind) && match.service.source?.onTag === 'deploy') {
      // Its git tag already deployed this image: the push of the same image must not deploy it twice.
      const reason = `${match.service.name} releases on git tags of ${match.service.source.github} (source.onTag: deploy); registry pushes do not deploy it`;
      deps.log.info(`ignored push ${release.repository}:${release.tag}: ${reason}`);
      outcomes.push({ status: 'skipped', reason });
      continue;
    }
    outcomes.push(match.service);
  }
  const services = outcomes.filter((o): o is ServiceConfig => !('status' in o));
  if (services.length === 0) return { outcomes: outcomes as StartOutcome[] };
  // Once for the image, before anything starts: a failure here starts nothing.
  const image = await withDigest(imageOf(release), services, deps, `the ${release.trigger.kind} event carried no digest`);
  const started: StartOutcome[] = [];
  for (const o of outcomes)
    started.push('status' in o ? o : await startPlan(gatedAtPins(buildPlan(o, image, salt, deps.config.freeze)), release, deps));
  return { outcomes: started };
}

export async function startPlan(
  plan: DeploymentPlan,
  release: Pick<ReleaseEvent, 'trigger'>,
  deps: StartDeps,
  kind: DeploymentRecord['kind'] = 'deploy',
): Promise<Extract<StartOutcome, { deploymentId: string }>> {
  const now = deps.clock.now();
  const created = await deps.store.createDeployment(
    deploymentRecord(plan, release.trigger, kind, now),
    initialStages(plan, now, kind, release.trigger),
  );
  // Always try to start, even when the record existed: an earlier attempt may have written
  // the record and died before starting. The execution name makes this safe.
  const result = await deps.orchestrator.startExecution('deploy', plan.deploymentId, plan);
  const extra = { service: plan.service, version: plan.version, deploymentId: plan.deploymentId };
  if (!result.started) {
    deps.log.info(
      `duplicate push: ${plan.service} ${plan.version} is already deploying or deployed (${plan.deploymentId})`,
      extra,
    );
    return { status: 'duplicate', service: plan.service, deploymentId: plan.deploymentId };
  }
  deps.log.info(`started deployment of ${plan.service} ${plan.version}${created ? '' : ' (record existed)'}`, extra);
  return { status: 'started', service: plan.service, deploymentId: plan.deploymentId, executionArn: result.executionArn };
}
