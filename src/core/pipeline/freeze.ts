/**
 * Freeze windows: when an environment takes deployments. A window starts at each time its cron
 * schedule names (read in its time zone, DST included) and lasts its duration (elapsed time, as
 * Argo CD's sync windows do). `deny` windows close the environment while they are active;
 * when any `allow` window exists, the environment is open only inside one of them. A deny
 * window wins over an allow window that overlaps it. Rollbacks never come here (deploy.asl.json).
 *
 * Cron is parsed by croner (https://croner.56k.guru/usage/pattern/), in its "5-part" mode:
 * the classic minute hour day-of-month month day-of-week fields.
 */
import { Cron } from 'croner';

export interface FreezeWindow {
  /** Cron, five fields: minute hour day-of-month month day-of-week. */
  schedule: string;
  durationSeconds: number;
  /** IANA time zone the schedule is read in, e.g. Europe/Berlin. */
  timeZone: string;
  mode: 'deny' | 'allow';
  reason?: string | undefined;
}

export interface FreezeChange {
  /** When the environment opens (open: true) or closes (open: false), ISO 8601 UTC. */
  at: string;
  open: boolean;
  /** `at` as a person reads it: "2026-12-07 10:00 (Europe/Berlin)". */
  local: string;
  timeZone: string;
}

export interface FreezeStatus {
  open: boolean;
  /** Why: the window that closes it, or "no freeze window is active". */
  reason: string;
  /** The next change of open/closed within a year, when there is one. */
  next?: FreezeChange;
}

const CRON_OPTIONS = { mode: '5-part', paused: true } as const;
/** How far ahead the next change is looked for, and how many starts per window at most. */
const HORIZON_MS = 366 * 86400_000;
const MAX_STARTS = 2000;

/** What is wrong with a window's schedule or time zone (undefined when nothing is). */
export function freezeWindowProblem(window: Pick<FreezeWindow, 'schedule' | 'timeZone'>): string | undefined {
  try {
    new Intl.DateTimeFormat('en', { timeZone: window.timeZone });
  } catch {
    return `expected an IANA time zone like "Europe/Berlin" or "UTC", got ${JSON.stringify(window.timeZone)}`;
  }
  try {
    new Cron(window.schedule, { ...CRON_OPTIONS, timezone: window.timeZone });
  } catch (error) {
    return `expected a cron schedule of five fields (minute hour day-of-month month day-of-week), like "0 18 * * 5"; ${JSON.stringify(window.schedule)}: ${(error as Error).message}`;
  }
  return undefined;
}

/** A window named for people: `deny "0 18 * * 5" for 64h (Europe/Berlin)`. */
export function describeWindow(window: FreezeWindow): string {
  return `${window.mode} "${window.schedule}" for ${hours(window.durationSeconds)} (${window.timeZone})`;
}

function hours(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

function cronOf(window: FreezeWindow): Cron {
  return new Cron(window.schedule, { ...CRON_OPTIONS, timezone: window.timeZone });
}

/** The start of the occurrence of `window` active at `at`, if one is. */
function activeStart(window: FreezeWindow, at: Date): Date | undefined {
  const durationMs = window.durationSeconds * 1000;
  // An occurrence covers [start, start + duration). croner's nextRun is strictly after its
  // reference, so the first start after (at - duration) is active exactly when it is not after `at`.
  const first = cronOf(window).nextRun(new Date(at.getTime() - durationMs));
  return first && first.getTime() <= at.getTime() ? first : undefined;
}

function evaluate(windows: FreezeWindow[], at: Date): { open: boolean; window?: FreezeWindow; reason: string } {
  const deny = windows.find((w) => w.mode === 'deny' && activeStart(w, at));
  if (deny) return { open: false, window: deny, reason: deny.reason ?? `deny window ${describeWindow(deny)}` };
  const allows = windows.filter((w) => w.mode === 'allow');
  if (allows.length === 0) return { open: true, reason: 'no freeze window is active' };
  const allow = allows.find((w) => activeStart(w, at));
  if (allow) return { open: true, window: allow, reason: `inside allow window ${describeWindow(allow)}` };
  const first = allows[0] as FreezeWindow;
  return {
    open: false,
    window: first,
    reason: first.reason ?? `outside every allow window (${allows.map(describeWindow).join(', ')})`,
  };
}

/** Times after `at` (within the horizon) at which some window starts or ends, in order. */
function boundaries(windows: FreezeWindow[], at: Date): number[] {
  const now = at.getTime();
  const until = now + HORIZON_MS;
  const times = new Set<number>();
  for (const window of windows) {
    const durationMs = window.durationSeconds * 1000;
    const cron = cronOf(window);
    let start = cron.nextRun(new Date(now - durationMs));
    for (let i = 0; start && start.getTime() <= until && i < MAX_STARTS; i++) {
      const s = start.getTime();
      if (s > now) times.add(s);
      if (s + durationMs > now) times.add(s + durationMs);
      start = cron.nextRun(start);
    }
  }
  return [...times].sort((a, b) => a - b);
}

/** Whether an environment with these windows takes deployments at `at`, why, and when that changes. */
export function freezeStatus(windows: FreezeWindow[], at: Date): FreezeStatus {
  const current = evaluate(windows, at);
  const status: FreezeStatus = { open: current.open, reason: current.reason };
  for (const time of boundaries(windows, at)) {
    const then = evaluate(windows, new Date(time));
    if (then.open !== current.open) {
      // The time zone people care about: the window that closes it now, or the one that will.
      const timeZone = (current.open ? then.window : current.window)?.timeZone ?? 'UTC';
      status.next = { at: new Date(time).toISOString(), open: then.open, local: formatLocal(new Date(time), timeZone), timeZone };
      break;
    }
  }
  return status;
}

/** "2026-12-07 10:00 (Europe/Berlin)": wall-clock time in the zone, seconds when they are not zero. */
export function formatLocal(at: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  const seconds = parts.second === '00' ? '' : `:${parts.second}`;
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}${seconds} (${timeZone})`;
}

/** The line a frozen stage shows: "FROZEN until 2026-12-07 10:00 (Europe/Berlin): weekend". */
export function frozenMessage(status: FreezeStatus): string {
  return `FROZEN until ${status.next ? status.next.local : 'further notice (no opening within a year)'}: ${status.reason}`;
}

/** One line for status: "OPEN, closes 2026-12-04 18:00 (Europe/Berlin)" or "FROZEN until … (tz): reason". */
export function freezeSummary(status: FreezeStatus): string {
  if (!status.open) return frozenMessage(status);
  return status.next ? `OPEN, closes ${status.next.local}` : 'OPEN';
}
