import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load.ts';
import { eventRules } from '../../src/core/triggers/event-rules.ts';
import { matches } from '../../src/local/event-pattern.ts';
import { ecrPush } from '../support/fixtures.ts';

describe('EventBridge patterns (local bus)', () => {
  it('matches exact values, nested objects and arrays in the event', () => {
    expect(matches({ source: ['a', 'b'], detail: { x: [1] } }, { source: 'b', detail: { x: 1 } })).toBe(true);
    expect(matches({ source: ['a'] }, { source: 'c' })).toBe(false);
    expect(matches({ resources: ['r1'] }, { resources: ['r0', 'r1'] })).toBe(true);
    expect(matches({ detail: { x: [1] } }, { detail: {} })).toBe(false);
  });

  it('supports prefix, suffix, anything-but, exists and numeric', () => {
    expect(matches({ a: [{ prefix: 'demo-' }] }, { a: 'demo-api' })).toBe(true);
    expect(matches({ a: [{ suffix: '-health' }] }, { a: 'api-health' })).toBe(true);
    expect(matches({ a: [{ 'anything-but': ['OK'] }] }, { a: 'ALARM' })).toBe(true);
    expect(matches({ a: [{ 'anything-but': ['OK'] }] }, { a: 'OK' })).toBe(false);
    expect(matches({ a: [{ exists: false }] }, {})).toBe(true);
    expect(matches({ a: [{ numeric: ['>', 0, '<=', 5] }] }, { a: 5 })).toBe(true);
    expect(matches({ a: [{ numeric: ['>', 0, '<=', 5] }] }, { a: 6 })).toBe(false);
  });

  it('derives the ECR and alarm rules from coconut.yaml', () => {
    const config = parseConfig(`
services:
  - name: api
    image: { registry: ecr, repository: my-repository-name }
    target: { kind: copilot, app: a }
    environments: [{ name: prod, alarms: [api-health] }]
`);
    const [ecr, alarm] = eventRules(config);
    expect(matches(ecr!.pattern, ecrPush())).toBe(true);
    expect(matches(ecr!.pattern, ecrPush({ 'repository-name': 'other' }))).toBe(false);
    expect(matches(ecr!.pattern, ecrPush({ 'action-type': 'DELETE' }))).toBe(false);
    const alarmEvent = (value: string) => ({
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm State Change',
      detail: { alarmName: 'api-health', state: { value } },
    });
    expect(matches(alarm!.pattern, alarmEvent('ALARM'))).toBe(true);
    expect(matches(alarm!.pattern, alarmEvent('OK'))).toBe(false);
  });
});
