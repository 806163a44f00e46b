/** CloudWatchAlarms against moto_server: the states a bake checks before and after it waits. */
import { CloudWatchClient, PutMetricAlarmCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudWatchAlarms } from '../../../src/aws/cloudwatch-alarms.ts';
import { type Moto, startMoto } from '../../support/moto.ts';

let moto: Moto;
let cw: CloudWatchClient;
beforeAll(async () => {
  moto = await startMoto();
  cw = new CloudWatchClient(moto.clientOptions);
});
afterAll(() => moto?.stop());

async function alarm(name: string): Promise<void> {
  await cw.send(
    new PutMetricAlarmCommand({
      AlarmName: name,
      Namespace: 'Coconut/Test',
      MetricName: 'Errors',
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    }),
  );
}

describe('Class: CloudWatchAlarms (moto_server)', () => {
  it('reads the current state of each named alarm, UNKNOWN for one that does not exist', async () => {
    await alarm('api-prod-5xx');
    await alarm('api-prod-latency');
    await cw.send(new SetAlarmStateCommand({ AlarmName: 'api-prod-5xx', StateValue: 'ALARM', StateReason: '5xx above 1' }));
    await cw.send(new SetAlarmStateCommand({ AlarmName: 'api-prod-latency', StateValue: 'OK', StateReason: 'fine' }));
    const states = await new CloudWatchAlarms(cw).getStates(['api-prod-5xx', 'api-prod-latency', 'api-prod-missing']);
    expect(states.map(({ name, state, reason }) => ({ name, state, reason }))).toEqual([
      { name: 'api-prod-5xx', state: 'ALARM', reason: '5xx above 1' },
      { name: 'api-prod-latency', state: 'OK', reason: 'fine' },
      { name: 'api-prod-missing', state: 'UNKNOWN', reason: undefined },
    ]);
    expect(states[0]?.updatedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('asks in pages of 100 names: 120 alarms come back in order', async () => {
    const names = Array.from({ length: 120 }, (_, i) => `bulk-${String(i).padStart(3, '0')}`);
    for (const name of names) await alarm(name);
    await cw.send(new SetAlarmStateCommand({ AlarmName: 'bulk-110', StateValue: 'ALARM', StateReason: 'x' }));
    const states = await new CloudWatchAlarms(cw).getStates(names);
    expect(states.map((s) => s.name)).toEqual(names);
    expect(states.filter((s) => s.state === 'ALARM').map((s) => s.name)).toEqual(['bulk-110']);
  });
});
