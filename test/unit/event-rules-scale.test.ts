/**
 * The EventBridge rules of a 1,000-service coconut.yaml fit EventBridge's pattern size quota
 * (2,048 characters, https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html, via
 * test/support/aws-limits.ts), and still deliver what they must: a watched alarm going to ALARM
 * fails its bake; a push of a configured repository starts a deployment; the rest is ignored.
 */
import { describe, expect, it } from 'vitest';
import { createAlarmChangedHandler } from '../../functions/alarm-changed.ts';
import { parseConfig } from '../../src/core/config/load.ts';
import { eventRules } from '../../src/core/triggers/event-rules.ts';
import { matches } from '../../src/local/event-pattern.ts';
import { EVENT_PATTERN_MAX_CHARS } from '../support/aws-limits.ts';
import { bigConfigYaml } from '../support/big-config.ts';
import { ecrPush } from '../support/fixtures.ts';

const alarmEvent = (alarmName: string, value: string) => ({
  id: 'e1',
  source: 'aws.cloudwatch',
  'detail-type': 'CloudWatch Alarm State Change',
  detail: { alarmName, state: { value }, previousState: { value: 'OK' } },
});

describe('EventBridge rules at 1,000 services', () => {
  const config = parseConfig(bigConfigYaml(1000));
  const rules = Object.fromEntries(eventRules(config).map((r) => [r.name, r]));

  it('every pattern fits the quota, as deployed (JSON text)', () => {
    expect(Object.keys(rules).sort()).toEqual(['alarm-changed', 'ecr-push']);
    for (const rule of Object.values(rules)) {
      expect(JSON.stringify(rule.pattern).length, rule.name).toBeLessThanOrEqual(EVENT_PATTERN_MAX_CHARS);
    }
  });

  it('the alarm rule delivers a watched alarm going to ALARM, not other states', () => {
    const pattern = rules['alarm-changed']?.pattern as Record<string, unknown>;
    expect(matches(pattern, alarmEvent('svc-999-prod-5xx-rate', 'ALARM'))).toBe(true);
    expect(matches(pattern, alarmEvent('svc-999-prod-5xx-rate', 'OK'))).toBe(false);
    expect(matches(pattern, { ...alarmEvent('svc-1-prod-5xx-rate', 'ALARM'), source: 'aws.ecr' })).toBe(false);
  });

  it('the push rule delivers successful pushes, not deletions', () => {
    const pattern = rules['ecr-push']?.pattern as Record<string, unknown>;
    expect(matches(pattern, ecrPush({ 'repository-name': 'team/svc-999' }))).toBe(true);
    expect(matches(pattern, ecrPush({ 'repository-name': 'team/svc-999', 'action-type': 'DELETE' }))).toBe(false);
  });

  it('the alarm-changed function ignores an alarm no bake watches (the wide pattern lets it through)', async () => {
    const failed: string[] = [];
    const handler = createAlarmChangedHandler(
      async () =>
        ({
          store: { listBakeWatches: async () => [], deleteBakeWatch: async () => {} },
          orchestrator: { sendTaskFailure: async (token: string) => void failed.push(token) },
          log: { debug() {}, info() {}, warn() {}, error() {} },
        }) as never,
    );
    const result = await handler(alarmEvent('someone-elses-alarm', 'ALARM') as never, {} as never);
    expect(result).toEqual({ failedBakes: 0, ignored: 'no bake is watching someone-elses-alarm' });
    expect(failed).toEqual([]);
  });
});

describe('EventBridge rules of a small config stay precise', () => {
  it('name the repositories and alarms, so unrelated events cost no invocation', () => {
    const config = parseConfig(bigConfigYaml(3));
    const [ecr, alarm] = eventRules(config);
    expect(matches(ecr?.pattern as Record<string, unknown>, ecrPush({ 'repository-name': 'other' }))).toBe(false);
    expect(matches(alarm?.pattern as Record<string, unknown>, alarmEvent('someone-elses-alarm', 'ALARM'))).toBe(false);
    expect(matches(alarm?.pattern as Record<string, unknown>, alarmEvent('svc-2-prod-p99-latency', 'ALARM'))).toBe(true);
  });
});
