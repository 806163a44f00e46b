/**
 * Defect 15 end to end, in the local runtime (real ansible-playbook): with enough services that
 * the alarm and push rules no longer name every alarm and repository (they would pass
 * EventBridge's 2,048-character pattern quota, src/core/triggers/event-rules.ts), the local bus delivers
 * by the same wide patterns, and a watched alarm still fails its bake and rolls back.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/core/config/load.ts';
import { eventRules } from '../../src/core/triggers/event-rules.ts';
import { which } from '../../src/local/tools.ts';
import { REAL_DEPLOY_TEST_LIMIT_MS, startedId, startTestRuntime, type TestRuntime } from '../support/runtime.ts';

/** 80 more services with two alarms each: far more names than fit one pattern. */
const EXTRA = Array.from(
  { length: 80 },
  (_, i) => `  - name: other-${i}
    image: { registry: ecr, repository: team/other-service-${i} }
    target: { kind: ansible, inventory: none.yml }
    environments:
      - { name: prod, alarms: [other-service-${i}-prod-5xx-rate, other-service-${i}-prod-p99-latency] }`,
).join('\n');

describe('Alarm rule at scale (local runtime, real ansible-playbook)', { timeout: REAL_DEPLOY_TEST_LIMIT_MS }, () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    if (!which('ansible-playbook')) throw new Error('ansible-playbook is not on PATH: install ansible-core (`.ci/run` does)');
    rt = await startTestRuntime({ extraYaml: EXTRA, prodApproval: false });
  });
  afterAll(() => rt?.stop());

  it('the rules are the wide ones (no alarm or repository names)', async () => {
    const config = await loadConfigFile(path.join(rt.dir, 'coconut.yaml'));
    const rules = eventRules(config);
    expect(JSON.stringify(rules.map((r) => r.pattern))).not.toContain('demo-api');
    for (const rule of rules) expect(JSON.stringify(rule.pattern).length).toBeLessThanOrEqual(2048);
  });

  it('a bad version still rolls back when its watched alarm fires during bake', async () => {
    const good = startedId(await rt.push('1.0.0'));
    expect((await rt.waitForStage(good, 'staging', ['SUCCEEDED', 'FAILED', 'ROLLED_BACK'])).state).toBe('SUCCEEDED');
    await rt.engine.waitFor(good);

    const bad = startedId(await rt.push('1.1.0-bad'));
    const staging = await rt.waitForStage(bad, 'staging', ['ROLLED_BACK', 'SUCCEEDED', 'FAILED', 'ROLLBACK_FAILED']);
    expect(staging).toMatchObject({ state: 'ROLLED_BACK', alarm: 'demo-api-staging-health', rolledBackTo: '1.0.0' });
    expect(await rt.appVersion('staging')).toBe('1.0.0');
  });
});
