/**
 * Pins (src/core/pipeline/pins.ts) as steps, on the real Store adapter over dynalite: pin and unpin
 * with their checks and authorization, the gate that holds automatic deployments at a pin, the hold
 * whose token waits in the pin, and the unpin that wakes it. The whole flow through deploy.asl.json
 * is test/e2e/pin.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoStore } from '../../src/aws/dynamo/store.ts';
import { parseConfig } from '../../src/core/config/load.ts';
import type { StageRecord } from '../../src/core/model/deployment.ts';
import {
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  TaskTokenExpiredError,
} from '../../src/core/model/errors.ts';
import type { Trigger } from '../../src/core/model/release.ts';
import type { Actor } from '../../src/core/pipeline/approvals.ts';
import { runFreezeGate } from '../../src/core/pipeline/freeze-gate.ts';
import { holdAtPin, pinEnvironment, unpinEnvironment } from '../../src/core/pipeline/pins.ts';
import type { Notifier, Store } from '../../src/core/ports.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { memoryLog } from '../support/runtime.ts';
import { dynaliteStore } from '../support/stores.ts';

let store: DynamoStore;
let dynamo: LocalDynamo;
beforeAll(async () => ({ store, dynamo } = await dynaliteStore()), 60_000);
afterAll(() => dynamo?.stop());

const NOW = new Date('2026-12-02T10:00:00Z');
const config = parseConfig(`
services:
  - name: api
    image: { registry: ecr, repository: api }
    target: { kind: ansible, inventory: inv.yml }
    environments:
      - name: staging
      - name: prod
        approval: { approvers: [U0APPROVER] }
`);
const local: Actor = { id: 'alice', source: 'local' };
const approver: Actor = { id: 'U0APPROVER', name: 'Ann', source: 'slack' };
const stranger: Actor = { id: 'iss#sub-7', name: 'mallory@example.com', source: 'dashboard' };

let services = 0;

/** A config of its own service per test (pins are per service and environment). */
function setup() {
  const service = `api${++services}`;
  const own = { ...config, services: [{ ...(config.services[0] as (typeof config.services)[0]), name: service }] };
  const posted: StageRecord[] = [];
  const failed: { token: string; error: string; cause: string }[] = [];
  const expired = new Set<string>();
  const notifier: Notifier = {
    approvalRequested: async () => undefined,
    approvalDecided: async () => {},
    stageChanged: async (stage) => {
      posted.push(stage);
    },
  };
  const deps = {
    store,
    clock: { now: () => NOW },
    log: memoryLog(),
    notifier,
    config: own,
    orchestrator: {
      startExecution: async () => ({ executionArn: 'arn', started: true }),
      sendTaskSuccess: async () => {
        throw new Error('a pin never settles a token as success');
      },
      sendTaskFailure: async (token: string, error: string, cause: string) => {
        if (expired.has(token)) throw new TaskTokenExpiredError('gone');
        failed.push({ token, error, cause });
      },
    },
  };
  return { service, deps, posted, failed, expired };
}

async function deployment(service: string, id: string, trigger: Trigger['kind'], version = '1.1.0') {
  const at = NOW.toISOString();
  await store.createDeployment(
    {
      deploymentId: id,
      service,
      version,
      image: { registry: 'ecr', repository: 'api', tag: version },
      trigger: { kind: trigger, id: 'e', at },
      environments: ['prod'],
      createdAt: at,
      kind: 'deploy',
    },
    [{ deploymentId: id, service, environment: 'prod', order: 1, version, state: 'PENDING', createdAt: at, updatedAt: at }],
  );
  return { deploymentId: id, service, version, environment: 'prod' };
}

async function running(service: string, version: string) {
  await store.setEnvironmentVersions(service, 'prod', { current: { version, deploymentId: `${service}-old` } }, NOW);
}

