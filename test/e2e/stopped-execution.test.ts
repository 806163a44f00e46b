/**
 * An execution stopped from outside leaves nothing pending (src/core/pipeline/execution-ended.ts),
 * in the local runtime with the real store (dynalite) and a real ansible-playbook staging deploy.
 * The stop is the local engine's stopExecution, which behaves as Step Functions' StopExecution:
 * the execution ends ABORTED and its task tokens die ("StopExecution", AWS Step Functions API
 * Reference: "stops an execution"; a later SendTaskSuccess on one of its tokens fails with
 * TaskTimedOut/InvalidToken). Then:
 * - a deployment waiting for prod approval: GET /api/approvals and `coconut status` no longer list
 *   the approval (EXPIRED, saying why), its stage is closed, and approving it is refused;
 * - a deployment waiting at a pin: the pin no longer lists it, and unpinning wakes nobody.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coconut } from '../support/cli.ts';
import { REAL_DEPLOY_TEST_LIMIT_MS, startedId, startTestRuntime, type TestRuntime } from '../support/runtime.ts';

describe('A stopped execution (local runtime)', { timeout: REAL_DEPLOY_TEST_LIMIT_MS }, () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await startTestRuntime({
      dataDir: mkdtempSync(path.join(tmpdir(), 'coconut-e2e-stopped-')),
      stagingBake: '1s',
      prodBake: '1s',
      probes: false,
    });
  });
  afterAll(() => rt?.stop());

  it('waiting for prod approval, then stopped: the approval is EXPIRED with why and no longer listed, the stage is closed', async () => {
    const id = startedId(await rt.push('1.0.0'));
    expect((await rt.waitForStage(id, 'staging', ['SUCCEEDED', 'FAILED'])).state).toBe('SUCCEEDED');
    const approvalId = await rt.waitForApproval(id);
    expect((await rt.ports.store.getStage(id, 'prod'))?.state).toBe('AWAITING_APPROVAL');

    await rt.engine.stopExecution(id, { cause: 'stopped from the console' });
    expect(rt.engine.get(id)).toMatchObject({ status: 'ABORTED', cause: 'stopped from the console' });

    const pending = (await (await rt.fetch('/api/approvals?status=PENDING')).json()) as { approvals: { approvalId: string }[] };
    expect(pending.approvals.map((a) => a.approvalId)).not.toContain(approvalId);
    expect(await rt.ports.store.getApproval(approvalId)).toMatchObject({
      status: 'EXPIRED',
      decidedBy: 'execution ended',
      comment: 'execution aborted: nothing waits on this approval any more',
    });
    expect(await rt.ports.store.getStage(id, 'prod')).toMatchObject({
      state: 'FAILED',
      reason: 'execution aborted during AWAITING_APPROVAL',
    });
    // What a user sees: no approval waiting, and approving the old id is refused, saying why.
    const status = await coconut(['status'], { env: rt.cliEnv });
    expect(status.code).toBe(0);
    expect(status.stdout).not.toContain(approvalId);
    const late = await rt.fetch(`/api/approvals/${approvalId}/approve`, { method: 'POST' });
    expect(late.status).toBe(409);
    expect(await late.text()).toContain(`approval ${approvalId} expired`);
  });

  it('waiting at a pin, then stopped: the pin no longer lists it, and unpinning wakes nobody', async () => {
    const pinned = await rt.fetch('/api/pins', {
      method: 'POST',
      body: JSON.stringify({ service: 'demo-api', environment: 'prod', reason: 'hold for the audit' }),
    });
    expect(pinned.status, await pinned.clone().text()).toBe(201);
    const id = startedId(await rt.push('1.1.0'));
    expect((await rt.waitForStage(id, 'staging', ['SUCCEEDED', 'FAILED'])).state).toBe('SUCCEEDED');
    await rt.until('prod to wait at the pin', async () => (await rt.ports.store.getPin('demo-api', 'prod'))?.waiters[id]);

    await rt.engine.stopExecution(id);
    expect(rt.engine.get(id)?.status).toBe('ABORTED');

    expect((await rt.ports.store.getPin('demo-api', 'prod'))?.waiters).toEqual({});
    expect(await rt.ports.store.getStage(id, 'prod')).toMatchObject({
      state: 'SKIPPED',
      reason: 'not reached: execution aborted',
    });
    const unpinned = await rt.fetch('/api/unpins', {
      method: 'POST',
      body: JSON.stringify({ service: 'demo-api', environment: 'prod' }),
    });
    expect(unpinned.status, await unpinned.clone().text()).toBe(200);
    expect(((await unpinned.json()) as { released: string[] }).released).toEqual([]);
    expect(rt.log.lines.map((l) => l.message)).toContain(
      `deployment ${id} ended (execution aborted) with loose ends, repaired: prod: PENDING -> SKIPPED; prod: no longer waits at the pin`,
    );
  });
});
