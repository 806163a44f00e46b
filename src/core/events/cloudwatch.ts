/**
 * EventBridge "CloudWatch Alarm State Change" events (source aws.cloudwatch): an alarm a bake
 * watches changed state. The shape is AWS's: CloudWatch User Guide, "Alarm events and
 * EventBridge" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html),
 * `resources: [alarm ARN]`, `detail: { alarmName, state: { value, reason, timestamp },
 * previousState, configuration }`. CloudWatch sends it also when an alarm is created or updated,
 * so the state value, not the event, says whether a bake fails. Only the fields Coconut reads
 * are checked; the rest (configuration, metrics) passes through unread.
 */
import { z } from 'zod';

export const alarmStateChangeSchema = z.object({
  id: z.string(),
  source: z.literal('aws.cloudwatch'),
  'detail-type': z.literal('CloudWatch Alarm State Change'),
  resources: z.array(z.string()).optional(),
  time: z.string().optional(),
  detail: z.object({
    alarmName: z.string().min(1).max(255),
    state: z.object({
      value: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
      reason: z.string().optional(),
      timestamp: z.string().optional(),
    }),
    previousState: z.object({ value: z.string() }).partial().optional(),
  }),
});

export type AlarmStateChangeEvent = z.input<typeof alarmStateChangeSchema>;
