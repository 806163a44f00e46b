/**
 * The environment lock (src/core/pipeline/locks.ts) on the real Store adapter, against dynalite (the
 * local runtime's DynamoDB) and moto_server's DynamoDB: first-in-first-out by push time, the
 * release that wakes the next waiter through its task token, dead waiters skipped, an expired
 * term handed on, retried steps, and contention.
 *
 * The orchestrator here is a recorder with Step Functions' rule for callbacks: a token is
 * settled once; SendTaskSuccess on a settled, timed-out or unknown token fails with
 * TaskTimedOut / InvalidToken (AWS Step Functions API Reference, SendTaskSuccess, "Errors"),
 * which the SFN adapter turns into TaskTokenExpiredError (src/aws/sfn-orchestrator.ts).
 * The real engines run the same code end to end in test/unit/asl-lock-wait.test.ts and the e2e suite.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../../src/aws/clients.ts';
import { DynamoStore } from '../../../src/aws/dynamo/store.ts';
import { tableDefinition } from '../../../src/aws/table.ts';
import { TaskTokenExpiredError } from '../../../src/core/model/errors.ts';
import { type LockDeps, releaseLock, requestLock } from '../../../src/core/pipeline/locks.ts';
import type { Store } from '../../../src/core/ports.ts';
import { type Moto, startMoto } from '../../support/moto.ts';
import { memoryLog } from '../../support/runtime.ts';
import { dynaliteStore } from '../../support/stores.ts';

class Callbacks {
  readonly woken: string[] = [];
  readonly dead = new Set<string>();
  /** Tokens whose next SendTaskSuccess fails with a throttling error (once each). */
  readonly throttled = new Set<string>();
  /** Runs just before the answer for a token is given (once): what else happens meanwhile. */
  readonly before = new Map<string, () => Promise<void>>();
  async sendTaskSuccess(token: string): Promise<void> {
    await new Promise((r) => setImmediate(r));
    const meanwhile = this.before.get(token);
    this.before.delete(token);
    await meanwhile?.();
    if (this.throttled.delete(token)) throw Object.assign(new Error('Rate exceeded'), { name: 'Coconut.Retryable' });
    if (this.dead.has(token)) throw new TaskTokenExpiredError('the task no longer waits (TaskTimedOut)');
    this.dead.add(token); // settled: a second success is refused, as on AWS
    this.woken.push(token);
  }
}

function harness(store: Store, start = 1_000_000) {
  let now = start;
  const callbacks = new Callbacks();
  const deps: LockDeps = { store, orchestrator: callbacks, clock: { now: () => new Date(now * 1000) }, log: memoryLog() };
  const ask = (key: string, id: string, createdAt: string, token = `t-${id}`, holdSeconds = 600) =>
    requestLock(deps, { key, deploymentId: id, createdAt, holdSeconds, token });
  return { deps, callbacks, ask, advance: (s: number) => (now += s), now: () => now };
}

const stores: [string, () => Promise<{ store: Store; stop: () => Promise<void> }>][] = [
  [
    'dynalite',
    async () => {
      const { store, dynamo } = await dynaliteStore();
      return { store, stop: () => dynamo.stop() };
    },
  ],
  [
    'moto_server',
    async () => {
      const moto: Moto = await startMoto();
      await new DynamoDBClient(moto.clientOptions).send(new CreateTableCommand(tableDefinition('locks')));
      return { store: new DynamoStore(documentClient(moto.clientOptions), 'locks'), stop: () => moto.stop() };
    },
  ],
];

