/**
 * One deployment at a time per service and environment. The lock is a record with an owner
 * and a queue of waiters served oldest deployment first, so versions deploy in the order they
 * were pushed. Writes are optimistic (version check) and so safe under concurrent pollers.
 * Waiters that stop polling (their execution died) fall out of the queue; an owner that never
 * releases loses the lock when it expires.
 */
import type { LockRecord, Store } from './ports.ts';

/** A waiter that has not polled for this long is gone (the state machine polls every few seconds). */
export const WAITER_STALE_SECONDS = 60;
/** A waiter re-marks itself as present at most this often (well inside the stale window). */
const WAITER_REFRESH_SECONDS = 15;

export function lockKey(service: string, environment: string): string {
  return `${service}#${environment}`;
}

export interface AcquireRequest {
  key: string;
  deploymentId: string;
  /** When the deployment was created: the queue order. */
  createdAt: string;
  holdSeconds: number;
  nowSeconds: number;
}

export type AcquireResult = { acquired: true } | { acquired: false; holder: string | undefined; position: number };

const MAX_ATTEMPTS = 8;

export async function acquireLock(store: Store, req: AcquireRequest): Promise<AcquireResult> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const current = (await store.getLock(req.key)) ?? { key: req.key, waiters: {}, version: 0 };
    const decision = decide(current, req);
    if (decision.write === undefined) return decision.result;
    if (await store.putLock(decision.write)) return decision.result;
    // Someone else wrote in between: read again and decide again.
  }
  throw new Error(`lock ${req.key}: too much contention (${MAX_ATTEMPTS} conflicting writes in a row); the step will be retried`);
}

function decide(lock: LockRecord, req: AcquireRequest): { result: AcquireResult; write?: LockRecord } {
  const waiters = Object.fromEntries(
    Object.entries(lock.waiters).filter(
      ([id, w]) => id !== req.deploymentId && w.seenAt >= req.nowSeconds - WAITER_STALE_SECONDS,
    ),
  );
  const expiresAt = req.nowSeconds + req.holdSeconds;
  if (lock.owner === req.deploymentId) {
    // A retried step: we already hold it.
    return { result: { acquired: true }, write: { ...lock, waiters, expiresAt, version: lock.version + 1 } };
  }
  const ownerGone = !lock.owner || (lock.expiresAt ?? 0) < req.nowSeconds;
  const ahead = Object.entries(waiters).filter(([id, w]) => isBefore(w.createdAt, id, req.createdAt, req.deploymentId));
  if (ownerGone && ahead.length === 0) {
    return {
      result: { acquired: true },
      write: { key: lock.key, owner: req.deploymentId, expiresAt, waiters, version: lock.version + 1 },
    };
  }
  const result = { acquired: false as const, holder: ownerGone ? undefined : lock.owner, position: ahead.length + 1 };
  // Already queued and seen recently: nothing to write (polls are frequent; writes are not free).
  const queued = lock.waiters[req.deploymentId];
  if (queued && queued.seenAt >= req.nowSeconds - WAITER_REFRESH_SECONDS) return { result };
  waiters[req.deploymentId] = { createdAt: req.createdAt, seenAt: req.nowSeconds };
  return { result, write: { ...lock, waiters, version: lock.version + 1 } };
}

function isBefore(aCreated: string, aId: string, bCreated: string, bId: string): boolean {
  return aCreated < bCreated || (aCreated === bCreated && aId < bId);
}

/** Releases the lock if this deployment holds it; leaves it alone otherwise. */
export async function releaseLock(store: Store, key: string, deploymentId: string): Promise<boolean> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const lock = await store.getLock(key);
    if (!lock) return false;
    const waiting = deploymentId in lock.waiters;
    if (lock.owner !== deploymentId && !waiting) return false;
    const waiters = { ...lock.waiters };
    delete waiters[deploymentId];
    const next: LockRecord = { key, waiters, version: lock.version + 1 };
    if (lock.owner !== deploymentId) {
      next.owner = lock.owner;
      next.expiresAt = lock.expiresAt;
    }
    if (await store.putLock(next)) return lock.owner === deploymentId;
  }
  throw new Error(`lock ${key}: too much contention releasing it; the step will be retried`);
}
