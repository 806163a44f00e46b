/** The Alarms port on CloudWatch: current states of named alarms (metric and composite). */
import { type CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import type { AlarmStatus, Alarms } from '../core/ports.ts';

export class CloudWatchAlarms implements Alarms {
  private readonly cw: CloudWatchClient;
  constructor(cw: CloudWatchClient) {
    this.cw = cw;
  }

  async getStates(names: string[]): Promise<AlarmStatus[]> {
    const found = new Map<string, AlarmStatus>();
    // DescribeAlarms takes at most 100 names per call.
    for (let i = 0; i < names.length; i += 100) {
      let nextToken: string | undefined;
      do {
        const res = await this.cw.send(
          new DescribeAlarmsCommand({
            AlarmNames: names.slice(i, i + 100),
            AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
            NextToken: nextToken,
          }),
        );
        for (const a of [...(res.MetricAlarms ?? []), ...(res.CompositeAlarms ?? [])]) {
          if (!a.AlarmName) continue;
          found.set(a.AlarmName, {
            name: a.AlarmName,
            state: (a.StateValue ?? 'INSUFFICIENT_DATA') as AlarmStatus['state'],
            ...(a.StateReason ? { reason: a.StateReason } : {}),
            ...(a.StateUpdatedTimestamp ? { updatedAt: a.StateUpdatedTimestamp.toISOString() } : {}),
          });
        }
        nextToken = res.NextToken;
      } while (nextToken);
    }
    return names.map((name) => found.get(name) ?? { name, state: 'UNKNOWN' });
  }
}
