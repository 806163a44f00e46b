/**
 * EventBridge "CloudWatch Alarm State Change" -> every bake watching that alarm fails at once,
 * with the alarm name as the cause, and the state machine rolls back.
 */
import middy from '@middy/core';
import { awsPorts } from '../src/aws/ports.ts';
import { type AlarmStateChangeEvent, alarmStateChangeSchema } from '../src/core/events/cloudwatch.ts';
import type { PortsProvider } from '../src/core/handler-ports.ts';
import { handleAlarmChange } from '../src/core/pipeline/bake.ts';
import { onLambda } from './commons/lambda-entry.ts';
import { logErrors, parseEvent } from './commons/middleware.ts';

export function createAlarmChangedHandler(ports: PortsProvider) {
  return middy<AlarmStateChangeEvent, { failedBakes: number; ignored?: string }>()
    .use(logErrors(ports, 'alarm-changed'))
    .use(parseEvent(alarmStateChangeSchema, 'CloudWatch Alarm State Change event'))
    .handler(async (event) => {
      const p = await ports();
      const { alarmName, state } = event.detail;
      p.log.info(`alarm ${alarmName} is ${state.value}`, {
        alarm: alarmName,
        state: state.value,
        previous: event.detail.previousState?.value,
      });
      return handleAlarmChange(p, { alarmName, state: state.value, ...(state.reason ? { reason: state.reason } : {}) });
    });
}

export const handler = onLambda(createAlarmChangedHandler(awsPorts));
