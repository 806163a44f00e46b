/**
 * One deployment at a time per service and environment, with no polling.
 *
 * The lock is one record: an owner, and a queue of waiters served oldest first (by when their
 * execution started, about when the version was pushed), so versions deploy in push order.
 * A waiter is the AcquireLock task of deploy.asl.json waiting on its task token
 * (`lambda:invoke.waitForTaskToken`): while it waits, its execution makes no state transition
 * and writes no history event. Whoever frees the lock hands it to the oldest waiter in the same
 * write, then wakes that waiter with SendTaskSuccess on its token:
 *   - the holder's ReleaseLock / ReleaseLockAfterFailure;
 *   - the execution-ended repair, when the holder's execution stopped without releasing;
 *   - any request that finds the holder's lock expired; and, when nobody touches an expired
 *     lock, the waiter's own task timeout (deploy.asl.json, AcquireLock: TimeoutSecondsPath =
 *     the environment's lockSeconds, retried): a safety net that fires once per lock term, not
 *     a polling loop.
 * A waiter whose token no longer works (its execution ended, or its wait timed out and it is
 * about to ask again with a new token) is skipped: the lock goes to the next one. That reading
 * of a refused token relies on the wait's timeout (lockSeconds, at least 2 hours: plan.ts) being
 * far longer than one call of the step function (15 minutes at most), so that a call is never
 * still running when its own task has already timed out.
 *
 * Writes are optimistic (a version check). A writer that loses a race reads again and retries
 * after a jittered backoff, with no small attempt cap: every conflict means that another writer
 * got through, so all of them do. Only a time budget far above any real contention ends it,
 * with an error the state machine retries (Coconut.Retryable).
 */
import { TaskTokenExpiredError } from '../model/errors.ts';
import type { Clock, LockRecord, LockTable, Log, Orchestrator } from '../ports.ts';

export interface LockDeps {
  store: LockTable;
  orchestrator: Pick<Orchestrator, 'sendTaskSuccess'>;
  clock: Clock;
  log: Log;
}

export function lockKey(service: string, environment: string): string {
  return `${service}#${environment}`;
}

export interface LockRequest {
  key: string;
  deploymentId: string;
  /** When the deployment's execution started: the queue order. */
  createdAt: string;
  holdSeconds: number;
  /** The AcquireLock task's token: settled at once if the lock is free, else when it is handed over. */
  token: string;
}

export type LockRequestResult = { acquired: true } | { acquired: false; holder: string | undefined; position: number };

/** The output a woken AcquireLock task gets (the state machine discards it). */
export interface LockGranted {
  acquired: true;
  key: string;
}

interface Wake {
  deploymentId: string;
  token: string;
}

interface Decision<T> {
  result: T;
  /** The record to write (its version is set on write). */
  write?: LockRecord;
  /** Who must be woken once the write went through. */
  wake?: Wake | undefined;
  /** A wake-up to send again, whether or not it was delivered before. */
  resend?: Wake;
}

/** How long one read-decide-write may keep losing races before it gives up (and is retried). */
const CONTENTION_BUDGET_MS = 60_000;
const BACKOFF_BASE_MS = 10;
const BACKOFF_CAP_MS = 1_000;

/**
 * Takes the lock if it is free (or its holder's term expired) and no older deployment waits;
 * otherwise queues the request with its token. Either way the token is settled by someone:
 * by this call at once, or by whoever hands the lock over later.
 */
export async function requestLock(deps: LockDeps, req: LockRequest): Promise<LockRequestResult> {
  const decision = await change(deps, req.key, (lock, now): Decision<LockRequestResult> => {
    delete lock.waiters[req.deploymentId];
    if (lock.owner === req.deploymentId) {
      // A retried step, or a waiter asking again after its wait timed out: it already holds it.
      lock.ownerToken = req.token;
      lock.expiresAt = now + req.holdSeconds;
      return { result: { acquired: true }, write: lock, wake: { deploymentId: req.deploymentId, token: req.token } };
    }
    lock.waiters[req.deploymentId] = {
      createdAt: req.createdAt,
      token: req.token,
      holdSeconds: req.holdSeconds,
      since: now,
    };
    const wake = handOver(lock, now, req.deploymentId);
    if (wake?.deploymentId === req.deploymentId) return { result: { acquired: true }, write: lock, wake };
    const me = lock.waiters[req.deploymentId] as LockRecord['waiters'][string];
    const ahead = Object.entries(lock.waiters).filter(
      ([id, w]) => id !== req.deploymentId && isBefore(w.createdAt, id, me.createdAt, req.deploymentId),
    ).length;
    return { result: { acquired: false, holder: lock.owner, position: ahead + 1 }, write: lock, wake };
  });
  await wakeUp(deps, req.key, decision.wake);
  return decision.result;
}

