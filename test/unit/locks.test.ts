/**
 * The environment lock's decisions (src/core/pipeline/locks.ts), each on its own, on the real Store adapter over
 * dynalite (the local runtime's DynamoDB, in process): who gets the lock, in which order, when a term has
 * expired, what a release or a retried release wakes, the waiters that are skipped or dropped, and the
 * contention budget. The flows end to end are test/integration/both-backends/lock-queue.test.ts (dynalite and moto) and
 * test/unit/asl-lock-wait.test.ts (the real engine); this file is fast enough for `npm run mutate`, and
 * each case was written against a mutant those left alive (reports/mutation/summary.md).
 *
 * The orchestrator records callbacks with Step Functions' rule: a task token is settled once, and
 * SendTaskSuccess on a settled, timed-out or unknown token fails with TaskTimedOut / InvalidToken
 * (AWS Step Functions API Reference, SendTaskSuccess, "Errors"), which the SFN adapter turns into
 * TaskTokenExpiredError (src/aws/sfn-orchestrator.ts).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DynamoStore } from '../../src/aws/dynamo/store.ts';
import { TaskTokenExpiredError } from '../../src/core/model/errors.ts';
import { type LockDeps, lockKey, releaseLock, requestLock } from '../../src/core/pipeline/locks.ts';
import type { LockRecord, Store } from '../../src/core/ports.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { memoryLog } from '../support/runtime.ts';
import { dynaliteStore } from '../support/stores.ts';

class Callbacks {
  readonly woken: string[] = [];
  readonly dead = new Set<string>();
  /** Run just before the answer for a token, as another writer would meanwhile. */
  readonly before = new Map<string, () => Promise<void>>();
  failWith?: Error;

  async sendTaskSuccess(token: string): Promise<void> {
    await this.before.get(token)?.();
    if (this.failWith) throw this.failWith;
    if (this.dead.has(token)) throw new TaskTokenExpiredError(`task ${token} no longer waits (TaskTimedOut)`);
    this.dead.add(token);
    this.woken.push(token);
  }
}

let store: DynamoStore;
let dynamo: LocalDynamo;
beforeAll(async () => ({ store, dynamo } = await dynaliteStore()), 60_000);
afterAll(() => dynamo?.stop());
afterEach(() => vi.restoreAllMocks());

let keys = 0;
function harness(over: Partial<Store> = {}) {
  const key = `svc-${++keys}#prod`;
  let now = 1_000_000;
  const callbacks = new Callbacks();
  const log = memoryLog();
  const lockStore = Object.assign(Object.create(store) as Store, over);
  const deps: LockDeps = { store: lockStore, orchestrator: callbacks, clock: { now: () => new Date(now * 1000) }, log };
  const ask = (id: string, createdAt: string, token = `t-${id}`, holdSeconds = 600) =>
    requestLock(deps, { key, deploymentId: id, createdAt, holdSeconds, token });
  const release = (id: string) => releaseLock(deps, key, id);
  const lock = async () => (await store.getLock(key)) as LockRecord;
  return { key, deps, callbacks, log, ask, release, lock, now: () => now, advance: (s: number) => (now += s) };
}

const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T00:00:01Z';
const T2 = '2026-01-01T00:00:02Z';