describe.each(stores)('Environment lock on DynamoStore (%s)', (_name, open) => {
  let store: Store;
  let stop: () => Promise<void>;
  beforeAll(async () => ({ store, stop } = await open()), 60_000);
  afterAll(() => stop?.());

  it('serves waiters oldest push first, each woken by the release before it', async () => {
    const { deps, callbacks, ask } = harness(store);
    const key = 'api#prod';
    // A finds the lock free: it settles its own token at once.
    expect(await ask(key, 'a', '2026-01-01T00:00:00Z')).toEqual({ acquired: true });
    expect(callbacks.woken).toEqual(['t-a']);
    // C (pushed later) asks before B: both wait, B first in line.
    expect(await ask(key, 'c', '2026-01-01T00:00:02Z')).toEqual({ acquired: false, holder: 'a', position: 1 });
    expect(await ask(key, 'b', '2026-01-01T00:00:01Z')).toEqual({ acquired: false, holder: 'a', position: 1 });
    expect(callbacks.woken).toEqual(['t-a']);
    // A waiter leaving (its execution ended) frees nothing, and leaves the queue.
    expect(await releaseLock(deps, key, 'c')).toBe(false);
    expect(Object.keys((await store.getLock(key))?.waiters ?? {})).toEqual(['b']);
    expect(await ask(key, 'c', '2026-01-01T00:00:02Z', 't-c2')).toMatchObject({ acquired: false, position: 2 });
    expect(await releaseLock(deps, key, 'a')).toBe(true);
    expect(callbacks.woken).toEqual(['t-a', 't-b']);
    expect(await store.getLock(key)).toMatchObject({ owner: 'b', ownerToken: 't-b', grantedBy: 'a' });
    expect(await releaseLock(deps, key, 'b')).toBe(true);
    expect(callbacks.woken).toEqual(['t-a', 't-b', 't-c2']);
    expect(await releaseLock(deps, key, 'c')).toBe(true);
    const free = await store.getLock(key);
    expect(free?.owner).toBeUndefined();
    expect(free?.waiters).toEqual({});
    // A release by someone who holds nothing changes nothing.
    expect(await releaseLock(deps, key, 'nobody')).toBe(false);
  });

  it('skips a waiter whose execution died (its token is refused) and wakes the next one', async () => {
    const { deps, callbacks, ask } = harness(store);
    const key = 'api#dead';
    await ask(key, 'holder', '2026-01-01T00:00:00Z');
    await ask(key, 'dead', '2026-01-01T00:00:01Z');
    await ask(key, 'dead-too', '2026-01-01T00:00:02Z');
    await ask(key, 'alive', '2026-01-01T00:00:03Z');
    callbacks.dead.add('t-dead').add('t-dead-too');
    expect(await releaseLock(deps, key, 'holder')).toBe(true);
    expect(callbacks.woken).toEqual(['t-holder', 't-alive']);
    const lock = await store.getLock(key);
    expect(lock).toMatchObject({ owner: 'alive', ownerToken: 't-alive' });
    expect(Object.keys(lock?.waiters ?? {})).toEqual([]);
  });

  it('wakes a waiter with the token of its latest ask (after its wait timed out and was retried)', async () => {
    const { deps, callbacks, ask } = harness(store);
    const key = 'api#again';
    await ask(key, 'holder', '2026-01-01T00:00:00Z');
    await ask(key, 'w', '2026-01-01T00:00:01Z', 'first-attempt');
    callbacks.dead.add('first-attempt'); // States.Timeout: that task is over
    expect(await ask(key, 'w', '2026-01-01T00:00:01Z', 'second-attempt')).toMatchObject({ acquired: false, position: 1 });
    await releaseLock(deps, key, 'holder');
    expect(callbacks.woken).toEqual(['t-holder', 'second-attempt']);
    expect((await store.getLock(key))?.owner).toBe('w');
    // Its step retried once more while holding it: it holds it still, woken at once.
    expect(await ask(key, 'w', '2026-01-01T00:00:01Z', 'third-attempt')).toEqual({ acquired: true });
    expect(callbacks.woken.at(-1)).toBe('third-attempt');
  });

  it('hands an expired term to the oldest waiter when anyone asks', async () => {
    const { callbacks, ask, advance } = harness(store);
    const key = 'api#expired';
    await ask(key, 'stuck', '2026-01-01T00:00:00Z', 't-stuck', 10);
    await ask(key, 'older', '2026-01-01T00:00:01Z');
    advance(11);
    // A newer deployment finds the term over: the lock goes to the older waiter, not to it.
    expect(await ask(key, 'newer', '2026-01-01T00:00:05Z')).toEqual({ acquired: false, holder: 'older', position: 1 });
    expect(callbacks.woken).toEqual(['t-stuck', 't-older']);
    expect(await store.getLock(key)).toMatchObject({ owner: 'older', grantedBy: 'newer' });
  });

  it("renews the holder's term when its AcquireLock step asks again, and a handed-over term runs the waiter's own hold", async () => {
    const { deps, callbacks, ask, advance, now } = harness(store);
    const key = 'api#term';
    await ask(key, 'holder', '2026-01-01T00:00:00Z', 't-holder', 600);
    advance(500);
    // A retried AcquireLock of the holder: still its lock, for a fresh term.
    expect(await ask(key, 'holder', '2026-01-01T00:00:00Z', 't-holder-2', 600)).toEqual({ acquired: true });
    expect(await store.getLock(key)).toMatchObject({ owner: 'holder', expiresAt: now() + 600 });
    advance(200); // past the first term, within the renewed one
    expect(await ask(key, 'b', '2026-01-01T00:00:01Z', 't-b', 900)).toEqual({ acquired: false, holder: 'holder', position: 1 });
    // The term includes its last second.
    advance(400);
    expect(await ask(key, 'c', '2026-01-01T00:00:02Z')).toEqual({ acquired: false, holder: 'holder', position: 2 });
    expect(await releaseLock(deps, key, 'holder')).toBe(true);
    expect(callbacks.woken).toEqual(['t-holder', 't-holder-2', 't-b']);
    // b holds it for its own 900 s from the hand-over: a newcomer 899 s later still waits.
    expect(await store.getLock(key)).toMatchObject({ owner: 'b', expiresAt: now() + 900 });
    advance(899);
    expect(await ask(key, 'd', '2026-01-01T00:00:03Z')).toEqual({ acquired: false, holder: 'b', position: 2 });
    expect(callbacks.woken).toEqual(['t-holder', 't-holder-2', 't-b']);
  });

  it('keeps the lock with a waiter that asked again (a new token) while the release was finding its old token dead', async () => {
    const { deps, callbacks, ask } = harness(store);
    const key = 'api#race';
    await ask(key, 'holder', '2026-01-01T00:00:00Z');
    await ask(key, 'w', '2026-01-01T00:00:01Z', 'w-first');
    await ask(key, 'next', '2026-01-01T00:00:02Z');
    // w's wait timed out (States.Timeout): its first token is dead, and its retried step asks
    // again just as the release hands it the lock and tries that first token.
    callbacks.dead.add('w-first');
    callbacks.before.set('w-first', async () => {
      expect(await ask(key, 'w', '2026-01-01T00:00:01Z', 'w-second')).toEqual({ acquired: true });
    });
    expect(await releaseLock(deps, key, 'holder')).toBe(true);
    // The refused old token does not take the lock back from w, which holds it and was woken.
    expect(callbacks.woken).toEqual(['t-holder', 'w-second']);
    const lock = await store.getLock(key);
    expect(lock).toMatchObject({ owner: 'w', ownerToken: 'w-second' });
    expect(Object.keys(lock?.waiters ?? {})).toEqual(['next']);
  });

  it('drops queue entries without a token (written before waiting was event-driven) and wakes the next real waiter', async () => {
    const { deps, callbacks, ask, now } = harness(store);
    const key = 'api#legacy';
    await ask(key, 'holder', '2026-01-01T00:00:00Z');
    await ask(key, 'current', '2026-01-01T00:00:05Z');
    const lock = (await store.getLock(key)) as NonNullable<Awaited<ReturnType<Store['getLock']>>>;
    const legacy = { createdAt: '2026-01-01T00:00:01Z', holdSeconds: 600, since: now() } as (typeof lock.waiters)[string];
    expect(await store.putLock({ ...lock, waiters: { ...lock.waiters, legacy }, version: lock.version + 1 })).toBe(true);
    expect(await releaseLock(deps, key, 'holder')).toBe(true);
    expect(callbacks.woken).toEqual(['t-holder', 't-current']);
    const after = await store.getLock(key);
    expect(after).toMatchObject({ owner: 'current' });
    expect(after?.waiters).toEqual({});
  });

  it('a waiter that leaves (its execution ended) gives up its place, and hands on a lock whose term ran out', async () => {
    const { deps, callbacks, ask, advance } = harness(store);
    const key = 'api#leave';
    await ask(key, 'stuck', '2026-01-01T00:00:00Z', 't-stuck', 10);
    await ask(key, 'gone', '2026-01-01T00:00:01Z');
    await ask(key, 'next', '2026-01-01T00:00:02Z');
    // Its place is gone at once: the queue no longer counts it.
    expect(await releaseLock(deps, key, 'gone')).toBe(false);
    expect(Object.keys((await store.getLock(key))?.waiters ?? {})).toEqual(['next']);
    expect(await ask(key, 'later', '2026-01-01T00:00:03Z')).toEqual({ acquired: false, holder: 'stuck', position: 2 });
    // The holder's term runs out and nobody asks; the next write on the lock hands it on.
    advance(11);
    expect(await releaseLock(deps, key, 'later')).toBe(false);
    expect(callbacks.woken).toEqual(['t-stuck', 't-next']);
    expect(await store.getLock(key)).toMatchObject({ owner: 'next', grantedBy: 'later', waiters: {} });
  });

  it('sends the wake-up again when a release is retried after the wake-up failed', async () => {
    const { deps, callbacks, ask } = harness(store);
    const key = 'api#retry';
    await ask(key, 'holder', '2026-01-01T00:00:00Z');
    await ask(key, 'next', '2026-01-01T00:00:01Z');
    callbacks.throttled.add('t-next');
    await expect(releaseLock(deps, key, 'holder')).rejects.toMatchObject({ name: 'Coconut.Retryable' });
    expect((await store.getLock(key))?.owner).toBe('next');
    expect(callbacks.woken).toEqual(['t-holder']);
    // The state machine retries ReleaseLock: the handed-over lock is not lost, its owner is woken.
    expect(await releaseLock(deps, key, 'holder')).toBe(false);
    expect(callbacks.woken).toEqual(['t-holder', 't-next']);
    // And once more (the execution-ended repair): a settled token is no error.
    await releaseLock(deps, key, 'holder');
    expect((await store.getLock(key))?.owner).toBe('next');
  });
});

