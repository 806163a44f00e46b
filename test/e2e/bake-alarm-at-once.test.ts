/**
 * The headline promise, end to end in the local runtime with real ansible-playbook: an alarm
 * that fires during a long bake ends it at once. The bake here lasts 10 minutes; the alarm is
 * set early in it; the rollback build must start within a bound measured from the alarm's
 * change, far below what is left of the bake. The end-of-bake check would also roll back with
 * the same reason, but only after the 10 minutes, so only the alarm-changed path can meet the
 * bound. The bound is a correctness bound (event-driven versus end of bake), not a performance
 * figure: it is 20 times below the bake.
 *
 * Everything is synchronised on what the runtime reports (engine events, the return of the Bake
 * task's invocation, bus deliveries), never on sleeps.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { which } from '../../src/local/tools.ts';
import { startedId, startTestRuntime, type TestRuntime } from '../support/runtime.ts';
import { invocationReturned, recordBus, stateEntered } from '../support/runtime-events.ts';

const ALARM = 'demo-api-staging-health';
const BAKE_SECONDS = 600;
/** From the alarm's change to the rollback build starting: 30 s, against 600 s of bake. */
const BOUND_MS = 30_000;
const ENDED = ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'ROLLBACK_FAILED'] as const;

describe('A watched alarm ends a long bake at once (local runtime, real ansible-playbook)', () => {
  let rt: TestRuntime | undefined;
  let dir: string;
  beforeAll(() => {
    if (!which('ansible-playbook'))
      throw new Error('ansible-playbook is not on PATH: install ansible-core (`npm test` installs it: scripts/system-tools.ts)');
    dir = mkdtempSync(path.join(tmpdir(), 'coconut-bake-at-once-'));
  });
  afterAll(() => rt?.stop());

  it('rolls back within the bound of the alarm event, 10-minute bake notwithstanding', async () => {
    // A version that passed its bake, so that there is something to roll back to: a first life
    // of the runtime with short bakes.
    rt = await startTestRuntime({ dataDir: dir, prodApproval: false, stagingBake: '1s', prodBake: '1s', probes: false });
    const good = startedId(await rt.push('1.0.0'));
    expect((await rt.engine.waitFor(good))?.status).toBe('SUCCEEDED');
    await rt.stop();

    // Second life, same data dir: staging bakes for 10 minutes.
    // No probes: the alarm changes only when the test sets it (a slow probe on a busy machine must
    // not fire it first), so the change below is the one event that can end the bake.
    rt = await startTestRuntime({
      dataDir: dir,
      prodApproval: false,
      stagingBake: `${BAKE_SECONDS / 60}m`,
      prodBake: '1s',
      probes: false,
    });
    const live = rt;
    // The Bake task's invocation has returned: its watch is registered and its own check of the
    // alarms is done, so from here on only the alarm-changed function can end the bake early.
    const baking = invocationReturned(
      live,
      'pipeline-step',
      (e) => e.action === 'startBake' && (e.ref as { environment?: string } | undefined)?.environment === 'staging',
      'the staging bake to start',
      120_000,
    );
    baking.catch(() => {}); // awaited below
    const id = startedId(await live.push('1.1.0'));
    const bake = await baking;
    expect(bake.event).toMatchObject({ bakeSeconds: BAKE_SECONDS, alarms: [ALARM], ref: { deploymentId: id } });
    expect((await live.ports.store.getStage(id, 'staging'))?.state).toBe('BAKING');

    const bus = recordBus(live);
    const rollbackStarts = stateEntered(live, id, 'Rollback', BOUND_MS + 5_000);
    rollbackStarts.catch(() => {}); // awaited below; an earlier failed expectation must not leave it unhandled
    const res = await live.fetch(`/api/alarms/${ALARM}`, {
      method: 'POST',
      body: JSON.stringify({ state: 'ALARM', reason: 'e2e: set by hand early in a 10-minute bake' }),
    });
    expect(res.status).toBe(200);
    const { alarm } = (await res.json()) as { alarm: { state: string; updatedAt: string } };
    expect(alarm.state).toBe('ALARM');
    const alarmAt = Date.parse(alarm.updatedAt);

    // The alarm's change reached alarm-changed, which failed exactly this bake.
    bus.stop();
    const change = bus.published.find((p) => p.event['detail-type'] === 'CloudWatch Alarm State Change');
    expect(change?.event.detail).toMatchObject({ alarmName: ALARM, state: { value: 'ALARM' } });
    expect(change?.deliveries).toEqual([{ rule: 'alarm-changed', result: { failedBakes: 1 } }]);
    expect(live.log.lines.map((l) => l.message)).toContain(`alarm ${ALARM} fired: failing the bake of ${id} on staging`);

    // The rollback build starts within the bound, measured from the alarm's change.
    const rollback = await rollbackStarts;
    const elapsed = rollback.timestamp - alarmAt;
    expect(elapsed, `rollback started ${elapsed} ms after the alarm; the bake had ${BAKE_SECONDS} s to run`).toBeLessThan(
      BOUND_MS,
    );
    expect(elapsed).toBeGreaterThanOrEqual(0);

    const staging = await live.waitForStage(id, 'staging', [...ENDED]);
    expect(staging).toMatchObject({
      state: 'ROLLED_BACK',
      alarm: ALARM,
      reason: `alarm ${ALARM} fired during bake`,
      rolledBackTo: '1.0.0',
    });
    expect(Date.parse(staging.finishedAt as string) - alarmAt).toBeLessThan(BAKE_SECONDS * 1000);
    expect(await live.appVersion('staging')).toBe('1.0.0');
    expect((await live.ports.store.getStage(id, 'prod'))?.state).toBe('SKIPPED');
    expect(await live.engine.waitFor(id)).toMatchObject({ status: 'FAILED', error: 'Coconut.RolledBack' });
  }, 300_000);
});
