/**
 * EventBridge rules on the default bus: the ones coconut.yaml implies (src/core/triggers/event-rules.ts,
 * the same patterns the local bus delivers by), and the safety net for executions of the
 * deploy state machine that end FAILED, TIMED_OUT or ABORTED.
 */
import type { CoconutConfig } from '../src/core/config/schema.ts';
import { type EventRule, eventRules } from '../src/core/triggers/event-rules.ts';
import { pascal } from './naming.ts';

export interface TriggersArgs {
  config: CoconutConfig;
  prefix: string;
  functions: Record<string, Resource>;
  deployMachineArn: Output<string>;
}

export function triggers(args: TriggersArgs) {
  const rules: (Omit<EventRule, 'pattern' | 'target'> & { pattern: unknown; target: string })[] = [
    ...eventRules(args.config),
    {
      name: 'execution-ended',
      description: 'Deploy executions that ended without their own bookkeeping: repair stages and locks',
      pattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: [args.deployMachineArn] },
      },
      target: 'execution-ended',
    },
  ];
  const created: Record<string, Resource> = {};
  for (const rule of rules) {
    const fn = args.functions[rule.target];
    if (!fn) throw new Error(`event rule ${rule.name} targets functions/${rule.target}.ts, which is not deployed`);
    const id = pascal(rule.name);
    const eventRule = new aws.cloudwatch.EventRule(`${id}Rule`, {
      name: `${args.prefix}-${rule.name}`,
      description: rule.description,
      eventPattern: $jsonStringify(rule.pattern),
    });
    new aws.cloudwatch.EventTarget(`${id}Target`, {
      rule: eventRule.name,
      arn: fn.arn,
      // Delivery retries for a day; what still fails in the function goes to its dead-letter queue.
      retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86400 },
    });
    new aws.lambda.Permission(`${id}Invoke`, {
      action: 'lambda:InvokeFunction',
      function: fn.name,
      principal: 'events.amazonaws.com',
      sourceArn: eventRule.arn,
    });
    created[rule.name] = eventRule;
  }
  return { rules: created };
}
