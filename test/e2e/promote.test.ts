/**
 * `coconut promote` as a user runs it (bin/coconut.mjs spawned against the local runtime, real
 * ansible-playbook deploying the demo app): the digest that passed staging goes to prod, even after
 * the tag was pushed again with other content (a second ECR push of 1.0.0 with another digest,
 * stopped at staging's approval). The prod deployment records that digest and hands it to the build.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';
import { which } from '../../src/local/tools.ts';
import { REAL_DEPLOY_TEST_LIMIT_MS, startedId, startTestRuntime, type TestRuntime } from '../support/runtime.ts';

const D1 = `sha256:${'a1'.repeat(32)}`;
const D2 = `sha256:${'b2'.repeat(32)}`;

describe('coconut promote (spawned CLI, local runtime, real ansible-playbook)', {
  timeout: REAL_DEPLOY_TEST_LIMIT_MS * 2,
}, () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    if (!which('ansible-playbook'))
      throw new Error('ansible-playbook is not on PATH: install ansible-core (`npm test` installs it: scripts/system-tools.ts)');
    rt = await startTestRuntime({ stagingApproval: true, stagingBake: '1s', prodBake: '1s', probes: false });
  });
  afterAll(() => rt?.stop());

  const coconut = (args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin/coconut.mjs'), ...args], {
        env: { ...process.env, ...rt.cliEnv, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });

  const decide = async (id: string, verdict: 'approve' | 'reject') => {
    const res = await rt.fetch(`/api/approvals/${await rt.waitForApproval(id)}/${verdict}`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(200);
  };

  it('deploys to prod the digest proven on staging after the tag was re-pushed with another digest', async () => {
    // 1.0.0 as D1 passes staging; prod is declined for now.
    const first = startedId(await rt.push('1.0.0', 'demo-api', D1));
    await decide(first, 'approve');
    expect((await rt.waitForStage(first, 'staging', ['SUCCEEDED', 'FAILED', 'ROLLED_BACK'])).state).toBe('SUCCEEDED');
    await decide(first, 'reject');
    await rt.waitForStage(first, 'prod', ['REJECTED']);
    // The tag is pushed again with other content: that deployment waits at staging, never proven there.
    const repushed = startedId(await rt.push('1.0.0', 'demo-api', D2));
    await rt.waitForApproval(repushed);
    expect(repushed).not.toBe(first);

    // Spawned, never spawnSync: the runtime answering it lives in this process.
    const run = await coconut(['promote', 'demo-api', '--to', 'prod']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`promoting demo-api 1.0.0 (${D1}, passed on staging) to prod`);
    const id = /deployment (\S+)\n/.exec(run.stdout)?.[1];
    if (!id) throw new Error(`no deployment id in: ${run.stdout}`);
    const promoted = await rt.ports.store.getDeployment(id);
    expect(promoted).toMatchObject({
      environments: ['prod'],
      image: { tag: '1.0.0', digest: D1 },
      trigger: { kind: 'promote', from: 'staging' },
    });

    await decide(id, 'approve');
    expect((await rt.waitForStage(id, 'prod', ['SUCCEEDED', 'FAILED', 'ROLLED_BACK'])).state).toBe('SUCCEEDED');
    expect(await rt.appVersion('prod')).toBe('1.0.0');
    // The build was handed D1 (the execution input's build environment), not the tag's newest D2.
    const input = rt.engine.get(id)?.input as { environments: { buildEnv: { Name: string; Value: string }[] }[] } | undefined;
    expect(input?.environments[0]?.buildEnv.find((v) => v.Name === 'COCONUT_IMAGE_DIGEST')?.Value).toBe(D1);
  });
});
