/**
 * A canary rollout on Ansible hosts, end to end: the local runtime runs deploy.asl.json's step loop,
 * and each step is a real ansible-playbook run over the next batch of the demo's four prod hosts
 * (local processes). The batch reaches Ansible as data: `--limit @file` (ansible-core
 * lib/ansible/inventory/manager.py, InventoryManager.subset: "Unix style @filename data"), the
 * host names written by templates/buildspec/scripts/ansible-batch.py.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StageRecord } from '../../src/core/model/deployment.ts';
import { which } from '../../src/local/tools.ts';
import { REAL_DEPLOY_TEST_LIMIT_MS, startedId, startTestRuntime, type TestRuntime } from '../support/runtime.ts';

describe('Canary rollout over Ansible hosts (local runtime, real ansible-playbook)', {
  timeout: REAL_DEPLOY_TEST_LIMIT_MS,
}, () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    if (!which('ansible-playbook'))
      throw new Error('ansible-playbook is not on PATH: install ansible-core (`npm test` installs it: scripts/system-tools.ts)');
    rt = await startTestRuntime({
      prodApproval: false,
      stagingBake: '1s',
      // 25% of 4 hosts is 1 host, 50% is 2, then all 4; each step bakes 3 s under the prod health alarm.
      prodRollout: '{ strategy: canary, steps: [25, 50], bake: 3s }',
    });
  });
  afterAll(() => rt?.stop());

  const versions = () => Promise.all(rt.appPorts.prodHosts.map((port) => rt.appVersion(port)));
  const atStep = (id: string, step: number) =>
    rt.until(`prod baking step ${step} of ${id}`, async () => {
      const stage = await rt.ports.store.getStage(id, 'prod');
      return stage?.state === 'BAKING' && stage.rollout?.step === step ? stage : undefined;
    });
  const released = (host: string, version: string) => existsSync(path.join(rt.dir, 'targets', host, 'releases', version));

  it('a good release walks every step: one host, then two, then all four', async () => {
    const id = startedId(await rt.push('1.0.0'));
    const first = await atStep(id, 1);
    expect(first.rollout).toEqual({ strategy: 'canary', step: 1, of: 3, percent: 25, previousPercent: 0 });
    expect(await versions()).toEqual(['1.0.0', undefined, undefined, undefined]);
    await atStep(id, 2);
    expect(await versions()).toEqual(['1.0.0', '1.0.0', undefined, undefined]);
    const prod = await rt.waitForStage(id, 'prod', ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'ROLLBACK_FAILED']);
    expect(prod.state, prod.reason).toBe('SUCCEEDED');
    expect(prod.rollout).toMatchObject({ step: 3, of: 3, percent: 100 });
    expect(await versions()).toEqual(['1.0.0', '1.0.0', '1.0.0', '1.0.0']);
    // One deploy per step, each baked on its own task token.
    const entered = (state: string) => rt.engine.events(id).filter((e) => e.type === 'StateEntered' && e.state === state).length;
    expect([entered('DeployStep'), entered('StepBake'), entered('Deploy')]).toEqual([3, 3, 1]); // Deploy: staging
  });

  it('a bad release is rolled back at the first step, naming the alarm and the step; only the first host ever ran it', async () => {
    const res = await rt.fetch('/api/deployments', {
      method: 'POST',
      body: JSON.stringify({ service: 'demo-api', version: '1.1.0-bad', environments: ['prod'] }),
    });
    expect(res.status).toBe(201);
    const id = ((await res.json()) as { deployment: { deploymentId: string } }).deployment.deploymentId;
    const prod: StageRecord = await rt.waitForStage(id, 'prod', ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'ROLLBACK_FAILED']);
    expect(prod.state, prod.reason).toBe('ROLLED_BACK');
    expect(prod.alarm).toBe('demo-api-prod-health');
    expect(prod.reason).toContain('alarm demo-api-prod-health fired during bake at canary 25% (step 1 of 3)');
    expect(prod.rollout).toMatchObject({ step: 1, percent: 25 });
    expect((await rt.engine.waitFor(id))?.cause).toContain('at canary 25% (step 1 of 3)');
    // The bad release reached demo-prod only; the rollback returned it to 1.0.0 and the others never changed.
    expect(released('prod', '1.1.0-bad')).toBe(true);
    expect(['prod-2', 'prod-3', 'prod-4'].map((host) => released(host, '1.1.0-bad'))).toEqual([false, false, false]);
    await rt.until('demo-prod to answer 1.0.0 again', async () => ((await versions())[0] === '1.0.0' ? true : undefined));
    expect(await versions()).toEqual(['1.0.0', '1.0.0', '1.0.0', '1.0.0']);
    expect(rt.engine.events(id).filter((e) => e.type === 'StateEntered' && e.state === 'DeployStep')).toHaveLength(1);
  });
});
