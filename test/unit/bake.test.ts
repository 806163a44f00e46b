/**
 * The bake's decisions (src/core/pipeline/bake.ts) one by one, on the real Store adapter over dynalite: which alarm
 * states breach, what is tolerated during and after the bake, the watches a bake registers and removes,
 * and which bakes an alarm change fails. The flows end to end (a long bake failed at once by an alarm,
 * through the handler and the local runtime) are the e2e suite's; this file is fast enough for
 * `npm run mutate`, and each case was written against a mutant that lived (reports/mutation/summary.md).
 *
 * Alarm states are CloudWatch's: OK, ALARM, INSUFFICIENT_DATA (CloudWatch API Reference, MetricAlarm,
 * StateValue); UNKNOWN is what our adapter reports for a name CloudWatch does not know
 * (src/core/ports.ts, AlarmStatus). A settled or timed-out task token is refused by Step Functions
 * (AWS Step Functions API Reference, SendTaskFailure, "Errors": TaskTimedOut, InvalidToken), which the SFN
 * adapter turns into TaskTokenExpiredError.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoStore } from '../../src/aws/dynamo/store.ts';
import { TaskTokenExpiredError } from '../../src/core/model/errors.ts';
import { type BakeDeps, checkAlarms, endBake, handleAlarmChange, startBake } from '../../src/core/pipeline/bake.ts';
import type { AlarmStatus, Orchestrator } from '../../src/core/ports.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { memoryLog } from '../support/runtime.ts';
import { dynaliteStore } from '../support/stores.ts';

let store: DynamoStore;
let dynamo: LocalDynamo;
beforeAll(async () => ({ store, dynamo } = await dynaliteStore()), 60_000);
afterAll(() => dynamo?.stop());

const alarmsIn = (states: Record<string, AlarmStatus['state']>) => ({
  asked: [] as string[][],
  async getStates(names: string[]) {
    this.asked.push(names);
    return names.map((name) => ({ name, state: states[name] ?? 'UNKNOWN' }));
  },
});

function harness(states: Record<string, AlarmStatus['state']>) {
  const failures: { token: string; error: string; cause: string }[] = [];
  const dead = new Set<string>();
  const orchestrator = {
    failWith: undefined as Error | undefined,
    async sendTaskFailure(token: string, error: string, cause: string) {
      if (this.failWith) throw this.failWith;
      if (dead.has(token)) throw new TaskTokenExpiredError(`task ${token} no longer waits (TaskTimedOut)`);
      dead.add(token);
      failures.push({ token, error, cause });
    },
  };
  const log = memoryLog();
  const alarms = alarmsIn(states);
  const deps = {
    store,
    alarms,
    orchestrator: orchestrator as unknown as Orchestrator,
    clock: { now: () => NOW },
    log,
  } satisfies BakeDeps;
  return { deps, failures, dead, orchestrator, log, alarms };
}

// The store leaves out watches past their expiry by the real clock: bakes here start now.
const NOW = new Date();
const NOW_S = Math.floor(NOW.getTime() / 1000);
let ids = 0;
const unique = (name: string) => `${name}-${++ids}`;

describe('Bake: alarm checks', () => {
  it('asks nothing when the environment watches no alarm', async () => {
    const h = harness({});
    expect(await checkAlarms(h.alarms, [], h.log)).toEqual({ breached: false, states: [] });
    expect(h.alarms.asked).toEqual([]);
  });

  it('breaches on the first alarm in ALARM, naming it; OK, INSUFFICIENT_DATA and unknown alarms do not', async () => {
    const h = harness({ ok: 'OK', nodata: 'INSUFFICIENT_DATA', errors: 'ALARM', latency: 'ALARM' });
    const check = await checkAlarms(h.alarms, ['ok', 'nodata', 'missing', 'errors', 'latency'], h.log);
    expect(check.breached).toBe(true);
    expect(check.failure).toEqual({ Error: 'Coconut.AlarmFired', Cause: 'errors' });
    expect(check.states.map((s) => s.state)).toEqual(['OK', 'INSUFFICIENT_DATA', 'UNKNOWN', 'ALARM', 'ALARM']);
    expect(h.log.lines).toEqual([
      { level: 'INFO', message: 'alarm nodata has insufficient data; not counted as a breach' },
      { level: 'WARN', message: 'alarm missing does not exist: it cannot protect this bake' },
    ]);
    const quiet = await checkAlarms(h.alarms, ['ok', 'nodata', 'missing'], h.log);
    expect(quiet).toEqual({ breached: false, states: quiet.states });
    expect(quiet.failure).toBeUndefined();
  });

  it('tolerates an alarm already firing before the deploy during the bake, not at its end', async () => {
    const h = harness({ errors: 'ALARM', latency: 'OK' });
    const during = await checkAlarms(h.alarms, ['errors', 'latency'], h.log, ['errors']);
    expect(during.breached).toBe(false);
    expect(h.log.lines).toEqual([
      { level: 'INFO', message: 'alarm errors was already in ALARM before this deploy; it must recover by the end of the bake' },
    ]);
    const other = harness({ errors: 'ALARM', latency: 'ALARM' });
    expect((await checkAlarms(other.alarms, ['errors', 'latency'], other.log, ['errors'])).failure?.Cause).toBe('latency');
    const atEnd = await checkAlarms(h.alarms, ['errors', 'latency'], h.log);
    expect(atEnd.failure).toEqual({ Error: 'Coconut.AlarmFired', Cause: 'errors' });
  });
});

describe('Bake: watches and alarm changes (dynalite)', () => {
  it('registers one watch per alarm, valid until an hour after the bake, and an ALARM change fails that bake', async () => {
    const h = harness({});
    const [a1, a2] = [unique('errors'), unique('latency')];
    await startBake(h.deps, { deploymentId: 'd1', environment: 'prod', alarms: [a1, a2], taskToken: 'tok-1', bakeSeconds: 600 });
    expect(h.failures).toEqual([]);
    expect(await store.listBakeWatches(a1)).toEqual([
      { alarm: a1, deploymentId: 'd1', environment: 'prod', taskToken: 'tok-1', expiresAt: NOW_S + 600 + 3600 },
    ]);
    expect(await store.listBakeWatches(a2)).toHaveLength(1);

    expect(await handleAlarmChange(h.deps, { alarmName: a1, state: 'ALARM', reason: 'threshold crossed' })).toEqual({
      failedBakes: 1,
    });
    expect(h.failures).toEqual([{ token: 'tok-1', error: 'Coconut.AlarmFired', cause: a1 }]);
    expect(h.log.lines).toContainEqual({ level: 'INFO', message: `alarm ${a1} fired: failing the bake of d1 on prod` });
    expect(await store.listBakeWatches(a1)).toEqual([]);
  });

  it('fails every bake that watches the alarm, and only on ALARM', async () => {
    const h = harness({});
    const alarm = unique('shared');
    await startBake(h.deps, { deploymentId: 'd1', environment: 'staging', alarms: [alarm], taskToken: 'tok-s', bakeSeconds: 60 });
    await startBake(h.deps, { deploymentId: 'd2', environment: 'prod', alarms: [alarm], taskToken: 'tok-p', bakeSeconds: 60 });
    expect(await handleAlarmChange(h.deps, { alarmName: alarm, state: 'OK' })).toEqual({
      failedBakes: 0,
      ignored: 'state OK is not ALARM',
    });
    expect(await handleAlarmChange(h.deps, { alarmName: alarm, state: 'INSUFFICIENT_DATA' })).toMatchObject({ failedBakes: 0 });
    expect(h.failures).toEqual([]);
    expect(await store.listBakeWatches(alarm)).toHaveLength(2);
    const result = await handleAlarmChange(h.deps, { alarmName: alarm, state: 'ALARM' });
    expect(result).toEqual({ failedBakes: 2 });
    expect(h.failures.map((f) => f.token).sort()).toEqual(['tok-p', 'tok-s']);
    expect(await handleAlarmChange(h.deps, { alarmName: alarm, state: 'ALARM' })).toEqual({
      failedBakes: 0,
      ignored: `no bake is watching ${alarm}`,
    });
  });

  it('a bake that already ended is not counted, its watch is removed; another failure is thrown', async () => {
    const h = harness({});
    const alarm = unique('errors');
    await startBake(h.deps, { deploymentId: 'd1', environment: 'prod', alarms: [alarm], taskToken: 'tok-1', bakeSeconds: 60 });
    h.dead.add('tok-1');
    expect(await handleAlarmChange(h.deps, { alarmName: alarm, state: 'ALARM' })).toEqual({ failedBakes: 0 });
    expect(h.log.lines).toContainEqual({ level: 'INFO', message: 'bake of d1 on prod had already ended' });
    expect(await store.listBakeWatches(alarm)).toEqual([]);

    await startBake(h.deps, { deploymentId: 'd2', environment: 'prod', alarms: [alarm], taskToken: 'tok-2', bakeSeconds: 60 });
    h.orchestrator.failWith = new Error('throttled');
    await expect(handleAlarmChange(h.deps, { alarmName: alarm, state: 'ALARM' })).rejects.toThrow('throttled');
  });

  it('an alarm that fired before its watch existed fails the bake at start, and its watches go', async () => {
    const h = harness({});
    const [ok, firing] = [unique('ok'), unique('firing')];
    const states = harness({ [ok]: 'OK', [firing]: 'ALARM' });
    const deps = { ...h.deps, alarms: states.alarms };
    await startBake(deps, { deploymentId: 'd1', environment: 'prod', alarms: [ok, firing], taskToken: 'tok-1', bakeSeconds: 60 });
    expect(h.failures).toEqual([{ token: 'tok-1', error: 'Coconut.AlarmFired', cause: firing }]);
    expect(await store.listBakeWatches(ok)).toEqual([]);
    expect(await store.listBakeWatches(firing)).toEqual([]);

    // Already firing before the deploy (tolerated): the bake goes on, watched.
    await startBake(deps, {
      deploymentId: 'd2',
      environment: 'prod',
      alarms: [ok, firing],
      taskToken: 'tok-2',
      bakeSeconds: 60,
      tolerate: [firing],
    });
    expect(h.failures).toHaveLength(1);
    expect(await store.listBakeWatches(firing)).toHaveLength(1);

    // A bake whose token was already settled (it ended meanwhile) starts without error.
    h.dead.add('tok-3');
    await expect(
      startBake(deps, { deploymentId: 'd3', environment: 'prod', alarms: [firing], taskToken: 'tok-3', bakeSeconds: 60 }),
    ).resolves.toBeUndefined();
    h.orchestrator.failWith = new Error('throttled');
    await expect(
      startBake(deps, { deploymentId: 'd4', environment: 'prod', alarms: [firing], taskToken: 'tok-4', bakeSeconds: 60 }),
    ).rejects.toThrow('throttled');
  });

  it('ends the bake: watches removed, alarms judged with nothing tolerated', async () => {
    const h = harness({});
    const alarm = unique('errors');
    await startBake(h.deps, { deploymentId: 'd1', environment: 'prod', alarms: [alarm], taskToken: 'tok-1', bakeSeconds: 60 });
    const firing = { ...h.deps, alarms: alarmsIn({ [alarm]: 'ALARM' }) };
    const check = await endBake(firing, { deploymentId: 'd1', environment: 'prod', alarms: [alarm] });
    expect(check.failure).toEqual({ Error: 'Coconut.AlarmFired', Cause: alarm });
    expect(await store.listBakeWatches(alarm)).toEqual([]);
  });
});

describe('Bake: what the logs carry', () => {
  // The JSON log lines (src/aws/json-log.ts) carry these fields, for searching the logs by alarm or deployment.
  function fieldsLog() {
    const lines: { level: string; message: string; extra?: Record<string, unknown> }[] = [];
    const at = (level: string) => (message: string, extra?: Record<string, unknown>) =>
      void lines.push({ level, message, extra });
    return { lines, debug: at('DEBUG'), info: at('INFO'), warn: at('WARN'), error: at('ERROR') };
  }

  it('names the alarm in every line about one; an alarm tolerated but OK is not said to be in ALARM', async () => {
    const log = fieldsLog();
    const alarms = alarmsIn({ nodata: 'INSUFFICIENT_DATA', errors: 'ALARM', latency: 'OK' });
    await checkAlarms(alarms, ['nodata', 'missing', 'errors', 'latency'], log, ['errors', 'latency']);
    expect(log.lines).toEqual([
      { level: 'INFO', message: 'alarm nodata has insufficient data; not counted as a breach', extra: { alarm: 'nodata' } },
      { level: 'WARN', message: 'alarm missing does not exist: it cannot protect this bake', extra: { alarm: 'missing' } },
      {
        level: 'INFO',
        message: 'alarm errors was already in ALARM before this deploy; it must recover by the end of the bake',
        extra: { alarm: 'errors' },
      },
    ]);
  });

  it('an alarm change names the alarm and the deployment whose bake it fails, or the alarm when the bake had ended', async () => {
    const h = harness({});
    const log = fieldsLog();
    const deps = { ...h.deps, log };
    const alarm = unique('errors');
    await startBake(deps, { deploymentId: 'd1', environment: 'prod', alarms: [alarm], taskToken: 'tok-f1', bakeSeconds: 60 });
    await startBake(deps, { deploymentId: 'd2', environment: 'staging', alarms: [alarm], taskToken: 'tok-f2', bakeSeconds: 60 });
    h.dead.add('tok-f2');
    // (Starting the bakes warned that the alarm does not exist: the harness knows no alarm.)
    log.lines.length = 0;
    await handleAlarmChange(deps, { alarmName: alarm, state: 'ALARM' });
    expect(log.lines).toEqual(
      expect.arrayContaining([
        { level: 'INFO', message: `alarm ${alarm} fired: failing the bake of d1 on prod`, extra: { alarm, deploymentId: 'd1' } },
        { level: 'INFO', message: 'bake of d2 on staging had already ended', extra: { alarm } },
      ]),
    );
    expect(log.lines).toHaveLength(2);
  });
});
