/**
 * The EventBridge rules derived from coconut.yaml, pattern by pattern. The event shapes are AWS's: ECR's
 * "ECR Image Action" with detail action-type / result / repository-name ("Amazon ECR events and EventBridge",
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html) and CloudWatch's "CloudWatch
 * Alarm State Change" with detail.alarmName and detail.state.value ("Alarm events and EventBridge",
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html). A pattern
 * may be at most 2,048 characters ("Event pattern size",
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html).
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load.ts';
import { EVENT_PATTERN_MAX_CHARS, eventRules } from '../../src/core/triggers/event-rules.ts';
import { matches } from '../../src/local/event-pattern.ts';

const service = (name: string, registry: string, repository: string, alarms: string[] = []) => `
  - name: ${name}
    image: { registry: ${registry}, repository: ${repository} }
    target: { kind: helm }
    environments: [{ name: prod, alarms: ${JSON.stringify(alarms)} }]`;
const config = (...services: string[]) => parseConfig(`services:${services.join('')}`);

const ecrEnvelope = { source: ['aws.ecr'], 'detail-type': ['ECR Image Action'] };
const pushDetail = { 'action-type': ['PUSH'], result: ['SUCCESS'] };
const alarmEnvelope = { source: ['aws.cloudwatch'], 'detail-type': ['CloudWatch Alarm State Change'] };
const toAlarm = { state: { value: ['ALARM'] } };
const alarmPattern = (names: string[]) => ({ ...alarmEnvelope, detail: { alarmName: names, ...toAlarm } });

describe('eventRules', () => {
  it('names the ECR repositories (sorted, each once) and the watched alarms (sorted, each once)', () => {
    const rules = eventRules(
      config(
        service('b', 'ecr', 'team/b', ['b-5xx', 'a-latency']),
        service('a', 'ecr', 'team/a', ['b-5xx']),
        service('a2', 'ecr', 'team/a'),
        service('g', 'ghcr', 'acme/g', ['g-errors']),
      ),
    );
    expect(rules).toEqual([
      {
        name: 'ecr-push',
        description: 'Successful ECR pushes to the configured repositories start deployments',
        pattern: { ...ecrEnvelope, detail: { ...pushDetail, 'repository-name': ['team/a', 'team/b'] } },
        target: 'ecr-push',
      },
      {
        name: 'alarm-changed',
        description: 'Watched alarms going to ALARM fail the bakes that watch them',
        pattern: alarmPattern(['a-latency', 'b-5xx', 'g-errors']),
        target: 'alarm-changed',
      },
    ]);
  });

  it('needs no push rule without an ECR service, and no alarm rule without an alarm', () => {
    expect(eventRules(config(service('g', 'ghcr', 'acme/g', ['g-errors']))).map((r) => r.name)).toEqual(['alarm-changed']);
    expect(eventRules(config(service('a', 'ecr', 'team/a'))).map((r) => r.name)).toEqual(['ecr-push']);
    expect(eventRules(config(service('h', 'dockerhub', 'acme/h')))).toEqual([]);
  });

  it('keeps the named pattern up to exactly the quota, and matches every alarm going to ALARM one character past it', () => {
    // Alarm names that make the named pattern exactly EVENT_PATTERN_MAX_CHARS long, then one character longer.
    const names = (extra: number) => {
      const list = Array.from({ length: 10 }, (_, i) => `alarm-${i}-${'x'.repeat(192)}`);
      const tooLong = JSON.stringify(alarmPattern(list)).length - EVENT_PATTERN_MAX_CHARS - extra;
      list[9] = (list[9] as string).slice(0, -tooLong);
      return list;
    };
    const fits = names(0);
    expect(JSON.stringify(alarmPattern(fits)).length).toBe(EVENT_PATTERN_MAX_CHARS);
    const [exact] = eventRules(config(service('s', 'ghcr', 'acme/s', fits)));
    expect(exact?.pattern).toEqual(alarmPattern(fits));
    const [over] = eventRules(config(service('s', 'ghcr', 'acme/s', names(1))));
    expect(over?.pattern).toEqual({ ...alarmEnvelope, detail: toAlarm });
  });

  it('matches every successful push when the repositories do not fit', () => {
    const many = Array.from({ length: 120 }, (_, i) => service(`s${i}`, 'ecr', `team/service-number-${i}`));
    const [push] = eventRules(config(...many));
    expect(push?.pattern).toEqual({ ...ecrEnvelope, detail: pushDetail });
  });

  it("names the ECS services that roll out by the end of their ARN, and matches ECS's own events about them only", () => {
    const rules = eventRules(
      parseConfig(`
services:
  - name: orders
    image: { registry: ecr, repository: orders }
    target: { kind: ecs, cluster: 'demo-{environment}' }
    environments:
      - { name: staging }
      - { name: prod, rollout: { strategy: canary, steps: [10] } }
  - name: ledger
    image: { registry: ecr, repository: ledger }
    target: { kind: ecs, cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/finance', service: ledger-svc }
    environments: [{ name: prod, rollout: { strategy: linear, stepPercent: 25 } }]
  - name: plain
    image: { registry: ecr, repository: plain }
    target: { kind: ecs, cluster: main }
    environments: [{ name: prod }]
`),
    );
    const rule = rules.find((r) => r.name === 'ecs-rollout-changed');
    expect(rule).toMatchObject({
      target: 'ecs-rollout-changed',
      pattern: {
        source: ['aws.ecs'],
        'detail-type': ['ECS Deployment State Change', 'ECS Hook State Change'],
        resources: [{ suffix: ':service/demo-prod/orders' }, { suffix: ':service/finance/ledger-svc' }],
      },
    });
    // The ECS developer guide's event shape ("Amazon ECS service deployment state change events").
    const event = (service: string) => ({
      source: 'aws.ecs',
      'detail-type': 'ECS Deployment State Change',
      resources: [`arn:aws:ecs:us-west-2:111122223333:service/${service}`],
      detail: { eventType: 'INFO', eventName: 'SERVICE_DEPLOYMENT_COMPLETED' },
    });
    const pattern = rule?.pattern as Parameters<typeof matches>[0];
    expect(matches(pattern, event('demo-prod/orders'))).toBe(true);
    expect(matches(pattern, event('finance/ledger-svc'))).toBe(true);
    expect(matches(pattern, event('demo-staging/orders'))).toBe(false);
    expect(matches(pattern, event('main/plain'))).toBe(false);
    // No rollout on an ECS service: no rule.
    expect(eventRules(config(service('a', 'ecr', 'a'))).map((r) => r.name)).not.toContain('ecs-rollout-changed');
  });
});
