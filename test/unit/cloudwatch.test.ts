/**
 * src/core/events/cloudwatch.ts against the event AWS documents: CloudWatch User Guide, "Alarm
 * events and EventBridge", the single metric alarm state change example (its long reason texts shortened)
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html).
 */
import { describe, expect, it } from 'vitest';
import { alarmStateChangeSchema } from '../../src/core/events/cloudwatch.ts';

const documented = {
  version: '0',
  id: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
  'detail-type': 'CloudWatch Alarm State Change',
  source: 'aws.cloudwatch',
  account: '123456789012',
  time: '2019-10-02T17:04:40Z',
  region: 'us-east-1',
  resources: ['arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh'],
  detail: {
    alarmName: 'ServerCpuTooHigh',
    configuration: {
      description: 'Goes into alarm when server CPU utilization is too high!',
      metrics: [
        {
          id: '30b6c6b2-a864-43a2-4877-c09a1afc3b87',
          metricStat: {
            metric: { dimensions: { InstanceId: 'i-12345678901234567' }, name: 'CPUUtilization', namespace: 'AWS/EC2' },
            period: 300,
            stat: 'Average',
          },
          returnData: true,
        },
      ],
    },
    previousState: {
      reason:
        'Threshold Crossed: 1 out of the last 1 datapoints [0.0666851903306472 (01/10/19 13:46:00)] was not greater than the threshold (50.0)',
      reasonData: '{"version":"1.0","queryDate":"2019-10-01T13:56:40.985+0000"}',
      timestamp: '2019-10-01T13:56:40.987+0000',
      value: 'OK',
    },
    state: {
      reason:
        'Threshold Crossed: 1 out of the last 1 datapoints [99.50160229693434 (02/10/19 16:59:00)] was greater than the threshold (50.0)',
      reasonData: '{"version":"1.0","queryDate":"2019-10-02T17:04:40.985+0000"}',
      timestamp: '2019-10-02T17:04:40.989+0000',
      value: 'ALARM',
    },
  },
};

describe('CloudWatch Alarm State Change', () => {
  it('reads the event as AWS documents it', () => {
    const event = alarmStateChangeSchema.parse(documented);
    expect(event.detail).toMatchObject({
      alarmName: 'ServerCpuTooHigh',
      state: { value: 'ALARM' },
      previousState: { value: 'OK' },
    });
  });

  it('refuses a state value AWS does not send, naming the field', () => {
    const bad = { ...documented, detail: { ...documented.detail, state: { value: 'RED' } } };
    const result = alarmStateChangeSchema.safeParse(bad);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['detail', 'state', 'value']);
  });
});