/**
 * The deployment is done with the lock: if it holds it, the oldest live waiter gets it and is
 * woken; if it was still waiting, it leaves the queue. True when it held the lock.
 */
export async function releaseLock(deps: LockDeps, key: string, deploymentId: string): Promise<boolean> {
  const decision = await change(deps, key, (lock, now): Decision<boolean> => {
    if (lock.owner === deploymentId) {
      clearOwner(lock);
      return { result: true, write: lock, wake: handOver(lock, now, deploymentId) };
    }
    if (deploymentId in lock.waiters) {
      delete lock.waiters[deploymentId];
      // A lock whose holder's term expired may have been waiting for anyone to notice.
      return { result: false, write: lock, wake: handOver(lock, now, deploymentId) };
    }
    if (lock.grantedBy === deploymentId && lock.owner && lock.ownerToken) {
      // This release handed the lock over already and runs again (a retried step after a failed
      // wake-up, or the repair after a failed execution): send the wake-up again.
      return { result: false, resend: { deploymentId: lock.owner, token: lock.ownerToken } };
    }
    return { result: false };
  });
  if (decision.resend) {
    await send(deps, key, decision.resend).catch((error) => {
      // Most likely it was woken the first time: a settled token answers like a dead one.
      if (!(error instanceof TaskTokenExpiredError)) throw error;
    });
  }
  await wakeUp(deps, key, decision.wake);
  return decision.result;
}

/** Wakes the new owner; if its token is dead, takes the lock back from it and tries the next waiter. */
async function wakeUp(deps: LockDeps, key: string, first: Wake | undefined): Promise<void> {
  let next = first;
  while (next) {
    try {
      await send(deps, key, next);
      return;
    } catch (error) {
      if (!(error instanceof TaskTokenExpiredError)) throw error;
      const gone: Wake = next;
      deps.log.info(`${gone.deploymentId} no longer waits for lock ${key} (${error.message}): skipped`, {
        deploymentId: gone.deploymentId,
      });
      ({ wake: next } = await change(deps, key, (lock, now): Decision<undefined> => {
        // It asked again meanwhile (a new token), or the lock moved on: nothing to take back.
        if (lock.owner !== gone.deploymentId || lock.ownerToken !== gone.token) return { result: undefined };
        clearOwner(lock);
        return { result: undefined, write: lock, wake: handOver(lock, now, gone.deploymentId) };
      }));
    }
  }
}

async function send(deps: LockDeps, key: string, wake: Wake): Promise<void> {
  const output: LockGranted = { acquired: true, key };
  await deps.orchestrator.sendTaskSuccess(wake.token, output);
}

/**
 * If nobody holds the lock (or the holder's term expired), the oldest waiter gets it. Returns
 * whom to wake. Waiters without a token (records from before waiting was event-driven) are dropped.
 */
function handOver(lock: LockRecord, now: number, by: string): Wake | undefined {
  if (lock.owner && (lock.expiresAt ?? 0) >= now) return undefined;
  clearOwner(lock);
  let oldest: [string, LockRecord['waiters'][string]] | undefined;
  for (const [id, w] of Object.entries(lock.waiters)) {
    if (!w.token) {
      delete lock.waiters[id];
      continue;
    }
    if (!oldest || isBefore(w.createdAt, id, oldest[1].createdAt, oldest[0])) oldest = [id, w];
  }
  if (!oldest) return undefined;
  const [id, waiter] = oldest;
  delete lock.waiters[id];
  lock.owner = id;
  lock.ownerToken = waiter.token;
  lock.expiresAt = now + waiter.holdSeconds;
  lock.grantedBy = by;
  return { deploymentId: id, token: waiter.token };
}

function clearOwner(lock: LockRecord): void {
  delete lock.owner;
  delete lock.expiresAt;
  delete lock.ownerToken;
  delete lock.grantedBy;
}

function isBefore(aCreated: string, aId: string, bCreated: string, bId: string): boolean {
  return aCreated < bCreated || (aCreated === bCreated && aId < bId);
}

/** Read, decide, write if the version is unchanged; on a lost race, back off (jittered) and decide again. */
async function change<T>(
  deps: LockDeps,
  key: string,
  decide: (lock: LockRecord, nowSeconds: number) => Decision<T>,
): Promise<Decision<T>> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    const stored = (await deps.store.getLock(key)) ?? { key, waiters: {}, version: 0 };
    const decision = decide(structuredClone(stored), Math.floor(deps.clock.now().getTime() / 1000));
    if (!decision.write) return decision;
    if (await deps.store.putLock({ ...decision.write, key, version: stored.version + 1 })) return decision;
    if (Date.now() - started > CONTENTION_BUDGET_MS) {
      throw Object.assign(
        new Error(`lock ${key}: still losing write races after ${attempt + 1} attempts in ${CONTENTION_BUDGET_MS / 1000} s`),
        { name: 'Coconut.Retryable' },
      );
    }
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 10));
    await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
  }
}
