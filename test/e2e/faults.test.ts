/**
 * Faults: every failure ends in a named state, the lock is released, and the record is right.
 * Real ansible-playbook where a real target runs; elsewhere builds from a fixture source that
 * fail or hang on cue (so the engine, state machine and store are real, the fault is injected).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readOperatorToken } from '../../src/local/secrets.ts';
import { faultySource } from '../support/fixture-source.ts';
import { REAL_DEPLOY_TEST_LIMIT_MS, startedId, startTestRuntime, type TestRuntime } from '../support/runtime.ts';

const ENDED = ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'ROLLBACK_FAILED', 'REJECTED', 'INTERRUPTED', 'SKIPPED'] as const;

/** Waits until a child's stdout or stderr (so far or later) matches `pattern`; the test's limit bounds it. */
function outputOf(child: ChildProcess): (pattern: RegExp) => Promise<RegExpExecArray> {
  let text = '';
  const waiters = new Set<() => void>();
  const take = (chunk: Buffer) => {
    text += chunk.toString();
    for (const wake of waiters) wake();
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  return (pattern) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(text);
        if (match) {
          waiters.delete(check);
          child.off('exit', exited);
          resolve(match);
        }
      };
      const exited = (code: number | null) => {
        waiters.delete(check);
        reject(new Error(`the process exited (${code}) before it said ${pattern}:\n${text.slice(-3000)}`));
      };
      waiters.add(check);
      child.once('exit', exited);
      check();
    });
}

async function expectUnlocked(rt: TestRuntime, env: string) {
  const lock = await rt.ports.store.getLock(`demo-api#${env}`);
  expect(lock?.owner, `lock of ${env}`).toBeUndefined();
}

