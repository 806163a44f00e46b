/** What runs where: per service and environment, the current version and the latest deployment. */
import type { CoconutConfig } from './config/schema.ts';
import type { StageRecord, VersionRef } from './deployment.ts';
import type { Store } from './ports.ts';

export interface EnvironmentStatus {
  name: string;
  current?: VersionRef;
  lastKnownGood?: VersionRef;
  /** The most recent stage that ran on this environment (or a queued one when none ran). */
  latest?: StageRecord;
  /** A rollback failed here and nobody has deployed since: someone must look. */
  needsAttention: boolean;
}

export interface ServiceStatus {
  service: string;
  targetKind: string;
  environments: EnvironmentStatus[];
}

export async function serviceStatus(config: CoconutConfig, store: Store): Promise<ServiceStatus[]> {
  const states = new Map((await store.listEnvironmentStates()).map((s) => [`${s.service}#${s.environment}`, s]));
  return Promise.all(
    config.services.map(async (service) => ({
      service: service.name,
      targetKind: service.target.kind,
      environments: await Promise.all(
        service.environments.map(async (env) => {
          const state = states.get(`${service.name}#${env.name}`);
          // A PENDING stage may never run (an earlier environment failed): prefer the latest that did.
          const recent = await store.listStages({ service: service.name, environment: env.name, limit: 10 });
          const latest = recent.find((s) => s.state !== 'PENDING') ?? recent[0];
          return {
            name: env.name,
            ...(state?.current ? { current: state.current } : {}),
            ...(state?.lastKnownGood ? { lastKnownGood: state.lastKnownGood } : {}),
            ...(latest ? { latest } : {}),
            needsAttention: latest?.state === 'ROLLBACK_FAILED',
          };
        }),
      ),
    })),
  );
}
