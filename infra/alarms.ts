/**
 * Alarms on Coconut itself: executions that failed or timed out (a rolled-back deployment is a
 * failed execution too: look at it), events stuck in a dead-letter queue, throttled functions.
 * They carry no actions: subscribe a topic in the console or with a transform.
 */
import { pascal } from './naming.ts';

export interface AlarmsArgs {
  prefix: string;
  stateMachines: Record<string, Resource>;
  deadLetterQueues: Record<string, Resource>;
  functions: Record<string, Resource>;
}

export function alarms(args: AlarmsArgs) {
  const created: Resource[] = [];
  const alarm = (id: string, props: Record<string, unknown>) =>
    created.push(
      new aws.cloudwatch.MetricAlarm(id, {
        statistic: 'Sum',
        period: 300,
        evaluationPeriods: 1,
        threshold: 1,
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        treatMissingData: 'notBreaching',
        ...props,
      }),
    );
  for (const [machine, sm] of Object.entries(args.stateMachines)) {
    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut']) {
      alarm(`${pascal(machine)}${metric}Alarm`, {
        name: `${args.prefix}-${machine}-${metric}`,
        alarmDescription: `Coconut: ${machine} executions ${metric.replace('Executions', '').toLowerCase()}`,
        namespace: 'AWS/States',
        metricName: metric,
        dimensions: { StateMachineArn: sm.arn },
      });
    }
  }
  for (const [name, dlq] of Object.entries(args.deadLetterQueues)) {
    alarm(`${pascal(name)}DlqAlarm`, {
      name: `${args.prefix}-${name}-dlq`,
      alarmDescription: `Coconut: events that ${name} could not handle are waiting in its dead-letter queue`,
      namespace: 'AWS/SQS',
      metricName: 'ApproximateNumberOfMessagesVisible',
      statistic: 'Maximum',
      // sst.aws.Queue has no name output: the queue name is the last part of its ARN.
      dimensions: { QueueName: dlq.arn.apply((arn) => arn.split(':').pop() ?? '') },
    });
  }
  for (const [name, fn] of Object.entries(args.functions)) {
    alarm(`${pascal(name)}ThrottlesAlarm`, {
      name: `${args.prefix}-${name}-throttles`,
      alarmDescription: `Coconut: ${name} invocations were throttled`,
      namespace: 'AWS/Lambda',
      metricName: 'Throttles',
      dimensions: { FunctionName: fn.name },
    });
  }
  return { alarms: created };
}