describe('Faults (local runtime)', () => {
  let rt: TestRuntime | undefined;
  afterEach(async () => {
    await rt?.stop();
    rt = undefined;
  });

  it(
    'deploy build fails (real ansible-playbook: the release crashes at start) -> rollback -> ROLLED_BACK',
    async () => {
      rt = await startTestRuntime({ prodApproval: false, stagingBake: '1s', prodBake: '1s' });
      const good = startedId(await rt.push('1.0.0'));
      await rt.waitForStage(good, 'prod', ['SUCCEEDED']);
      const id = startedId(await rt.push('1.0.1-crash'));
      const staging = await rt.waitForStage(id, 'staging', [...ENDED]);
      expect(staging.state).toBe('ROLLED_BACK');
      expect(staging.reason).toMatch(/^deploy build coconut-ansible-deploy:\S+ failed: phase BUILD/);
      expect(staging.rolledBackTo).toBe('1.0.0');
      expect(await rt.appVersion('staging')).toBe('1.0.0');
      expect((await rt.ports.store.getStage(id, 'prod'))?.state).toBe('SKIPPED');
      await rt.engine.waitFor(id);
      await expectUnlocked(rt, 'staging');
    },
    REAL_DEPLOY_TEST_LIMIT_MS,
  );

  it('rollback build fails too -> ROLLBACK_FAILED, needs attention in the API, lock released', async () => {
    rt = await startTestRuntime({
      prodApproval: false,
      stagingBake: '0s',
      prodBake: '0s',
      sourceDir: faultySource(),
      probes: false,
    });
    await rt.waitForStage(startedId(await rt.push('1.0.0')), 'prod', ['SUCCEEDED']);
    writeFileSync(path.join(rt.dir, 'rollback-broken'), '');
    const id = startedId(await rt.push('1.1.0-doomed'));
    const staging = await rt.waitForStage(id, 'staging', [...ENDED]);
    expect(staging.state).toBe('ROLLBACK_FAILED');
    expect(staging.reason).toContain('then rollback build');
    expect(staging.reason).toContain('demo-api on staging needs attention');
    expect(await rt.engine.waitFor(id)).toMatchObject({ status: 'FAILED', error: 'Coconut.RollbackFailed' });
    const status = (await (await rt.fetch('/api/status')).json()) as {
      services: { environments: { name: string; needsAttention: boolean }[] }[];
    };
    expect(status.services[0]?.environments.find((e) => e.name === 'staging')?.needsAttention).toBe(true);
    await expectUnlocked(rt, 'staging');
  });

  it('an alarm already in ALARM when the deploy starts must recover by the end of the bake (documented choice)', async () => {
    rt = await startTestRuntime({
      prodApproval: false,
      stagingBake: '3s',
      prodBake: '0s',
      sourceDir: faultySource(),
      probes: false,
    });
    await rt.waitForStage(startedId(await rt.push('1.0.0')), 'prod', ['SUCCEEDED']);
    // Recovers during the bake (the new version may be the fix): SUCCEEDED.
    await rt.alarms.set('demo-api-staging-health', 'ALARM');
    const fixed = startedId(await rt.push('1.0.1'));
    await rt.waitForStage(fixed, 'staging', ['BAKING']);
    await rt.alarms.set('demo-api-staging-health', 'OK');
    expect((await rt.waitForStage(fixed, 'staging', [...ENDED])).state).toBe('SUCCEEDED');
    await rt.waitForStage(fixed, 'prod', ['SUCCEEDED']);
    // Still firing at the end of the bake: rolled back, naming the alarm.
    await rt.alarms.set('demo-api-staging-health', 'ALARM');
    const stuck = startedId(await rt.push('1.0.2'));
    const stage = await rt.waitForStage(stuck, 'staging', [...ENDED]);
    expect(stage).toMatchObject({
      state: 'ROLLED_BACK',
      alarm: 'demo-api-staging-health',
      preexistingAlarms: ['demo-api-staging-health'],
    });
    await rt.engine.waitFor(stuck);
    await expectUnlocked(rt, 'staging');
  });

  it('INSUFFICIENT_DATA during bake does not roll back (documented choice: not breaching)', async () => {
    rt = await startTestRuntime({
      prodApproval: false,
      stagingBake: '2s',
      prodBake: '0s',
      sourceDir: faultySource(),
      probes: false,
    });
    const id = startedId(await rt.push('1.0.0'));
    await rt.waitForStage(id, 'staging', ['BAKING']);
    await rt.alarms.set('demo-api-staging-health', 'INSUFFICIENT_DATA');
    expect((await rt.waitForStage(id, 'staging', [...ENDED])).state).toBe('SUCCEEDED');
    expect(rt.log.lines.some((l) => l.message.includes('insufficient data; not counted as a breach'))).toBe(true);
  });

  it('an approval that expires -> REJECTED (expired), approval EXPIRED, lock released', async () => {
    rt = await startTestRuntime({ approvalTimeout: '2s', stagingBake: '0s', sourceDir: faultySource(), probes: false });
    const id = startedId(await rt.push('1.0.0'));
    const approvalId = await rt.waitForApproval(id);
    const prod = await rt.waitForStage(id, 'prod', [...ENDED]);
    expect(prod).toMatchObject({ state: 'REJECTED', reason: 'approval expired: nobody approved it in time' });
    expect(await rt.engine.waitFor(id)).toMatchObject({ status: 'FAILED', error: 'Coconut.ApprovalExpired' });
    expect((await rt.ports.store.getApproval(approvalId))?.status).toBe('EXPIRED');
    // A late click is refused and resumes nothing.
    const late = await rt.fetch(`/api/approvals/${approvalId}/approve`, { method: 'POST' });
    expect(late.status).toBe(409);
    await expectUnlocked(rt, 'prod');
  });

  it('an alarm that fires while prod waits for approval is judged by the bake after approval', async () => {
    rt = await startTestRuntime({ stagingBake: '0s', prodBake: '2s', sourceDir: faultySource(), probes: false });
    const id = startedId(await rt.push('1.0.0'));
    const approvalId = await rt.waitForApproval(id);
    await rt.alarms.set('demo-api-prod-health', 'ALARM');
    await rt.fetch(`/api/approvals/${approvalId}/approve`, { method: 'POST' });
    const prod = await rt.waitForStage(id, 'prod', [...ENDED]);
    // Still firing after the bake and nothing earlier to go back to: FAILED, naming the alarm.
    expect(prod.state).toBe('FAILED');
    expect(prod.reason).toContain('alarm demo-api-prod-health');
    await rt.engine.waitFor(id);
    await expectUnlocked(rt, 'prod');
  });

  it('the store refuses writes: the push is answered with an error to retry, and no execution starts', async () => {
    rt = await startTestRuntime({ prodApproval: false, sourceDir: faultySource(), probes: false });
    await rt.storeServer.stop();
    const result = await rt.push('9.9.9');
    const delivery = result.Entries[0]?.Deliveries[0];
    expect(delivery?.error).toMatch(/DynamoDB table coconut|ECONNREFUSED|connect/);
    expect(rt.engine.list()).toHaveLength(0);
  });
});