describe('Environment lock: decisions (dynalite)', () => {
  it('keys a lock by service and environment', () => {
    expect(lockKey('api', 'prod')).toBe('api#prod');
  });

  it('a free lock is taken at once: the owner, its token and its term are written', async () => {
    const h = harness();
    expect(await h.ask('a', T0, 't-a', 900)).toEqual({ acquired: true });
    expect(h.callbacks.woken).toEqual(['t-a']);
    const lock = await h.lock();
    expect(lock).toMatchObject({ owner: 'a', ownerToken: 't-a', expiresAt: h.now() + 900, waiters: {} });
    expect(lock.grantedBy).toBe('a');
  });

  it('the holder asking again (a retried step) keeps it, with the new token and a new term', async () => {
    const h = harness();
    await h.ask('a', T0, 't-a1', 600);
    h.advance(100);
    expect(await h.ask('a', T0, 't-a2', 300)).toEqual({ acquired: true });
    expect(h.callbacks.woken).toEqual(['t-a1', 't-a2']);
    expect(await h.lock()).toMatchObject({ owner: 'a', ownerToken: 't-a2', expiresAt: h.now() + 300, waiters: {} });
  });

  it('counts the place in the queue by push time, then by id when two were pushed together', async () => {
    const h = harness();
    await h.ask('a', T0);
    expect(await h.ask('d', T2)).toEqual({ acquired: false, holder: 'a', position: 1 });
    expect(await h.ask('c', T1)).toEqual({ acquired: false, holder: 'a', position: 1 });
    // Same push time as c, later id: behind c. Same time and earlier id: ahead of c.
    expect(await h.ask('cc', T1)).toEqual({ acquired: false, holder: 'a', position: 2 });
    expect(await h.ask('b', T1)).toEqual({ acquired: false, holder: 'a', position: 1 });
    // d asking again (its wait timed out) keeps one place in the queue, behind the three pushed before it.
    expect(await h.ask('d', T2, 't-d2')).toEqual({ acquired: false, holder: 'a', position: 4 });
    const lock = await h.lock();
    expect(Object.keys(lock.waiters).sort()).toEqual(['b', 'c', 'cc', 'd']);
    expect(lock.waiters.d).toEqual({ createdAt: T2, token: 't-d2', holdSeconds: 600, since: h.now() });
    expect(h.callbacks.woken).toEqual(['t-a']);
  });

  it('orders by push time before id: a later push with a smaller id stays behind', async () => {
    const h = harness();
    await h.ask('h', T0);
    await h.ask('z', T1);
    expect(await h.ask('b', T2)).toEqual({ acquired: false, holder: 'h', position: 2 });
    expect(await h.ask('z', T1, 't-z2')).toEqual({ acquired: false, holder: 'h', position: 1 });
    await h.release('h');
    expect(h.callbacks.woken).toEqual(['t-h', 't-z2']);
  });

  it('a release hands the lock to the oldest waiter, in the same write, and wakes it', async () => {
    const h = harness();
    await h.ask('a', T0);
    await h.ask('c', T2);
    await h.ask('b', T1, 't-b', 1200);
    expect(await h.release('a')).toBe(true);
    expect(h.callbacks.woken).toEqual(['t-a', 't-b']);
    expect(await h.lock()).toMatchObject({
      owner: 'b',
      ownerToken: 't-b',
      grantedBy: 'a',
      expiresAt: h.now() + 1200,
      waiters: { c: { createdAt: T2, token: 't-c' } },
    });
    expect(await h.release('b')).toBe(true);
    expect(await h.release('c')).toBe(true);
    expect(h.callbacks.woken).toEqual(['t-a', 't-b', 't-c']);
    const free = await h.lock();
    expect(free.owner).toBeUndefined();
    expect(free.ownerToken).toBeUndefined();
    expect(free.expiresAt).toBeUndefined();
    expect(free.grantedBy).toBeUndefined();
  });

  it('a waiter that gives up leaves the queue; a stranger releasing changes nothing', async () => {
    const h = harness();
    await h.ask('a', T0);
    await h.ask('b', T1);
    await h.ask('c', T2);
    expect(await h.release('b')).toBe(false);
    expect(Object.keys((await h.lock()).waiters)).toEqual(['c']);
    const before = await h.lock();
    expect(await h.release('zz')).toBe(false);
    expect(await h.lock()).toEqual(before);
    expect(h.callbacks.woken).toEqual(['t-a']);
  });

  it('holds to the last second of the term; after it, any request or leaving waiter hands it on', async () => {
    const h = harness();
    await h.ask('a', T0, 't-a', 600);
    await h.ask('b', T1);
    h.advance(600);
    // At expiresAt the holder still holds: a newcomer waits.
    expect(await h.ask('c', T2)).toEqual({ acquired: false, holder: 'a', position: 2 });
    h.advance(1);
    // One second later anyone's request hands the lock to the oldest waiter, not to the newcomer.
    expect(await h.ask('d', '2026-01-01T00:00:03Z')).toEqual({ acquired: false, holder: 'b', position: 2 });
    expect(h.callbacks.woken).toEqual(['t-a', 't-b']);
    expect((await h.lock()).grantedBy).toBe('d');

    const g = harness();
    await g.ask('a', T0, 't-a', 60);
    await g.ask('b', T1);
    await g.ask('c', T2);
    g.advance(61);
    // c leaving the queue is a write that notices the expired term too.
    expect(await g.release('c')).toBe(false);
    expect(g.callbacks.woken).toEqual(['t-a', 't-b']);
    expect(await g.lock()).toMatchObject({ owner: 'b', grantedBy: 'c' });
  });

  it('an expired holder with nobody waiting loses the lock to the next request', async () => {
    const h = harness();
    await h.ask('a', T0, 't-a', 60);
    h.advance(61);
    expect(await h.ask('b', T1)).toEqual({ acquired: true });
    expect(await h.lock()).toMatchObject({ owner: 'b', ownerToken: 't-b', grantedBy: 'b' });
  });

  it('skips a waiter whose token is refused, says so, and wakes the next one', async () => {
    const h = harness();
    await h.ask('a', T0);
    await h.ask('b', T1);
    await h.ask('c', T2);
    h.callbacks.dead.add('t-b');
    expect(await h.release('a')).toBe(true);
    expect(h.callbacks.woken).toEqual(['t-a', 't-c']);
    expect(await h.lock()).toMatchObject({ owner: 'c', ownerToken: 't-c', grantedBy: 'b', waiters: {} });
    expect(h.log.lines).toContainEqual({
      level: 'INFO',
      message: expect.stringMatching(
        /^b no longer waits for lock svc-\d+#prod \(task t-b no longer waits \(TaskTimedOut\)\): skipped$/,
      ),
    });
  });

  it('a refused token with nobody behind it leaves the lock free', async () => {
    const h = harness();
    await h.ask('a', T0);
    await h.ask('b', T1);
    h.callbacks.dead.add('t-b');
    await h.release('a');
    const lock = await h.lock();
    expect(lock.owner).toBeUndefined();
    expect(lock.ownerToken).toBeUndefined();
    expect(await h.ask('c', T2)).toEqual({ acquired: true });
  });

  it('does not take the lock back from a waiter that asked again with a new token meanwhile', async () => {
    const h = harness();
    await h.ask('a', T0);
    await h.ask('b', T1);
    await h.ask('c', T2);
    // While a's release wakes b on its old token, b's wait times out and b asks again (new token).
    h.callbacks.before.set('t-b', async () => {
      h.callbacks.before.delete('t-b');
      h.callbacks.dead.add('t-b');
      await h.ask('b', T1, 't-b2');
    });
    await h.release('a');
    expect(h.callbacks.woken).toEqual(['t-a', 't-b2']);
    expect(await h.lock()).toMatchObject({ owner: 'b', ownerToken: 't-b2', waiters: { c: { token: 't-c' } } });
  });

  it('a retried release sends the wake-up again; a settled token is no error, another failure is', async () => {
    const h = harness();
    await h.ask('a', T0);
    await h.ask('b', T1);
    await h.release('a');
    // The first wake-up went through: b's token is settled, and the repeat is refused quietly.
    expect(await h.release('a')).toBe(false);
    expect(h.callbacks.woken).toEqual(['t-a', 't-b']);

    const g = harness();
    await g.ask('a', T0);
    await g.ask('b', T1);
    g.callbacks.failWith = Object.assign(new Error('Rate exceeded'), { name: 'Coconut.Retryable' });
    await expect(g.release('a')).rejects.toThrow('Rate exceeded');
    // The lock was handed over before the wake-up failed; the retried release wakes b.
    g.callbacks.failWith = undefined;
    expect(await g.release('a')).toBe(false);
    expect(g.callbacks.woken).toEqual(['t-a', 't-b']);
    g.callbacks.failWith = Object.assign(new Error('Rate exceeded'), { name: 'Coconut.Retryable' });
    await expect(g.release('a')).rejects.toThrow('Rate exceeded');
  });

  it('a failure other than a refused token while waking is thrown, not read as a dead waiter', async () => {
    const h = harness();
    await h.ask('a', T0);
    await h.ask('b', T1);
    h.callbacks.failWith = new Error('network down');
    await expect(h.release('a')).rejects.toThrow('network down');
    expect(await h.lock()).toMatchObject({ owner: 'b', ownerToken: 't-b' });
  });

  it('drops waiters recorded without a token (before waiting was event-driven)', async () => {
    const h = harness();
    await h.ask('a', T0);
    await h.ask('c', T2);
    const lock = await h.lock();
    await store.putLock({
      ...lock,
      waiters: { ...lock.waiters, old: { createdAt: T1, token: '', holdSeconds: 600, since: 0 } },
      version: lock.version + 1,
    });
    await h.release('a');
    expect(h.callbacks.woken).toEqual(['t-a', 't-c']);
    expect((await h.lock()).waiters).toEqual({});
  });

  it('retries a lost write race after a backoff, and gives up only after its time budget', async () => {
    let losses = 1;
    const h = harness({ putLock: async (lock) => (losses-- > 0 ? false : store.putLock(lock)) });
    expect(await h.ask('a', T0)).toEqual({ acquired: true });
    expect(h.callbacks.woken).toEqual(['t-a']);

    // A store that always loses the race (never touching dynalite, so nothing else reads the clock). The
    // budget counts from the first attempt: exactly 60 s later it still tries; past it, it gives up.
    const always = harness({ getLock: async () => undefined, putLock: async () => false });
    const clock = [0, 60_000];
    vi.spyOn(Date, 'now').mockImplementation(() => clock.shift() ?? 60_001);
    const error = await always.ask('a', T0).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('Coconut.Retryable');
    expect((error as Error).message).toBe(`lock ${always.key}: still losing write races after 2 attempts in 60 s`);
    expect(always.callbacks.woken).toEqual([]);
  });

  it('an expired holder whose last waiter leaves is cleared: the lock is free, nobody holds it', async () => {
    const h = harness();
    await h.ask('a', T0, 't-a', 60);
    await h.ask('b', T1);
    h.advance(61);
    expect(await h.release('b')).toBe(false);
    const lock = await h.lock();
    expect(lock.owner).toBeUndefined();
    expect(lock.ownerToken).toBeUndefined();
    expect(lock.waiters).toEqual({});
  });

  it('wakes a new owner with the output the AcquireLock task gets: acquired, and which lock', async () => {
    const h = harness();
    const outputs: [string, unknown][] = [];
    const deps: LockDeps = {
      ...h.deps,
      orchestrator: { sendTaskSuccess: async (token, output) => void outputs.push([token, output]) },
    };
    await requestLock(deps, { key: h.key, deploymentId: 'a', createdAt: T0, holdSeconds: 60, token: 't-a' });
    expect(outputs).toEqual([['t-a', { acquired: true, key: h.key }]]);
  });
});
