/**
 * Freeze windows in the local runtime, through deploy.asl.json's FreezeGate / Frozen states, with
 * real time: the Frozen task's timeout is the moment the window opens (aws-local-stepfunctions
 * runs TimeoutSeconds on the wall clock, as Step Functions does).
 *
 * - demo-api obeys a whole-config deny window that ends ~20 s after the runtime starts: a push
 *   waits, its stage says FROZEN until <time> (UTC), and it deploys once the window opens.
 * - held-api has its own deny window for hours: `coconut unfreeze` with a comment lets a
 *   push through (break glass, recorded with who and why), and `coconut rollback` is not held.
 * Deploys run the real ansible-playbook (a rollback needs a version that really passed its bake).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coconut } from '../support/cli.ts';
import { REAL_DEPLOY_TEST_LIMIT_MS, startedId, startTestRuntime, type TestRuntime } from '../support/runtime.ts';

/** A five-field cron naming exactly this UTC minute (it recurs a year later). */
function cronAt(at: Date): string {
  return `${at.getUTCMinutes()} ${at.getUTCHours()} ${at.getUTCDate()} ${at.getUTCMonth() + 1} *`;
}

describe('Freeze windows (local runtime)', { timeout: REAL_DEPLOY_TEST_LIMIT_MS }, () => {
  let rt: TestRuntime;
  let opensAt: number;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'coconut-e2e-freeze-'));
    const now = Date.now();
    // The window started in the previous minute (a duration is at least 60 s) and ends 20 s from now.
    const start = new Date(Math.floor(now / 60_000) * 60_000 - 60_000);
    opensAt = now + 20_000;
    const duration = `${Math.ceil((opensAt - start.getTime()) / 1000)}s`;
    opensAt = start.getTime() + Number.parseInt(duration, 10) * 1000;
    rt = await startTestRuntime({
      dataDir: dir,
      prodApproval: false,
      stagingBake: '1s',
      prodBake: '1s',
      probes: false,
      topYaml: `freeze:
  - { schedule: "${cronAt(start)}", duration: ${duration}, timeZone: UTC, mode: deny, reason: "release train boarding" }`,
      // held-api's window reads the same minute in Berlin time (UTC+1 or +2): it began an hour or
      // two earlier, and 4 h still cover the test.
      extraYaml: `  - name: held-api
    image: { registry: ecr, repository: held-api }
    target: { kind: ansible, inventory: ${path.join(dir, 'inventory.yml')} }
    environments:
      - name: prod
        bake: 1s
        freeze:
          - { schedule: "${cronAt(start)}", duration: 4h, timeZone: Europe/Berlin, reason: "year-end freeze" }`,
    });
  });
  afterAll(() => rt?.stop());

  it('holds a push in a deny window, says until when, and deploys when the window opens', async () => {
    const id = startedId(await rt.push('1.0.0'));
    const frozen = await rt.until('staging to say FROZEN', async () => {
      const stage = await rt.ports.store.getStage(id, 'staging');
      return stage?.reason?.startsWith('FROZEN') ? stage : undefined;
    });
    expect(frozen.state).toBe('PENDING');
    const until = new Date(opensAt).toISOString().slice(0, 19).replace('T', ' ');
    expect(frozen.reason).toBe(
      `FROZEN until ${until.endsWith(':00') ? until.slice(0, -3) : until} (UTC): release train boarding`,
    );
    const prod = await rt.waitForStage(id, 'prod', ['SUCCEEDED', 'FAILED']);
    expect(prod.state).toBe('SUCCEEDED');
    const staging = await rt.ports.store.getStage(id, 'staging');
    expect(Date.parse(staging?.startedAt ?? '')).toBeGreaterThanOrEqual(opensAt);
    expect(staging?.reason).toMatch(/^freeze window opened at /);
    // The hold was one task whose timeout ended it, then the gate looked again: no polling loop.
    const entered = rt.engine
      .events(id)
      .filter((e) => e.type === 'StateEntered')
      .map((e) => e.state);
    expect(entered.slice(0, 6)).toEqual(['Environments', 'FreezeWindows?', 'FreezeGate', 'FreezeOpen?', 'Frozen', 'FreezeGate']);
    expect(entered.filter((s) => s === 'Frozen')).toHaveLength(1);
  });

  it('break glass: `coconut unfreeze` with a comment lets a held deployment through, recorded with who and why', async () => {
    const id = startedId(await rt.push('1.0.0', 'held-api'));
    const hold = await rt.until('the freeze hold', async () =>
      (await rt.ports.store.listApprovals({ status: 'PENDING' })).find((a) => a.deploymentId === id && a.purpose === 'freeze'),
    );
    const status = await coconut(['status'], { env: rt.cliEnv });
    expect(status.stdout).toMatch(
      /held-api\s+prod\s+FROZEN until \d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? \(Europe\/Berlin\): year-end freeze/,
    );
    expect(status.stdout).toContain('Held by a freeze window:');
    expect(status.stdout).toContain(`break glass with: npx coconut unfreeze ${id} --comment "why"`);
    const noComment = await coconut(['unfreeze', id], { env: rt.cliEnv });
    expect(noComment.code).toBe(2);
    expect(noComment.stderr).toContain('expected --comment "WHY"');
    const run = await coconut(['unfreeze', id, '--comment', 'hotfix for INC-42'], { env: rt.cliEnv });
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^unfrozen: held-api 1.0.0 on prod \(by .+\): hotfix for INC-42\n$/);
    const prod = await rt.waitForStage(id, 'prod', ['SUCCEEDED', 'FAILED']);
    expect(prod.state).toBe('SUCCEEDED');
    expect(prod.reason).toMatch(/^freeze broken by .+ at \d{4}-\d\d-\d\dT.+: hotfix for INC-42$/);
    expect(await rt.ports.store.getApproval(hold.approvalId)).toMatchObject({
      status: 'APPROVED',
      purpose: 'freeze',
      comment: 'hotfix for INC-42',
      decidedAt: expect.any(String),
      decidedBy: expect.any(String),
    });
    const again = await coconut(['unfreeze', id, '--comment', 'again'], { env: rt.cliEnv });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`deployment ${id} is not held by a freeze window`);
  });

  it('never holds a rollback, even inside a deny window', async () => {
    const id = startedId(await rt.push('1.1.0', 'held-api'));
    await rt.until('the freeze hold of 1.1.0', async () =>
      (await rt.ports.store.listApprovals({ status: 'PENDING' })).find((a) => a.deploymentId === id && a.purpose === 'freeze'),
    );
    expect((await coconut(['unfreeze', id, '--comment', 'ship it'], { env: rt.cliEnv })).code).toBe(0);
    await rt.waitForStage(id, 'prod', ['SUCCEEDED']);
    const run = await coconut(['rollback', 'held-api', '--env', 'prod', '--wait'], { env: rt.cliEnv, timeoutMs: 200_000 });
    expect(run.stdout, run.stderr).toContain('rolling back held-api on prod from 1.1.0 to 1.0.0');
    expect(run.code).toBe(0);
    const history = await rt.ports.store.listStages({ service: 'held-api', environment: 'prod', limit: 1 });
    expect(history[0]).toMatchObject({ version: '1.0.0', state: 'SUCCEEDED', kind: 'rollback' });
    const entered = rt.engine.events(history[0]?.deploymentId ?? '').map((e) => e.state);
    expect(entered).not.toContain('FreezeGate');
    expect(entered).not.toContain('Frozen');
  });
});
