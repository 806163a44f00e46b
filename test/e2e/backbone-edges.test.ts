/**
 * Backbone edges in the local runtime: one deployment at a time per environment, rehearsals
 * when a tool is missing (and --strict failing instead), and a bad coconut.yaml.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/model/errors.ts';
import { startRuntime } from '../../src/local/runtime.ts';
import { startedId, startTestRuntime, type TestRuntime } from '../support/runtime.ts';

const emptyPath = () => mkdtempSync(path.join(tmpdir(), 'coconut-nopath-'));

describe('Backbone edges (local runtime)', () => {
  let rt: TestRuntime | undefined;
  afterEach(async () => {
    await rt?.stop();
    rt = undefined;
  });

  it('runs a second version only after the first has left the environment (real ansible-playbook)', async () => {
    rt = await startTestRuntime({ prodApproval: false, stagingBake: '1s', prodBake: '1s' });
    const first = startedId(await rt.push('2.0.0'));
    const second = startedId(await rt.push('2.1.0'));
    for (const id of [first, second]) {
      expect((await rt.waitForStage(id, 'prod', ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'SKIPPED'], 120_000)).state).toBe(
        'SUCCEEDED',
      );
    }
    for (const env of ['staging', 'prod']) {
      const a = await rt.ports.store.getStage(first, env);
      const b = await rt.ports.store.getStage(second, env);
      // The newer push waited for the lock: its deploy started after the older one finished.
      expect(Date.parse(b!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(a!.finishedAt!));
    }
    expect(await rt.appVersion('prod')).toBe('2.1.0');
    expect(await rt.ports.store.getLock('demo-api#prod')).toMatchObject({ waiters: {} });
    expect((await rt.ports.store.getLock('demo-api#prod'))?.owner).toBeUndefined();
  }, 180_000);

  it('rehearses the deploy when ansible-playbook is missing, labelled PLANNED, changing nothing', async () => {
    rt = await startTestRuntime({
      prodApproval: false,
      stagingBake: '1s',
      prodBake: '1s',
      buildPath: emptyPath(),
      probes: false,
    });
    const id = startedId(await rt.push('3.0.0'));
    const stage = await rt.waitForStage(id, 'prod', ['SUCCEEDED', 'FAILED']);
    expect(stage.rehearsal).toEqual({ tools: ['ansible-playbook'], steps: ['deploy'] });
    expect(
      rt.log.lines.some((l) => l.message.includes('REHEARSAL (PLANNED, nothing ran): ansible-playbook not found on PATH')),
    ).toBe(true);
    // Nothing really runs, so nothing counts as running or known-good.
    expect(await rt.ports.store.getEnvironmentState('demo-api', 'prod')).toBeUndefined();
    const status = (await (await rt.fetch('/api/status')).json()) as {
      services: { environments: { latest: { rehearsal?: unknown } }[] }[];
    };
    expect(status.services[0]?.environments[0]?.latest.rehearsal).toEqual({ tools: ['ansible-playbook'], steps: ['deploy'] });
  });

  it('with --strict, a missing tool fails the deploy naming the tool, and nothing is rolled back', async () => {
    rt = await startTestRuntime({ prodApproval: false, buildPath: emptyPath(), strict: true, probes: false });
    const id = startedId(await rt.push('3.1.0'));
    const stage = await rt.waitForStage(id, 'staging', ['FAILED', 'ROLLED_BACK', 'ROLLBACK_FAILED', 'SUCCEEDED']);
    expect(stage.state).toBe('FAILED');
    expect(stage.reason).toMatch(/^ansible-playbook not found on PATH \(needed by templates\/buildspec\/ansible-deploy\.yml\)/);
    expect((await rt.ports.store.getStage(id, 'prod'))?.state).toBe('SKIPPED');
    expect(await rt.engine.waitFor(id)).toMatchObject({ status: 'FAILED', error: 'Coconut.DeployFailed' });
    expect((await rt.ports.store.getLock('demo-api#staging'))?.owner).toBeUndefined();
  });

  it('refuses to start on a bad coconut.yaml, naming file, path and expectation', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'coconut-bad-'));
    const file = path.join(dir, 'coconut.yaml');
    writeFileSync(
      file,
      'services:\n  - name: api\n    image: { registry: ecr, repository: api }\n    target: { kind: ansible, inventory: i.yml }\n    environments:\n      - name: prod\n        bake: forever\n',
    );
    const error = await startRuntime({ configPath: file, port: 0, dataDir: dir }).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      `${file}:7:15: services[0].environments[0].bake: expected a duration like "30s", "5m", "1h" or a number of seconds, got "forever"`,
    );
  });
});
