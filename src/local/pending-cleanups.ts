/**
 * The cleanup after a deploy execution ends (execution-ended.ts: no stage left in progress, no
 * lock left held) needs the store. When the store is down at that moment, the cleanup is not
 * dropped: it is written down first (<dataDir>/pending-cleanups.json, mode 0600) and retried
 * with backoff until it succeeds, and whatever is still written down when the runtime starts
 * is retried then. Without this, an execution that ended during a store outage left its stage
 * BAKING and its environment locked until the lock expired.
 *
 * Written before the first attempt, removed after success: a process killed in between retries
 * at the next start. Repairing twice is harmless (it only touches what is not terminal, and
 * releases only a lock the deployment still holds).
 */
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TERMINAL_STATES } from '../core/model/deployment.ts';
import type { ExecutionEnd } from '../core/pipeline/execution-ended.ts';
import { lockKey } from '../core/pipeline/locks.ts';
import type { DeploymentReader, LockTable, Log } from '../core/ports.ts';
import type { ExecutionRecord } from './engine.ts';

export const PENDING_CLEANUPS_FILE = 'pending-cleanups.json';

export interface PendingCleanupsOptions {
  dataDir: string;
  repair: (end: ExecutionEnd) => Promise<unknown>;
  log: Log;
  /** First retry delay, doubled after each failure up to maxDelayMs. */
  firstDelayMs?: number;
  maxDelayMs?: number;
}

interface Entry {
  end: ExecutionEnd;
  attempts: number;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
}

/**
 * Events (the runtime's own notifications, for the dashboard log and tests):
 * `deferred` (deploymentId, error message): an attempt failed, a retry is scheduled;
 * `repaired` (deploymentId): the cleanup is done and forgotten.
 */
export class PendingCleanups extends EventEmitter {
  private readonly opts: Required<Omit<PendingCleanupsOptions, 'dataDir'>> & { file: string };
  private readonly entries = new Map<string, Entry>();
  private stopped = false;

  constructor(opts: PendingCleanupsOptions) {
    super();
    this.opts = {
      repair: opts.repair,
      log: opts.log,
      firstDelayMs: opts.firstDelayMs ?? 1000,
      maxDelayMs: opts.maxDelayMs ?? 60_000,
      file: path.join(opts.dataDir, PENDING_CLEANUPS_FILE),
    };
    for (const end of this.read()) this.entries.set(end.deploymentId, { end, attempts: 0 });
  }

  /** Cleanups written down by an earlier run, not yet done. */
  pending(): string[] {
    return [...this.entries.keys()];
  }

  /** The execution ended: write the cleanup down, then do it (now, and again until it works). */
  async run(end: ExecutionEnd): Promise<void> {
    const existing = this.entries.get(end.deploymentId);
    if (existing) {
      // Already written down (and maybe being tried): try now rather than twice at once.
      if (existing.timer) clearTimeout(existing.timer);
      return this.attempt(end.deploymentId);
    }
    this.entries.set(end.deploymentId, { end, attempts: 0 });
    this.write();
    await this.attempt(end.deploymentId);
  }

  /** At start-up: retry everything an earlier run left written down. */
  resume(): void {
    for (const id of this.entries.keys()) void this.attempt(id);
  }

  /** Resolves once no cleanup of this deployment is pending (at once if none is). */
  settled(deploymentId: string): Promise<void> {
    if (!this.entries.has(deploymentId)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (id: string) => {
        if (id !== deploymentId) return;
        this.off('repaired', done);
        resolve();
      };
      this.on('repaired', done);
    });
  }

  /** Stops retrying (shutdown); what is pending stays written down for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const entry of this.entries.values()) if (entry.timer) clearTimeout(entry.timer);
    await Promise.allSettled([...this.entries.values()].map((e) => e.running));
  }

  private attempt(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry || this.stopped) return Promise.resolve();
    if (entry.running) return entry.running;
    entry.timer = undefined;
    entry.running = (async () => {
      try {
        await this.opts.repair(entry.end);
        this.entries.delete(id);
        this.write();
        if (entry.attempts > 0) this.opts.log.info(`cleanup after ${id} done after ${entry.attempts + 1} attempts`);
        this.emit('repaired', id);
      } catch (error) {
        entry.attempts += 1;
        const delay = Math.min(this.opts.firstDelayMs * 2 ** (entry.attempts - 1), this.opts.maxDelayMs);
        const message = error instanceof Error ? error.message : String(error);
        this.opts.log.warn(
          `cleanup after ${id} failed (attempt ${entry.attempts}: ${message}); its stages and lock are repaired when the store answers, next try in ${Math.round(delay / 1000)} s`,
          { deploymentId: id },
        );
        if (!this.stopped) {
          entry.timer = setTimeout(() => void this.attempt(id), delay);
          entry.timer.unref();
        }
        this.emit('deferred', id, message);
      } finally {
        entry.running = undefined;
      }
    })();
    return entry.running;
  }

  private read(): ExecutionEnd[] {
    if (!existsSync(this.opts.file)) return [];
    try {
      const parsed = JSON.parse(readFileSync(this.opts.file, 'utf8')) as { pending?: unknown };
      const list = Array.isArray(parsed.pending) ? parsed.pending : [];
      return list.filter(
        (e): e is ExecutionEnd =>
          typeof e === 'object' &&
          e !== null &&
          typeof (e as ExecutionEnd).deploymentId === 'string' &&
          typeof (e as ExecutionEnd).status === 'string',
      );
    } catch (error) {
      // Unreadable: say so and keep the file for a person to look at; start with nothing pending.
      this.opts.log.error(`cannot read ${this.opts.file} (${(error as Error).message}); pending cleanups in it are not retried`);
      return [];
    }
  }

  /** Whole file replaced at once (write, then rename), readable by its owner only. */
  private write(): void {
    const tmp = `${this.opts.file}.tmp`;
    const pending = [...this.entries.values()].map((e) => e.end);
    writeFileSync(tmp, `${JSON.stringify({ version: 1, pending }, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, this.opts.file);
  }
}

/**
 * At start-up, besides what is written down: finished deploy executions whose deployment still
 * has a stage in progress or still holds a lock (ended before cleanups were written down, or
 * with the file lost). Executions that stopped before `since` are not looked at, so that a long
 * history costs nothing at every start; their locks have long expired.
 */
export async function findLooseEnds(
  executions: ExecutionRecord[],
  store: DeploymentReader & LockTable,
  since: Date,
): Promise<ExecutionEnd[]> {
  const loose: ExecutionEnd[] = [];
  for (const execution of executions) {
    if (execution.machine !== 'deploy' || execution.status === 'RUNNING' || execution.status === 'SUCCEEDED') continue;
    if (!execution.stoppedAt || execution.stoppedAt < since.toISOString()) continue;
    const deployment = await store.getDeployment(execution.name);
    if (!deployment) continue;
    let open = deployment.stages.some((stage) => !TERMINAL_STATES.has(stage.state));
    for (const stage of open ? [] : deployment.stages) {
      if ((await store.getLock(lockKey(stage.service, stage.environment)))?.owner === execution.name) open = true;
      if (open) break;
    }
    if (open) {
      loose.push({
        deploymentId: execution.name,
        status: execution.status,
        ...(execution.error ? { error: execution.error } : {}),
        ...(execution.cause ? { cause: execution.cause } : {}),
      });
    }
  }
  return loose;
}