describe('pin and unpin', () => {
  it('pins at what runs there, records who, when and why, and refuses a second pin', async () => {
    const { service, deps } = setup();
    await running(service, '1.0.0');
    const pin = await pinEnvironment(deps, { service, environment: 'prod', reason: '  hold for the audit ', actor: approver });
    expect(pin).toEqual({
      service,
      environment: 'prod',
      version: '1.0.0',
      reason: 'hold for the audit',
      pinnedBy: 'Ann',
      pinnedById: 'U0APPROVER',
      pinnedAt: NOW.toISOString(),
      waiters: {},
      revision: 1,
    });
    expect(await store.getPin(service, 'prod')).toEqual(pin);
    expect(await store.listPins(service)).toEqual([pin]);
    await expect(pinEnvironment(deps, { service, environment: 'prod', reason: 'again', actor: local })).rejects.toThrow(
      new ConflictError(
        `${service} on prod is already PINNED at 1.0.0 by Ann: hold for the audit (since ${NOW.toISOString()}); unpin it first: coconut unpin ${service} --env prod`,
      ),
    );
    expect(await store.listPinEvents({ service })).toEqual([
      {
        service,
        environment: 'prod',
        action: 'pin',
        version: '1.0.0',
        by: 'Ann',
        byId: 'U0APPROVER',
        at: NOW.toISOString(),
        reason: 'hold for the audit',
      },
    ]);
  });

  it('refuses what would make the pin untrue or unclear, naming what was expected', async () => {
    const { service, deps } = setup();
    const pin = (over: Partial<Parameters<typeof pinEnvironment>[1]>) =>
      pinEnvironment(deps, { service, environment: 'prod', reason: 'r', actor: local, ...over });
    await expect(pin({ version: '1.0.0' })).rejects.toThrow(
      new InvalidInputError(
        `${service} has not run any version on prod yet, so it cannot be held at 1.0.0: pin without --version`,
      ),
    );
    await running(service, '1.0.0');
    await expect(pin({ version: '0.9.0' })).rejects.toThrow(`${service} runs 1.0.0 on prod, not 0.9.0: deploy 0.9.0 there first`);
    await expect(pin({ version: 'bad tag!' })).rejects.toThrow(
      new InvalidInputError('"bad tag!" is not a valid version (an image tag)'),
    );
    await expect(pin({ reason: '   ' })).rejects.toThrow('a reason is required');
    await expect(pin({ reason: 'x'.repeat(501) })).rejects.toThrow('a reason is 501 characters; at most 500');
    await expect(pin({ service: 'nope' })).rejects.toThrow(
      new NotFoundError(`no service named nope in coconut.yaml (services: ${service})`),
    );
    await expect(pin({ environment: 'qa' })).rejects.toThrow(
      new NotFoundError(`${service} has no environment named qa (environments: staging, prod)`),
    );
    expect(await store.getPin(service, 'prod')).toBeUndefined();
    expect(await store.listPinEvents({ service })).toEqual([]);
  });

  it('lets the approvers of an environment with approvers pin and unpin it, and anyone let in where there are none', async () => {
    const { service, deps } = setup();
    await expect(pinEnvironment(deps, { service, environment: 'prod', reason: 'r', actor: stranger })).rejects.toThrow(
      new ForbiddenError(
        `mallory@example.com is not an approver of ${service} on prod, so may not pin it (approvers: U0APPROVER)`,
      ),
    );
    expect(await store.getPin(service, 'prod')).toBeUndefined();
    await pinEnvironment(deps, { service, environment: 'prod', reason: 'r', actor: approver });
    await expect(unpinEnvironment(deps, { service, environment: 'prod', actor: stranger })).rejects.toThrow(ForbiddenError);
    expect(await store.getPin(service, 'prod')).toBeDefined();
    // staging has no approvers: whoever the API lets in could deploy there by hand anyway.
    const staging = await pinEnvironment(deps, { service, environment: 'staging', reason: 'r', actor: stranger });
    expect(staging).toMatchObject({ pinnedBy: 'mallory@example.com', pinnedById: 'iss#sub-7' });
    expect(staging).not.toHaveProperty('version');
  });

  it('unpin of an environment that is not pinned says so', async () => {
    const { service, deps } = setup();
    await expect(unpinEnvironment(deps, { service, environment: 'prod', actor: local })).rejects.toThrow(
      new ConflictError(`${service} on prod is not pinned (nothing to unpin)`),
    );
  });
});