describe('Faults: the local runtime process is killed mid-deployment', () => {
  let child: ChildProcess | undefined;
  let rt: TestRuntime | undefined;
  afterEach(async () => {
    child?.kill('SIGKILL');
    await rt?.stop();
  });

  it(
    'shows the deployment as INTERRUPTED after a restart, releases its lock, keeps history, and deploys again',
    async () => {
      // First life: a separate process (so it can really be killed), with deploys that hang.
      const first = await startTestRuntime({ prodApproval: false, sourceDir: faultySource(), probes: false });
      const { dir } = first;
      const configPath = path.join(dir, 'coconut.yaml');
      await first.stop();
      writeFileSync(path.join(dir, 'deploy-sleep'), '');
      const source = faultySource();
      // Port 0: the server binds a port the kernel picks and prints its URL; the test synchronises on
      // what the process says (its stdout and its log lines on stderr), never on a timer.
      child = spawn(
        process.execPath,
        [
          'bin/coconut.mjs',
          'dev',
          '--config',
          configPath,
          '--data-dir',
          dir,
          '--port',
          '0',
          '--source-dir',
          source,
          '--no-probes',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, COCONUT_LOG_LEVEL: 'INFO' } },
      );
      const said = outputOf(child);
      const url = (await said(/^Dashboard: (http:\/\/127\.0\.0\.1:\d+)\//m))[1] as string;
      // The operator token `coconut dev` generated into its data dir, as the CLI reads it.
      const operator = { 'x-coconut-token': readOperatorToken(dir) ?? '' };
      const detail = JSON.stringify({
        'action-type': 'PUSH',
        result: 'SUCCESS',
        'repository-name': 'demo-api',
        'image-tag': '4.0.0',
      });
      const pushed = (await (
        await fetch(`${url}/events`, {
          method: 'POST',
          headers: { ...operator, 'content-type': 'application/json' },
          body: JSON.stringify({ Entries: [{ Source: 'aws.ecr', DetailType: 'ECR Image Action', Detail: detail }] }),
        })
      ).json()) as Parameters<typeof startedId>[0];
      const id = startedId(pushed);
      // The deploy build starts once the stage is DEPLOYING (stage-steps.ts), and hangs on deploy-sleep.
      await said(/build demo-api\/staging ansible-deploy: started/);
      const during = (await (await fetch(`${url}/api/deployments/${id}`, { headers: operator })).json()) as {
        deployment: { stages: { environment: string; state: string }[] };
      };
      expect(during.deployment.stages[0]?.state).toBe('DEPLOYING');
      child.kill('SIGKILL');
      await new Promise((r) => child?.once('exit', r));

      // Second life, same data dir.
      rt = await startTestRuntime({ dataDir: dir, prodApproval: false, sourceDir: faultySource(), probes: false });
      const deployment = await rt.ports.store.getDeployment(id);
      expect(deployment?.stages.map((s) => `${s.environment}:${s.state}`)).toEqual(['staging:INTERRUPTED', 'prod:SKIPPED']);
      expect(deployment?.stages[0]?.reason).toBe('the local runtime stopped during DEPLOYING');
      expect(rt.engine.get(id)?.status).toBe('INTERRUPTED');
      await expectUnlocked(rt, 'staging');
      // Continue from there, as `coconut deploy demo-api 4.0.0` does: the interrupted version
      // deploys again as a new execution (the lock is free), and history keeps both.
      const { rmSync } = await import('node:fs');
      rmSync(path.join(dir, 'deploy-sleep'));
      const again = await rt.fetch('/api/deployments', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ service: 'demo-api', version: '4.0.0' }),
      });
      expect(again.status).toBe(201);
      const redeploy = ((await again.json()) as { deployment: { deploymentId: string } }).deployment.deploymentId;
      expect(redeploy).not.toBe(id);
      expect((await rt.waitForStage(redeploy, 'prod', [...ENDED])).state).toBe('SUCCEEDED');
      const history = await rt.ports.store.listStages({ service: 'demo-api', environment: 'staging' });
      expect(history.map((s) => `${s.version}:${s.state}`)).toEqual(
        expect.arrayContaining(['4.0.0:INTERRUPTED', '4.0.0:SUCCEEDED']),
      );
    },
    REAL_DEPLOY_TEST_LIMIT_MS,
  );
});
