/**
 * The four DORA metrics of one service, from what the store already records, for its
 * production environment (the last in promotion order):
 * - deployment frequency: deployments that succeeded in production, per day;
 * - lead time for changes: from the first time a version was announced (the push or tag event,
 *   or the first manual request for it) to its success in production;
 * - change failure rate: production changes that failed after going live (rolled back, rollback
 *   failed, or failed with the new version running) over all production changes that went live;
 * - time to restore: from the bad version going live to the service running a good version again
 *   (the automatic rollback finishing, or the next success there).
 * Rollback executions are restorations, not changes: they count only towards time to restore.
 * Rehearsed deploys (nothing ran) count nowhere; a deploy whose scan alone was rehearsed counts.
 */
import { type DeploymentView, rehearsedTarget, type StageRecord } from '../model/deployment.ts';

export interface DoraInput {
  service: string;
  production: string;
  /** Deployments of the service, any order; older than the window ones still help find the first announcement. */
  deployments: DeploymentView[];
  now: Date;
  days: number;
}

export interface LeadTimeSample {
  deploymentId: string;
  version: string;
  /** When production succeeded. */
  at: string;
  seconds: number;
}

export interface Incident {
  deploymentId: string;
  version: string;
  state: StageRecord['state'];
  alarm?: string;
  reason?: string;
  /** When the bad version went live. */
  startedAt: string;
  /** Absent while production has not run a good version since. */
  restoredAt?: string;
  seconds?: number;
}

export interface DoraMetrics {
  service: string;
  environment: string;
  window: { from: string; to: string; days: number };
  deploymentFrequency: { total: number; perDay: number; perWeek: number; daily: { date: string; count: number }[] };
  leadTime: { medianSeconds?: number; samples: LeadTimeSample[] };
  changeFailureRate: {
    changes: number;
    failures: number;
    rate?: number;
    weekly: { week: string; changes: number; failures: number }[];
  };
  timeToRestore: { medianSeconds?: number; incidents: Incident[] };
}

const DAY = 86_400_000;

export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** A production change that went live and then went wrong. */
export function isFailedChange(stage: StageRecord): boolean {
  if (rehearsedTarget(stage.rehearsal)) return false;
  if (stage.state === 'ROLLED_BACK' || stage.state === 'ROLLBACK_FAILED') return true;
  return stage.state === 'FAILED' && Boolean(stage.deployedAt || stage.alarm);
}

const ended = (s: StageRecord) => s.finishedAt ?? s.updatedAt;
const dayOf = (iso: string) => iso.slice(0, 10);

/** Monday of the ISO week, as a date. */
function weekOf(iso: string): string {
  const d = new Date(`${dayOf(iso)}T00:00:00Z`);
  const monday = new Date(d.getTime() - ((d.getUTCDay() + 6) % 7) * DAY);
  return monday.toISOString().slice(0, 10);
}

export function computeDora(input: DoraInput): DoraMetrics {
  // The window is whole UTC days: today and the `days - 1` before it.
  const to = input.now;
  const from = new Date(Date.parse(`${dayOf(to.toISOString())}T00:00:00Z`) - (input.days - 1) * DAY);
  const inWindow = (iso: string) => iso >= from.toISOString() && iso <= to.toISOString();

  // First announcement of each version: the earliest trigger of any deployment of it.
  const announced = new Map<string, string>();
  for (const d of input.deployments) {
    if (d.kind === 'rollback') continue;
    const at = d.trigger?.at ?? d.createdAt;
    const known = announced.get(d.version);
    if (!known || at < known) announced.set(d.version, at);
  }

  const prod = input.deployments
    .map((d) => ({ deployment: d, stage: d.stages.find((s) => s.environment === input.production) }))
    .filter(
      (x): x is { deployment: DeploymentView; stage: StageRecord } =>
        x.stage !== undefined && !rehearsedTarget(x.stage.rehearsal),
    )
    .sort((a, b) => ended(a.stage).localeCompare(ended(b.stage)));

  const changes = prod.filter(({ deployment }) => deployment.kind !== 'rollback');
  const successes = changes.filter(({ stage }) => stage.state === 'SUCCEEDED' && inWindow(ended(stage)));
  const failures = changes.filter(({ stage }) => isFailedChange(stage) && inWindow(ended(stage)));

  const daily = Array.from({ length: input.days }, (_, i) => ({
    date: dayOf(new Date(from.getTime() + i * DAY).toISOString()),
    count: 0,
  }));
  for (const { stage } of successes) {
    const entry = daily.find((d) => d.date === dayOf(ended(stage)));
    if (entry) entry.count++;
  }

  const samples: LeadTimeSample[] = successes.map(({ deployment, stage }) => {
    const start = announced.get(deployment.version) ?? deployment.createdAt;
    return {
      deploymentId: deployment.deploymentId,
      version: deployment.version,
      at: ended(stage),
      seconds: Math.max(0, (Date.parse(ended(stage)) - Date.parse(start)) / 1000),
    };
  });

  const weeks = new Map<string, { week: string; changes: number; failures: number }>();
  for (const { stage } of [...successes, ...failures]) {
    const week = weekOf(ended(stage));
    const entry = weeks.get(week) ?? { week, changes: 0, failures: 0 };
    entry.changes++;
    if (stage.state !== 'SUCCEEDED') entry.failures++;
    weeks.set(week, entry);
  }

  const incidents: Incident[] = failures.map(({ deployment, stage }) => {
    const startedAt = stage.deployedAt ?? stage.startedAt ?? stage.createdAt;
    let restoredAt: string | undefined;
    if (stage.state === 'ROLLED_BACK') restoredAt = ended(stage);
    else {
      // Production is good again at the next success there, a change or a rollback.
      restoredAt = prod.find((p) => p.stage.state === 'SUCCEEDED' && ended(p.stage) > ended(stage))?.stage.finishedAt;
    }
    return {
      deploymentId: deployment.deploymentId,
      version: deployment.version,
      state: stage.state,
      ...(stage.alarm ? { alarm: stage.alarm } : {}),
      ...(stage.reason ? { reason: stage.reason } : {}),
      startedAt,
      ...(restoredAt ? { restoredAt, seconds: Math.max(0, (Date.parse(restoredAt) - Date.parse(startedAt)) / 1000) } : {}),
    };
  });

  const total = successes.length;
  const changeCount = successes.length + failures.length;
  return {
    service: input.service,
    environment: input.production,
    window: { from: from.toISOString(), to: to.toISOString(), days: input.days },
    deploymentFrequency: {
      total,
      perDay: total / input.days,
      perWeek: (total / input.days) * 7,
      daily,
    },
    leadTime: { ...optional('medianSeconds', median(samples.map((s) => s.seconds))), samples },
    changeFailureRate: {
      changes: changeCount,
      failures: failures.length,
      ...optional('rate', changeCount ? failures.length / changeCount : undefined),
      weekly: [...weeks.values()].sort((a, b) => a.week.localeCompare(b.week)),
    },
    timeToRestore: {
      ...optional('medianSeconds', median(incidents.flatMap((i) => (i.seconds !== undefined ? [i.seconds] : [])))),
      incidents,
    },
  };
}

function optional<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}