describe('the gate holds automatic deployments at a pin', () => {
  it('holds a push (the stage and the thread say so), lets a manual deploy by, and unpin wakes the waiter', async () => {
    const { service, deps, posted, failed } = setup();
    await running(service, '1.0.0');
    await pinEnvironment(deps, { service, environment: 'prod', reason: 'hold for the audit', actor: local });
    const pushed = await deployment(service, `${service}-push`, 'ecr-push');
    const message = 'waiting at pin: prod is PINNED at 1.0.0 by alice: hold for the audit';
    expect(await runFreezeGate(deps, pushed, [])).toEqual({ open: false, pinned: true, waitSeconds: 86400, message });
    expect((await store.getStage(pushed.deploymentId, 'prod'))?.reason).toBe(message);
    expect(posted.map((s) => s.reason)).toEqual([message]);
    // Asked again (the day's timeout): no second post.
    await runFreezeGate(deps, pushed, []);
    expect(posted).toHaveLength(1);

    const manual = await deployment(service, `${service}-manual`, 'manual');
    expect(await runFreezeGate(deps, manual, [])).toEqual({ open: true, pinned: false, waitSeconds: 0 });

    await holdAtPin(deps, pushed, 'token-1');
    // A retried hold with the same token changes nothing; a new hold (after the day) replaces the token.
    await holdAtPin(deps, pushed, 'token-1');
    expect((await store.getPin(service, 'prod'))?.revision).toBe(2);
    await holdAtPin(deps, pushed, 'token-2');
    expect((await store.getPin(service, 'prod'))?.waiters).toEqual({
      [pushed.deploymentId]: { version: '1.1.0', token: 'token-2', since: NOW.toISOString() },
    });

    const outcome = await unpinEnvironment(deps, { service, environment: 'prod', comment: 'audit done', actor: approver });
    expect(outcome.released).toEqual([pushed.deploymentId]);
    const lifted = `pin on prod lifted by Ann at ${NOW.toISOString()}: audit done`;
    expect(failed).toEqual([{ token: 'token-2', error: 'Coconut.GateChanged', cause: lifted }]);
    expect((await store.getStage(pushed.deploymentId, 'prod'))?.reason).toBe(lifted);
    expect(posted.at(-1)?.reason).toBe(lifted);
    expect(await store.getPin(service, 'prod')).toBeUndefined();
    expect((await store.listPinEvents({ service, environment: 'prod' }))[0]).toEqual({
      service,
      environment: 'prod',
      action: 'unpin',
      version: '1.0.0',
      by: 'Ann',
      byId: 'U0APPROVER',
      at: NOW.toISOString(),
      reason: 'audit done',
      released: [pushed.deploymentId],
    });
    // The gate, asked again, lets it by.
    expect(await runFreezeGate(deps, pushed, [])).toEqual({ open: true, pinned: false, waitSeconds: 0 });
  });

  it('a hold that finds the pin gone fails with Coconut.GateChanged at once, so the gate looks again', async () => {
    const { service, deps } = setup();
    const pushed = await deployment(service, `${service}-late`, 'git-tag');
    await expect(holdAtPin(deps, pushed, 't')).rejects.toMatchObject({
      name: 'Coconut.GateChanged',
      message: 'the pin on prod was lifted meanwhile',
    });
  });

  it('a hold racing another write reads again and keeps both waiters; unpin racing a hold deletes the revision it read', async () => {
    const { service, deps, failed, expired } = setup();
    await pinEnvironment(deps, { service, environment: 'prod', reason: 'r', actor: local });
    const a = await deployment(service, `${service}-a`, 'ecr-push');
    const b = await deployment(service, `${service}-b`, 'ecr-push');
    // B's hold lands between A's read and A's write: A's conditional write fails, A reads again.
    let raced = false;
    const racing = Object.assign(Object.create(store) as Store, {
      putPin: async (pin: Parameters<Store['putPin']>[0]) => {
        if (!raced) {
          raced = true;
          await holdAtPin(deps, b, 'token-b');
        }
        return store.putPin(pin);
      },
    });
    await holdAtPin({ ...deps, store: racing }, a, 'token-a');
    expect(Object.keys((await store.getPin(service, 'prod'))?.waiters ?? {}).sort()).toEqual([a.deploymentId, b.deploymentId]);
    // A hold lands while unpin deletes: the delete of the older revision fails, unpin reads again.
    const c = await deployment(service, `${service}-c`, 'ecr-push');
    let deleting = false;
    const unpinRace = Object.assign(Object.create(store) as Store, {
      deletePin: async (s: string, e: string, revision: number) => {
        if (!deleting) {
          deleting = true;
          await holdAtPin(deps, c, 'token-c');
        }
        return store.deletePin(s, e, revision);
      },
    });
    // A stopped execution's token is gone: nothing to wake, no error.
    expired.add('token-a');
    const { released } = await unpinEnvironment({ ...deps, store: unpinRace }, { service, environment: 'prod', actor: local });
    expect(released).toEqual([a.deploymentId, b.deploymentId, c.deploymentId].sort());
    expect(failed.map((f) => f.token).sort()).toEqual(['token-b', 'token-c']);
  });
});
