/**
 * Pins in the local runtime (issue 16, "a pin holds pushes"): through deploy.asl.json's FreezeGate /
 * Frozen states, the real store (dynalite), the `coconut` CLI spawned as a user runs it, and real
 * ansible-playbook deploys.
 *
 * - prod runs 1.0.0 (recorded in the store) and is pinned at 1.0.0.
 * - 1.1.0 is pushed: staging deploys it, prod waits at the pin (no polling: one Frozen task whose
 *   token sits in the pin), and `coconut status` says so.
 * - `coconut unpin` releases it: prod deploys 1.1.0; `coconut history` lists who pinned and
 *   unpinned, when and why.
 * - a manual deploy is not held by a pin.
 * The machine these tests share is slow to spawn a CLI: the CLI runs where its output is the point.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coconut } from '../support/cli.ts';
import { REAL_DEPLOY_TEST_LIMIT_MS, startedId, startTestRuntime, type TestRuntime } from '../support/runtime.ts';

describe('Pins (local runtime)', { timeout: REAL_DEPLOY_TEST_LIMIT_MS }, () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await startTestRuntime({
      dataDir: mkdtempSync(path.join(tmpdir(), 'coconut-e2e-pin-')),
      prodApproval: false,
      stagingBake: '1s',
      prodBake: '1s',
      probes: false,
    });
    // What runs on prod, as a deployment that succeeded there records it (written to the real store
    // directly: this test is about the pin, and the machine runs few real deploys per test limit).
    await rt.ports.store.setEnvironmentVersions(
      'demo-api',
      'prod',
      { current: { version: '1.0.0', deploymentId: 'demo-api-1_0_0-000000000000' } },
      new Date(),
    );
  });
  afterAll(() => rt?.stop());

  it('refuses a pin that would not be true, a second pin and an unpin of nothing, saying why', async () => {
    // --version must say what runs there: a pin says what the environment is held at.
    const wrong = await coconut(['pin', 'demo-api', '--env', 'prod', '--version', '0.9.0', '--reason', 'audit'], {
      env: rt.cliEnv,
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('demo-api runs 1.0.0 on prod, not 0.9.0');
    const noReason = await coconut(['pin', 'demo-api', '--env', 'prod'], { env: rt.cliEnv });
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('--reason is required');
    const pinned = await coconut(['pin', 'demo-api', '--env', 'prod', '--reason', 'first'], { env: rt.cliEnv });
    expect(pinned.stderr).toBe('');
    expect(pinned.stdout).toMatch(/^demo-api on prod is PINNED at 1\.0\.0 by .+: first\n/);
    const twice = await coconut(['pin', 'demo-api', '--env', 'prod', '--reason', 'again'], { env: rt.cliEnv });
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('demo-api on prod is already PINNED at 1.0.0');
    const unpinned = await coconut(['unpin', 'demo-api', '--env', 'prod'], { env: rt.cliEnv });
    expect(unpinned.stdout).toBe('demo-api on prod is no longer pinned; no deployment was waiting\n');
    const again = await coconut(['unpin', 'demo-api', '--env', 'prod'], { env: rt.cliEnv });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('demo-api on prod is not pinned (nothing to unpin)');
    // Who pinned and unpinned, when and why, in `coconut history`.
    const history = await coconut(['history', 'demo-api', '--env', 'prod'], { env: rt.cliEnv });
    expect(history.code).toBe(0);
    expect(history.stdout).toContain('Pins:');
    expect(history.stdout).toMatch(/prod\s+UNPIN\s+\S+/);
    expect(history.stdout).toMatch(/prod\s+PIN at 1\.0\.0\s+\S+.*first/);
  });

  it('a pin holds pushes: staging deploys, prod waits at the pin (shown in status); unpin -> prod deploys', async () => {
    // Pinned through the API the CLI calls (the CLI's own pin is the test above: each spawn is slow here).
    const pinned = await rt.fetch('/api/pins', {
      method: 'POST',
      body: JSON.stringify({ service: 'demo-api', environment: 'prod', version: '1.0.0', reason: 'hold for the audit' }),
    });
    expect(pinned.status, await pinned.clone().text()).toBe(201);

    const id = startedId(await rt.push('1.1.0'));
    expect((await rt.waitForStage(id, 'staging', ['SUCCEEDED', 'FAILED'])).state).toBe('SUCCEEDED');
    const waiting = await rt.until('prod to wait at the pin', async () => {
      const pin = await rt.ports.store.getPin('demo-api', 'prod');
      return pin?.waiters[id] ? pin : undefined;
    });
    expect(waiting.waiters[id]).toMatchObject({ version: '1.1.0' });
    const held = await rt.ports.store.getStage(id, 'prod');
    expect(held?.state).toBe('PENDING');
    expect(held?.reason).toMatch(/^waiting at pin: prod is PINNED at 1\.0\.0 by .+: hold for the audit$/);
    expect((await rt.ports.store.getEnvironmentState('demo-api', 'prod'))?.current?.version).toBe('1.0.0');

    const status = await coconut(['status'], { env: rt.cliEnv });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('Pinned:');
    expect(status.stdout).toMatch(
      new RegExp(
        `demo-api/prod: PINNED at 1\\.0\\.0 by .+: hold for the audit \\(since .+\\); waiting at pin: demo-api 1\\.1\\.0 \\(${id}\\)`,
      ),
    );
    const body = await (await rt.fetch('/api/status')).text();
    const prodStatus = (
      JSON.parse(body) as { services: { service: string; environments: { name: string; pin?: Record<string, unknown> }[] }[] }
    ).services
      .find((s) => s.service === 'demo-api')
      ?.environments.find((e) => e.name === 'prod');
    expect(prodStatus?.pin).toMatchObject({ version: '1.0.0', reason: 'hold for the audit', waiting: [{ deploymentId: id }] });
    // The waiters' task tokens never leave the server.
    expect(body).not.toContain(waiting.waiters[id]?.token ?? 'no token');

    const unpinned = await coconut(['unpin', 'demo-api', '--env', 'prod', '--comment', 'audit done'], { env: rt.cliEnv });
    expect(unpinned.stderr).toBe('');
    expect(unpinned.code).toBe(0);
    expect(unpinned.stdout).toBe(`demo-api on prod is no longer pinned; released: ${id}\n`);
    expect((await rt.waitForStage(id, 'prod', ['SUCCEEDED', 'FAILED'])).state).toBe('SUCCEEDED');
    expect(await rt.ports.store.getPin('demo-api', 'prod')).toBeUndefined();

    // One hold, woken by the unpin (Coconut.GateChanged), then the gate looked again and let it by.
    const prodStates = rt.engine
      .events(id)
      .filter((e) => e.type === 'StateEntered' && e.index === 1)
      .map((e) => e.state);
    expect(prodStates.slice(0, 7)).toEqual([
      'FreezeWindows?',
      'FreezeGate',
      'FreezeOpen?',
      'Frozen',
      'FreezeGate',
      'FreezeOpen?',
      'AcquireLock',
    ]);

    const history = (await (await rt.fetch('/api/history/demo-api?environment=prod&limit=2')).json()) as {
      pins: { action: string; reason?: string; released?: string[]; by: string; at: string }[];
    };
    expect(history.pins.map((e) => [e.action, e.reason, e.released])).toEqual([
      ['unpin', 'audit done', [id]],
      ['pin', 'hold for the audit', undefined],
    ]);
    const events = await rt.ports.store.listPinEvents({ service: 'demo-api', environment: 'prod', limit: 2 });
    expect(events.map((e) => [e.action, e.reason, e.released])).toEqual([
      ['unpin', 'audit done', [id]],
      ['pin', 'hold for the audit', undefined],
    ]);
  });

  it('does not hold a manual deploy: a person chose it', async () => {
    const pin = await rt.fetch('/api/pins', {
      method: 'POST',
      body: JSON.stringify({ service: 'demo-api', environment: 'prod', reason: 'change freeze' }),
    });
    expect(pin.status).toBe(201);
    // POST /api/deployments is what `coconut deploy` sends (test/e2e/cli-deploy.test.ts runs the command).
    const started = await rt.fetch('/api/deployments', {
      method: 'POST',
      body: JSON.stringify({ service: 'demo-api', version: '1.0.0', environments: ['prod'], requestId: 'pin-e2e-manual' }),
    });
    expect(started.status).toBe(201);
    const { deployment } = (await started.json()) as { deployment: { deploymentId: string } };
    expect((await rt.waitForStage(deployment.deploymentId, 'prod', ['SUCCEEDED', 'FAILED'])).state).toBe('SUCCEEDED');
    expect(rt.engine.events(deployment.deploymentId).map((e) => e.state)).not.toContain('Frozen');
    const unpin = await rt.fetch('/api/unpins', {
      method: 'POST',
      body: JSON.stringify({ service: 'demo-api', environment: 'prod' }),
    });
    expect(await unpin.json()).toMatchObject({ released: [] });
  });
});