/**
 * Contention: truly concurrent writers. dynalite serializes each write as DynamoDB does; moto_server
 * is a threaded development server without per-item atomicity, so this part runs on dynalite only
 * (see test/integration/moto/aws-dynamo-store.test.ts).
 */
describe('Environment lock under contention (dynalite)', () => {
  let store: Store;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    const opened = await stores[0]![1]();
    store = opened.store;
    stop = opened.stop;
  });
  afterAll(() => stop?.());

  it('never fails a request or a release, and serves everyone in push order', async () => {
    const { deps, callbacks, ask } = harness(store);
    const key = 'api#busy';
    const n = 30;
    const ids = Array.from({ length: n }, (_, i) => `d${String(i).padStart(2, '0')}`);
    const createdAt = (id: string) => `2026-01-01T00:00:${id.slice(1)}Z`;
    // All at once, in reverse push order.
    const results = await Promise.all([...ids].reverse().map((id) => ask(key, id, createdAt(id))));
    expect(results.filter((r) => r.acquired)).toHaveLength(1);
    expect(callbacks.woken).toHaveLength(1);
    // Whoever got it first, the others follow in push order; each release races with new asks.
    const late = ['x1', 'x2', 'x3', 'x4', 'x5'];
    for (let i = 0; i < n; i++) {
      const holder = (await store.getLock(key))?.owner as string;
      const extra = late[i] ? [ask(key, late[i] as string, `2026-01-02T00:00:0${i}Z`)] : [];
      await Promise.all([releaseLock(deps, key, holder), ...extra]);
    }
    for (let i = 0; i < late.length; i++) await releaseLock(deps, key, (await store.getLock(key))?.owner as string);
    const served = callbacks.woken.map((t) => t.slice(2));
    expect(new Set(served).size).toBe(n + late.length);
    const [first, ...rest] = served;
    const waiting = [...ids.filter((id) => id !== first), ...late];
    expect(rest).toEqual(waiting);
    expect((await store.getLock(key))?.owner).toBeUndefined();
  }, 120_000);
});
