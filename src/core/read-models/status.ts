/** What runs where: per service and environment, the current version and the latest deployment. */
import type { CoconutConfig } from '../config/schema.ts';
import type { StageRecord, VersionRef } from '../model/deployment.ts';
import { type FreezeStatus, freezeStatus } from '../pipeline/freeze.ts';
import type { AlarmStatus, Alarms, ApprovalRecord, DeploymentReader, EnvironmentVersions, PinRecord, Pins } from '../ports.ts';
import { freezeWindowsOf } from '../triggers/plan.ts';

/** Health from the environment's alarms: the worst of them; NONE when it watches none. */
export interface Health {
  state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA' | 'UNKNOWN' | 'NONE';
  alarms: AlarmStatus[];
}

const WORST_FIRST: Health['state'][] = ['ALARM', 'UNKNOWN', 'INSUFFICIENT_DATA', 'OK'];

export function healthOf(alarms: AlarmStatus[]): Health {
  if (alarms.length === 0) return { state: 'NONE', alarms };
  const state = WORST_FIRST.find((s) => alarms.some((a) => a.state === s)) ?? 'OK';
  return { state, alarms };
}

export interface EnvironmentStatus {
  name: string;
  current?: VersionRef;
  lastKnownGood?: VersionRef;
  /** The most recent stage that ran on this environment (or a queued one when none ran). */
  latest?: StageRecord;
  /** A rollback failed here and nobody has deployed since: someone must look. */
  needsAttention: boolean;
  /** Present when the caller passed the Alarms port. */
  health?: Health;
  /** Open or closed by its freeze windows (its own and the whole config's), and the next change; absent without windows. */
  freeze?: FreezeStatus;
  /** Pinned (coconut pin): held at a version; automatic deployments wait (pins.ts). */
  pin?: PublicPin;
}

export interface ServiceStatus {
  service: string;
  targetKind: string;
  environments: EnvironmentStatus[];
}

export async function serviceStatus(
  config: CoconutConfig,
  store: DeploymentReader & EnvironmentVersions & Pick<Pins, 'listPins'>,
  alarms?: Alarms,
  now: Date = new Date(),
): Promise<ServiceStatus[]> {
  const states = new Map((await store.listEnvironmentStates()).map((s) => [`${s.service}#${s.environment}`, s]));
  const pins = new Map((await store.listPins()).map((p) => [`${p.service}#${p.environment}`, p]));
  const alarmStates = alarms ? await alarmsByName(config, alarms) : undefined;
  return Promise.all(
    config.services.map(async (service) => ({
      service: service.name,
      targetKind: service.target.kind,
      environments: await Promise.all(
        service.environments.map(async (env) => {
          const state = states.get(`${service.name}#${env.name}`);
          const pin = pins.get(`${service.name}#${env.name}`);
          // A PENDING stage may never run and a SKIPPED one never ran (an earlier environment
          // failed): prefer the latest that did run, so a waiting approval is not hidden by a skip.
          const recent = await store.listStages({ service: service.name, environment: env.name, limit: 10 });
          const latest =
            recent.find((s) => s.state !== 'PENDING' && s.state !== 'SKIPPED') ??
            recent.find((s) => s.state !== 'PENDING') ??
            recent[0];
          return {
            name: env.name,
            ...(state?.current ? { current: state.current } : {}),
            ...(state?.lastKnownGood ? { lastKnownGood: state.lastKnownGood } : {}),
            ...(latest ? { latest } : {}),
            needsAttention: latest?.state === 'ROLLBACK_FAILED',
            ...freezeOf(freezeWindowsOf(env, config.freeze), now),
            ...(pin ? { pin: publicPin(pin) } : {}),
            ...(alarmStates
              ? { health: healthOf(env.alarms.map((a) => alarmStates.get(a) ?? { name: a, state: 'UNKNOWN' as const })) }
              : {}),
          };
        }),
      ),
    })),
  );
}

function freezeOf(windows: ReturnType<typeof freezeWindowsOf>, now: Date): { freeze?: FreezeStatus } {
  return windows.length ? { freeze: freezeStatus(windows, now) } : {};
}

/** Every alarm of the config in one call; a failing Alarms port makes them UNKNOWN, never the page. */
async function alarmsByName(config: CoconutConfig, alarms: Alarms): Promise<Map<string, AlarmStatus>> {
  const names = [...new Set(config.services.flatMap((s) => s.environments.flatMap((e) => e.alarms)))];
  if (names.length === 0) return new Map();
  try {
    return new Map((await alarms.getStates(names)).map((a) => [a.name, a]));
  } catch (error) {
    // The message may name accounts or roles: it goes to the log of the caller, not to the page.
    const reason = `alarm states unavailable (${(error as Error).name})`;
    return new Map(names.map((name) => [name, { name, state: 'UNKNOWN' as const, reason }]));
  }
}

/**
 * An approval as the API shows it (status, approvals list, the approve/reject answer): the task
 * token that resumes the execution never leaves the server.
 */
export type PublicApproval = Omit<ApprovalRecord, 'taskToken'>;

export function publicApproval(approval: ApprovalRecord): PublicApproval {
  const { taskToken: _secret, ...rest } = approval;
  return rest;
}

/** A pin as the API shows it: who, when, why, and who waits at it; never the waiters' task tokens. */
export type PublicPin = Omit<PinRecord, 'waiters' | 'revision'> & {
  waiting: { deploymentId: string; version: string; since: string }[];
};

export function publicPin(pin: PinRecord): PublicPin {
  const { waiters, revision: _revision, ...rest } = pin;
  return {
    ...rest,
    waiting: Object.entries(waiters)
      .map(([deploymentId, w]) => ({ deploymentId, version: w.version, since: w.since }))
      .sort((a, b) => a.since.localeCompare(b.since)),
  };
}
