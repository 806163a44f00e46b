/**
 * The freeze gate as steps (src/core/pipeline/freeze-gate.ts) and its break glass (approvals.ts
 * decideApproval on a hold) on the real Store adapter over dynalite. The whole flow through
 * deploy.asl.json is test/e2e/freeze.test.ts; the window arithmetic is test/unit/freeze.test.ts.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoStore } from '../../src/aws/dynamo/store.ts';
import { parseConfig } from '../../src/core/config/load.ts';
import { walk } from '../../src/core/cost/model.ts';
import type { StageRecord } from '../../src/core/model/deployment.ts';
import { InvalidInputError } from '../../src/core/model/errors.ts';
import { decideApproval } from '../../src/core/pipeline/approvals.ts';
import type { FreezeWindow } from '../../src/core/pipeline/freeze.ts';
import { holdFrozen, runFreezeGate } from '../../src/core/pipeline/freeze-gate.ts';
import type { Notifier } from '../../src/core/ports.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { memoryLog } from '../support/runtime.ts';
import { dynaliteStore } from '../support/stores.ts';

let store: DynamoStore;
let dynamo: LocalDynamo;
beforeAll(async () => ({ store, dynamo } = await dynaliteStore()), 60_000);
afterAll(() => dynamo?.stop());

// Saturday 2026-12-05 12:00Z: inside the weekend window, which opens Monday 10:00 Berlin (09:00Z).
const SATURDAY = new Date('2026-12-05T12:00:00Z');
const MONDAY = new Date('2026-12-07T09:00:00Z');
const weekend: FreezeWindow = {
  schedule: '0 18 * * 5',
  durationSeconds: 64 * 3600,
  timeZone: 'Europe/Berlin',
  mode: 'deny',
  reason: 'weekend freeze',
};
const config = parseConfig(`
services:
  - name: api
    image: { registry: ecr, repository: api }
    target: { kind: ansible, inventory: inv.yml }
    environments:
      - name: prod
        approval: { approvers: [U0APPROVER] }
`);
let ids = 0;

async function setup() {
  const deploymentId = `frz-${++ids}`;
  const at = SATURDAY.toISOString();
  await store.createDeployment(
    {
      deploymentId,
      service: 'api',
      version: '1.0.0',
      image: { registry: 'ecr', repository: 'api', tag: '1.0.0' },
      trigger: { kind: 'ecr-push', id: 'e', at },
      environments: ['prod'],
      createdAt: at,
      kind: 'deploy',
    },
    [
      {
        deploymentId,
        service: 'api',
        environment: 'prod',
        order: 0,
        version: '1.0.0',
        state: 'PENDING',
        createdAt: at,
        updatedAt: at,
      },
    ],
  );
  let now = SATURDAY;
  const posted: StageRecord[] = [];
  const settled: { token: string; output: unknown }[] = [];
  const notifier: Notifier = {
    approvalRequested: async () => {
      throw new Error('a freeze hold is no chat approval request');
    },
    approvalDecided: async () => {},
    stageChanged: async (stage) => {
      posted.push(stage);
    },
  };
  const deps = {
    store,
    clock: { now: () => now },
    log: memoryLog(),
    notifier,
    config,
    orchestrator: {
      sendTaskSuccess: async (token: string, output: unknown) => {
        settled.push({ token, output });
      },
    } as never,
  };
  const ref = { deploymentId, service: 'api', version: '1.0.0', environment: 'prod' };
  return { deps, ref, posted, settled, at: (t: Date) => (now = t) };
}

describe('freeze gate steps', () => {
  it('closed: the stage (and the thread) say until when and why; the hold waits exactly until the opening', async () => {
    const { deps, ref, posted } = await setup();
    const result = await runFreezeGate(deps, ref, [weekend]);
    const message = 'FROZEN until 2026-12-07 10:00 (Europe/Berlin): weekend freeze';
    expect(result).toEqual({
      open: false,
      pinned: false,
      waitSeconds: (MONDAY.getTime() - SATURDAY.getTime()) / 1000,
      message,
      until: MONDAY.toISOString(),
    });
    expect(await store.getStage(ref.deploymentId, 'prod')).toMatchObject({ state: 'PENDING', reason: message });
    expect(posted.map((s) => s.reason)).toEqual([message]);
    // Asked again with nothing changed: no second post in the thread.
    await runFreezeGate(deps, ref, [weekend]);
    expect(posted).toHaveLength(1);
  });

  it('open: passes, and a hold whose window opened is expired and the stage says so', async () => {
    const { deps, ref, at } = await setup();
    const closed = await runFreezeGate(deps, ref, [weekend]);
    const hold = await holdFrozen(deps, ref, {
      taskToken: 'token-open',
      waitSeconds: closed.waitSeconds,
      message: closed.message,
    });
    expect(hold).toMatchObject({ purpose: 'freeze', status: 'PENDING', expiresAt: MONDAY.toISOString() });
    at(MONDAY);
    expect(await runFreezeGate(deps, ref, [weekend])).toEqual({ open: true, pinned: false, waitSeconds: 0 });
    expect(await store.getApproval(hold.approvalId)).toMatchObject({ status: 'EXPIRED', decidedBy: 'freeze window opened' });
    expect((await store.getStage(ref.deploymentId, 'prod'))?.reason).toBe(
      'freeze window opened at 2026-12-07 10:00 (Europe/Berlin)',
    );
  });

  it('break glass needs a comment, then settles the hold and records who, when and why', async () => {
    const { deps, ref, posted, settled, at } = await setup();
    const closed = await runFreezeGate(deps, ref, [weekend]);
    const hold = await holdFrozen(deps, ref, { taskToken: 'token-glass', waitSeconds: closed.waitSeconds });
    expect((await store.getStage(ref.deploymentId, 'prod'))?.approvalId).toBe(hold.approvalId);
    const approver = { id: 'U0APPROVER', name: 'alice', source: 'slack' as const, slackId: 'U0APPROVER' };
    await expect(decideApproval(deps, { approvalId: hold.approvalId, decision: 'approve', actor: approver })).rejects.toThrow(
      InvalidInputError,
    );
    expect(settled).toEqual([]);
    at(new Date('2026-12-05T13:00:00Z'));
    await decideApproval(deps, { approvalId: hold.approvalId, decision: 'approve', actor: approver, comment: 'hotfix INC-42' });
    expect(settled.map((s) => s.token)).toEqual(['token-glass']);
    expect(await store.getApproval(hold.approvalId)).toMatchObject({
      status: 'APPROVED',
      decidedBy: 'alice',
      decidedAt: '2026-12-05T13:00:00.000Z',
      comment: 'hotfix INC-42',
    });
    const reason = 'freeze broken by alice at 2026-12-05T13:00:00.000Z: hotfix INC-42';
    expect((await store.getStage(ref.deploymentId, 'prod'))?.reason).toBe(reason);
    expect(posted.at(-1)?.reason).toBe(reason);
  });

  it('a retried hold keeps its one approval', async () => {
    const { deps, ref } = await setup();
    const first = await holdFrozen(deps, ref, { taskToken: 'token-retry', waitSeconds: 60 });
    const again = await holdFrozen(deps, ref, { taskToken: 'token-retry', waitSeconds: 30 });
    expect(again).toEqual(first);
  });
});

describe('deploy.asl.json: where the freeze gate sits', () => {
  // The path walker of the cost model (src/core/cost/model.ts) follows Choice rules on a scenario.
  const inner = JSON.parse(readFileSync('stepfunctions/deploy.asl.json', 'utf8')).States.Environments.ItemProcessor;
  const path = (env: Record<string, unknown>, open = true) =>
    walk(inner, {
      input: { env: { bakeSeconds: 0, ...env }, freezeGate: { open }, alarmCheck: { breached: false } },
      errors: {},
    }).states;

  it('asks the gate before the lock when the environment has windows, and never for a rollback', () => {
    expect(path({ freeze: [weekend], buildAction: 'deploy' }).slice(0, 4)).toEqual([
      'FreezeWindows?',
      'FreezeGate',
      'FreezeOpen?',
      'AcquireLock',
    ]);
    expect(path({ freeze: [weekend], buildAction: 'rollback' }).slice(0, 2)).toEqual(['FreezeWindows?', 'AcquireLock']);
    expect(path({ buildAction: 'deploy' }).slice(0, 2)).toEqual(['FreezeWindows?', 'AcquireLock']);
  });
});
