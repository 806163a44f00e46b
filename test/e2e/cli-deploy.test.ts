/**
 * `coconut deploy|rollback --wait` as a user runs it: bin/coconut.mjs spawned against a local
 * runtime (COCONUT_URL), real ansible-playbook deploying the demo app. The steps must reach the
 * terminal while the deployment runs, and the exit code must say how it ended.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/local/runtime.ts';
import { which } from '../../src/local/tools.ts';
import { startTestRuntime, type TestRuntime } from '../support/runtime.ts';

interface Run {
  child: ChildProcess;
  output: () => string;
  /** Resolves once stdout contains `text` (checked on each chunk the CLI writes); rejects if it exits first. */
  printed: (text: string) => Promise<void>;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function coconut(rt: TestRuntime | undefined, args: string[]): Run {
  let stdout = '';
  let stderr = '';
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin/coconut.mjs'), ...args], {
    env: { ...process.env, ...(rt ? rt.cliEnv : {}), NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  const printed = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!stdout.includes(text)) return;
        child.stdout?.off('data', check);
        resolve();
      };
      child.stdout?.on('data', check);
      void done.then(({ code }) =>
        reject(new Error(`coconut exited (${code}) before printing ${JSON.stringify(text)}:\n${stdout}\n${stderr}`)),
      );
      check();
    });
  return { child, output: () => stdout, printed, done };
}

describe('coconut deploy / rollback --wait (spawned CLI, local runtime, real ansible-playbook)', () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    if (!which('ansible-playbook'))
      throw new Error('ansible-playbook is not on PATH: install ansible-core (`npm test` installs it: scripts/system-tools.ts)');
    rt = await startTestRuntime({ stagingBake: '2s' });
  });
  afterAll(() => rt?.stop());

  it('deploy demo-api 1.0.0 --env staging --wait prints each step as it happens and exits 0', async () => {
    const run = coconut(rt, ['deploy', 'demo-api', '1.0.0', '--env', 'staging', '--wait']);
    // While the deployment bakes, the steps before it are already on the terminal and the command still runs.
    const id = await waitForDeployment(rt, '1.0.0');
    await rt.waitForStage(id, 'staging', ['BAKING'], 240_000);
    await run.printed('✓ staging    Deploy');
    expect(run.child.exitCode).toBeNull();
    expect(run.output()).toContain('✓ staging    AcquireLock');
    expect(run.output()).toContain('● staging    DEPLOYING');
    const { code, stdout } = await run.done;
    expect(code).toBe(0);
    const order = [
      'deploying demo-api 1.0.0 to staging',
      '✓ staging    AcquireLock',
      '● staging    DEPLOYING',
      '✓ staging    Deploy ',
      '● staging    BAKING',
      '✓ staging    Bake ',
      '● staging    SUCCEEDED',
    ].map((s) => stdout.indexOf(s));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(stdout).toMatch(/✓ demo-api 1\.0\.0 succeeded on staging in \d/);
    expect(await rt.appVersion('staging')).toBe('1.0.0');
    expect((await rt.ports.store.getDeployment(id))?.trigger).toMatchObject({ kind: 'manual' });
    // Only staging was asked for: prod is not part of this deployment.
    expect((await rt.ports.store.getDeployment(id))?.environments).toEqual(['staging']);
  }, 400_000);

  it('with a bad version exits 1 after the rollback and says why', async () => {
    const { code, stdout } = await coconut(rt, ['deploy', 'demo-api', '1.1.0-bad', '--env', 'staging', '--wait']).done;
    expect(code).toBe(1);
    expect(stdout).toContain('● staging    ROLLING_BACK to 1.0.0: alarm demo-api-staging-health fired during bake');
    expect(stdout).toContain('✓ staging    Rollback');
    expect(stdout).toContain('✗ demo-api 1.1.0-bad did not deploy');
    expect(stdout).toContain('staging ROLLED_BACK: alarm demo-api-staging-health fired during bake — rolled back to 1.0.0');
    expect(await rt.appVersion('staging')).toBe('1.0.0');
  }, 400_000);

  it('rollback --env staging --wait goes back to the previous good version, recorded as a rollback', async () => {
    expect((await coconut(rt, ['deploy', 'demo-api', '1.2.0', '--env', 'staging', '--wait']).done).code).toBe(0);
    expect(await rt.appVersion('staging')).toBe('1.2.0');
    const { code, stdout } = await coconut(rt, ['rollback', 'demo-api', '--env', 'staging', '--wait']).done;
    expect(stdout).toContain('rolling back demo-api on staging from 1.2.0 to 1.0.0');
    expect(code).toBe(0);
    expect(await rt.appVersion('staging')).toBe('1.0.0');
    const history = await coconut(rt, ['history', 'demo-api', '--env', 'staging', '--json']).done;
    const latest = JSON.parse(history.stdout).stages[0];
    expect(latest).toMatchObject({ version: '1.0.0', state: 'SUCCEEDED', kind: 'rollback', previousVersion: '1.2.0' });
    const deployment = await rt.ports.store.getDeployment(latest.deploymentId);
    expect(deployment).toMatchObject({ kind: 'rollback', trigger: { kind: 'rollback' } });
    // 1.1.0-bad never passed its bake there: it cannot be a rollback target.
    const refused = await coconut(rt, ['rollback', 'demo-api', '--env', 'staging', '--to', '1.1.0-bad']).done;
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('demo-api 1.1.0-bad never passed its bake on staging');
  }, 600_000);

  it.each([
    [['deploy', 'demo-api'], 'expected a service and a tag'],
    [['deploy', 'demo-api', '1.0.0', '--wait', '--timeout', 'soon'], '--timeout must be a duration'],
    [['rollback', 'demo-api'], '--env is required'],
    [['watch'], 'expected one deployment id'],
    [['cost', '--deploys-per-day', 'many'], '--deploys-per-day must be a number'],
    [['history', 'demo-api', '--state', 'GREAT'], '--state must be one of'],
  ])('exits 2 with the usage for bad arguments: %j', async (args, message) => {
    const { code, stderr } = await coconut(undefined, args).done;
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(stderr).toContain(`usage: coconut ${args[0]}`);
  });

  it('names what is wrong when the service or environment does not exist (exit 1)', async () => {
    const unknown = await coconut(rt, ['deploy', 'nope', '1.0.0']).done;
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no service named "nope" in coconut.yaml (configured: demo-api)');
    const env = await coconut(rt, ['deploy', 'demo-api', '1.0.0', '--env', 'qa']).done;
    expect(env.stderr).toContain('demo-api has no environment qa (environments: staging, prod)');
    const watch = await coconut(rt, ['watch', 'nope-123']).done;
    expect(watch.code).toBe(1);
    expect(watch.stderr).toContain('deployment nope-123 does not exist (HTTP 404');
  });
});

function waitForDeployment(rt: TestRuntime, version: string): Promise<string> {
  return rt.until(
    `a deployment of demo-api ${version}`,
    async () =>
      (await rt.ports.store.listDeployments({ service: 'demo-api', limit: 5 })).find((d) => d.version === version)?.deploymentId,
    240_000,
  );
}
