/**
 * The headline promise at the handler: a watched alarm going to ALARM fails the bake's task
 * token during the alarm-changed invocation itself, however long the bake still has to run. The
 * end-of-bake check (CheckAlarmsAfterBake) would also see the alarm, with the same reason, but
 * only when the bake time is over: a 1-hour bake here, and a clock that never moves, so nothing
 * but the alarm-changed handler can end it.
 *
 * The bake is started by the real pipeline-step handler (the Bake state's `startBake`) over
 * dynalite; the event is the one CloudWatch sends to EventBridge ("Alarm events and
 * EventBridge", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html).
 * The orchestrator records SendTaskFailure calls with Step Functions' rule for callbacks: a token
 * is settled once, later calls fail with TaskTimedOut / InvalidToken (AWS Step Functions API
 * Reference, SendTaskFailure, "Errors"), which adapters turn into TaskTokenExpiredError.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlarmChangedHandler } from '../../functions/alarm-changed.ts';
import { createPipelineStepHandler } from '../../functions/pipeline-step.ts';
import type { DynamoStore } from '../../src/aws/dynamo/store.ts';
import { TaskTokenExpiredError } from '../../src/core/model/errors.ts';
import { ERRORS } from '../../src/core/model/failure.ts';
import type { AlarmStatus } from '../../src/core/ports.ts';
import { lambdaContext } from '../../src/local/engine.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { memoryLog } from '../support/runtime.ts';
import { dynaliteStore } from '../support/stores.ts';

const ALARM = 'api-prod-5xx';

/** The CloudWatch event as documented (single metric alarm), trimmed of its metric configuration. */
function alarmEvent(value: 'ALARM' | 'OK', previous: string) {
  return {
    version: '0',
    id: `c4c1c1c9-6542-e61b-6ef0-${value === 'ALARM' ? '8c4d36933a92' : '8c4d36933a93'}`,
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account: '123456789012',
    time: '2026-01-01T00:05:00Z',
    region: 'us-east-1',
    resources: [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${ALARM}`],
    detail: {
      alarmName: ALARM,
      state: {
        value,
        reason: 'Threshold Crossed: 1 datapoint [12.0] was greater than the threshold (5.0).',
        timestamp: '2026-01-01T00:05:00.000+0000',
      },
      previousState: { value: previous, reason: 'Threshold Crossed', timestamp: '2026-01-01T00:00:00.000+0000' },
      configuration: { description: '5xx rate', metrics: [] },
    },
  };
}

class Callbacks {
  readonly failures: { token: string; error: string; cause: string; during: string }[] = [];
  readonly settled = new Set<string>();
  /** What the test is doing when a call arrives: the proof that it came from that invocation. */
  phase = 'setup';
  async sendTaskSuccess(token: string): Promise<void> {
    throw new Error(`unexpected SendTaskSuccess on ${token}`);
  }
  async sendTaskFailure(token: string, error: string, cause: string): Promise<void> {
    await new Promise((r) => setImmediate(r));
    if (this.settled.has(token)) throw new TaskTokenExpiredError('the task no longer waits (TaskTimedOut)');
    this.settled.add(token);
    this.failures.push({ token, error, cause, during: this.phase });
  }
}

describe('Function: alarm-changed fails a long bake at once', () => {
  let store: DynamoStore;
  let dynamo: LocalDynamo;
  beforeAll(async () => ({ store, dynamo } = await dynaliteStore()));
  afterAll(() => dynamo?.stop());

  it('fails the bake token during the ALARM invocation, names the alarm, logs it, and stops watching', async () => {
    // Never advances: the 1-hour bake is nowhere near its end. (The store reads watch expiry
    // against the wall clock, so this starts from it.)
    const now = new Date();
    const started = now.toISOString();
    const states = new Map<string, AlarmStatus['state']>([[ALARM, 'OK']]);
    const callbacks = new Callbacks();
    const log = memoryLog();
    const ports = {
      store,
      orchestrator: callbacks,
      clock: { now: () => now },
      log,
      alarms: { getStates: async (names: string[]) => names.map((name) => ({ name, state: states.get(name) ?? 'UNKNOWN' })) },
      notifier: {},
    };
    const provider = async () => ports as never;
    const step = createPipelineStepHandler(provider);
    const alarmChanged = createAlarmChangedHandler(provider);
    const ref = { deploymentId: 'dep-long-bake', service: 'api', version: '1.4.0', environment: 'prod' };

    // The Bake state: the watch is registered, the alarm is OK, the task now waits on its token.
    await step(
      { action: 'startBake', ref, alarms: [ALARM, 'api-prod-latency'], bakeSeconds: 3600, taskToken: 'bake-token' },
      lambdaContext('pipeline-step'),
    );
    expect(callbacks.failures).toEqual([]);
    expect((await store.listBakeWatches(ALARM)).map((w) => w.taskToken)).toEqual(['bake-token']);

    // Back to OK is no breach: the bake goes on.
    callbacks.phase = 'OK event';
    expect(await alarmChanged(alarmEvent('OK', 'INSUFFICIENT_DATA') as never, lambdaContext('alarm-changed'))).toEqual({
      failedBakes: 0,
      ignored: 'state OK is not ALARM',
    });
    expect(callbacks.failures).toEqual([]);

    // Five minutes into the hour (by CloudWatch's clock): the alarm fires.
    states.set(ALARM, 'ALARM');
    callbacks.phase = 'ALARM event';
    const result = await alarmChanged(alarmEvent('ALARM', 'OK') as never, lambdaContext('alarm-changed'));
    callbacks.phase = 'after';
    expect(result).toEqual({ failedBakes: 1 });
    expect(callbacks.failures).toEqual([{ token: 'bake-token', error: ERRORS.alarmFired, cause: ALARM, during: 'ALARM event' }]);
    expect(log.lines).toContainEqual({
      level: 'INFO',
      message: `alarm ${ALARM} fired: failing the bake of dep-long-bake on prod`,
    });
    // The watch is gone: a repeated event (EventBridge delivers at least once) fails nothing twice.
    expect(await store.listBakeWatches(ALARM)).toEqual([]);
    expect(await alarmChanged(alarmEvent('ALARM', 'OK') as never, lambdaContext('alarm-changed'))).toEqual({
      failedBakes: 0,
      ignored: `no bake is watching ${ALARM}`,
    });
    expect(callbacks.failures).toHaveLength(1);
    expect(now.toISOString()).toBe(started);
  });

  it('a bake that already ended (its token refused) counts as no failed bake, and its watch is dropped', async () => {
    const callbacks = new Callbacks();
    callbacks.settled.add('ended-token');
    const log = memoryLog();
    const ports = { store, orchestrator: callbacks, clock: { now: () => new Date() }, log };
    await store.putBakeWatch({
      alarm: ALARM,
      deploymentId: 'dep-ended',
      environment: 'staging',
      taskToken: 'ended-token',
      expiresAt: Math.floor(Date.now() / 1000) + 3600,
    });
    const result = await createAlarmChangedHandler(async () => ports as never)(
      alarmEvent('ALARM', 'OK') as never,
      lambdaContext('alarm-changed'),
    );
    expect(result).toEqual({ failedBakes: 0 });
    expect(log.lines.map((l) => l.message)).toContain('bake of dep-ended on staging had already ended');
    expect(await store.listBakeWatches(ALARM)).toEqual([]);
  });
});
