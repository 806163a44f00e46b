/**
 * The backbone end to end, in the local runtime, with real ansible-playbook deploying the demo
 * app: push -> staging (deploy, bake) -> approval -> prod; a bad version rolls back by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { which } from '../../src/local/tools.ts';
import { REAL_DEPLOY_TEST_LIMIT_MS, startedId, startTestRuntime, type TestRuntime } from '../support/runtime.ts';

describe('Backbone e2e (local runtime, real ansible-playbook)', { timeout: REAL_DEPLOY_TEST_LIMIT_MS }, () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    if (!which('ansible-playbook'))
      throw new Error('ansible-playbook is not on PATH: install ansible-core (`npm test` installs it: scripts/system-tools.ts)');
    rt = await startTestRuntime();
  });
  afterAll(() => rt?.stop());

  it('deploys a push to staging, waits for approval, then deploys prod', async () => {
    const id = startedId(await rt.push('1.0.0'));
    const staging = await rt.waitForStage(id, 'staging', ['SUCCEEDED', 'FAILED', 'ROLLED_BACK']);
    expect(staging.state).toBe('SUCCEEDED');
    expect(staging.rehearsal).toBeUndefined();
    expect(await rt.appVersion('staging')).toBe('1.0.0');

    const approvalId = await rt.waitForApproval(id);
    expect((await rt.ports.store.getStage(id, 'prod'))?.state).toBe('AWAITING_APPROVAL');
    expect(await rt.appVersion('prod')).toBeUndefined(); // nothing in prod before approval
    const res = await rt.fetch(`/api/approvals/${approvalId}/approve`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(JSON.stringify(await res.json())).not.toContain('taskToken');

    const prod = await rt.waitForStage(id, 'prod', ['SUCCEEDED', 'FAILED', 'ROLLED_BACK']);
    expect(prod.state).toBe('SUCCEEDED');
    expect(await rt.appVersion('prod')).toBe('1.0.0');
    expect((await rt.engine.waitFor(id))?.status).toBe('SUCCEEDED');

    const history = (await (await rt.fetch('/api/history/demo-api')).json()) as {
      stages: { environment: string; state: string }[];
    };
    expect(history.stages.map((s) => `${s.environment}:${s.state}`)).toEqual(['prod:SUCCEEDED', 'staging:SUCCEEDED']);
    expect(await rt.ports.store.getEnvironmentState('demo-api', 'prod')).toMatchObject({ lastKnownGood: { version: '1.0.0' } });
  });

  it('rolls back a bad version when its health alarm fires during bake; prod is untouched', async () => {
    const id = startedId(await rt.push('1.1.0-bad'));
    const staging = await rt.waitForStage(id, 'staging', ['ROLLED_BACK', 'SUCCEEDED', 'FAILED', 'ROLLBACK_FAILED']);
    expect(staging).toMatchObject({
      state: 'ROLLED_BACK',
      alarm: 'demo-api-staging-health',
      rolledBackTo: '1.0.0',
      previousVersion: '1.0.0',
    });
    expect(staging.reason).toBe('alarm demo-api-staging-health fired during bake');
    expect(await rt.appVersion('staging')).toBe('1.0.0');
    expect((await rt.ports.store.getStage(id, 'prod'))?.state).toBe('SKIPPED');
    expect(await rt.appVersion('prod')).toBe('1.0.0');
    const execution = await rt.engine.waitFor(id);
    expect(execution).toMatchObject({ status: 'FAILED', error: 'Coconut.RolledBack' });
    expect(execution?.cause).toContain('rolled back to 1.0.0: alarm demo-api-staging-health fired during bake');
    expect(await rt.ports.store.getEnvironmentState('demo-api', 'staging')).toMatchObject({
      current: { version: '1.0.0' },
      lastKnownGood: { version: '1.0.0' },
    });
  });

  it('starts one deployment for the same push twice', async () => {
    const first = await rt.push('1.2.0');
    const second = await rt.push('1.2.0');
    const id = startedId(first);
    expect(second.Entries[0]?.Deliveries[0]?.result?.outcomes).toEqual([
      { status: 'duplicate', service: 'demo-api', deploymentId: id },
    ]);
    expect(rt.engine.list().filter((e) => e.name === id)).toHaveLength(1);
    await rt.waitForStage(id, 'prod', ['AWAITING_APPROVAL']);
    await rt.fetch(`/api/approvals/${await rt.waitForApproval(id)}/reject`, {
      method: 'POST',
      body: JSON.stringify({ comment: 'not today' }),
    });
    const prod = await rt.waitForStage(id, 'prod', ['REJECTED']);
    expect(prod.reason).toBe(`rejected by ${process.env.USER ?? 'local'}: not today`);
    expect(await rt.appVersion('prod')).toBe('1.0.0');
  });

  it('ignores a push of an unknown repository with a reason, starting nothing', async () => {
    const before = rt.engine.list().length;
    const result = await rt.push('1.0.0', 'not-configured');
    expect(result.Entries[0]?.Deliveries).toEqual([]); // no rule matches its repository
    const direct = await rt.functions['ecr-push']!(
      {
        id: 'x',
        source: 'aws.ecr',
        'detail-type': 'ECR Image Action',
        detail: { 'action-type': 'PUSH', result: 'SUCCESS', 'repository-name': 'not-configured', 'image-tag': '1.0.0' },
      },
      {} as never,
    );
    expect(direct).toEqual({
      outcomes: [],
      ignored: 'no service in coconut.yaml uses ecr repository "not-configured" (configured: demo-api)',
    });
    expect(
      rt.log.lines.some((l) =>
        l.message.includes('ignored push not-configured:1.0.0: no service in coconut.yaml uses ecr repository'),
      ),
    ).toBe(true);
    expect(rt.engine.list()).toHaveLength(before);
  });
});
