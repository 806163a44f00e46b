/**
 * functions/execution-ended.ts: the safety net after an execution stopped without its bookkeeping.
 * What it settles follows Step Functions: once an execution is stopped (StopExecution), timed out
 * or failed, its task tokens are dead: SendTaskSuccess/SendTaskFailure on them answer
 * TaskTimedOut or InvalidToken ("SendTaskSuccess", AWS Step Functions API Reference), so an
 * approval, freeze hold or pin waiter holding one must no longer offer anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutionEndedHandler } from '../../functions/execution-ended.ts';
import type { DynamoStore } from '../../src/aws/dynamo/store.ts';
import type { CoconutConfig } from '../../src/core/config/schema.ts';
import { EXECUTION_ENDED } from '../../src/core/pipeline/ended-approvals.ts';
import { repairAfterExecution } from '../../src/core/pipeline/execution-ended.ts';
import { requestLock } from '../../src/core/pipeline/locks.ts';
import { unpinEnvironment } from '../../src/core/pipeline/pins.ts';
import { type ApprovalRecord, type PinRecord, silentNotifier } from '../../src/core/ports.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { memoryLog } from '../support/runtime.ts';
import { dynaliteStore } from '../support/stores.ts';

describe('Function: execution-ended handler', () => {
  let store: DynamoStore;
  let dynamo: LocalDynamo;
  beforeAll(async () => ({ store, dynamo } = await dynaliteStore()));
  afterAll(() => dynamo.stop());

  it('repairs the stages and lock of an aborted deploy execution; refuses other events', async () => {
    const at = new Date().toISOString();
    await store.createDeployment(
      {
        deploymentId: 'dep-abort',
        service: 'api',
        version: '1.0.0',
        image: { registry: 'ecr', repository: 'api', tag: '1.0.0' },
        trigger: { kind: 'ecr-push', id: 'e', at },
        environments: ['staging', 'prod'],
        createdAt: at,
        kind: 'deploy',
      },
      ['staging', 'prod'].map((environment, order) => ({
        deploymentId: 'dep-abort',
        service: 'api',
        environment,
        order,
        version: '1.0.0',
        state: 'PENDING' as const,
        createdAt: at,
        updatedAt: at,
      })),
    );
    await store.updateStage('dep-abort', 'staging', { state: 'DEPLOYING' }, new Date());
    // It held the staging lock, and the next deployment waits for it on its task token.
    const woken: string[] = [];
    const lockDeps = {
      store,
      clock: { now: () => new Date() },
      log: memoryLog(),
      orchestrator: { sendTaskSuccess: async (token: string) => void woken.push(token) },
    };
    const ask = (id: string, at: string) =>
      requestLock(lockDeps, { key: 'api#staging', deploymentId: id, createdAt: at, holdSeconds: 3600, token: `token-${id}` });
    await ask('dep-abort', '2026-01-01T00:00:00Z');
    await ask('dep-next', '2026-01-01T00:00:01Z');
    expect(woken).toEqual(['token-dep-abort']);
    const ports = async () => lockDeps as never;
    const handler = createExecutionEndedHandler(ports);
    const event = {
      id: 'evt-1',
      source: 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      detail: {
        executionArn: 'arn:aws:states:us-east-1:123456789012:execution:coconut-prod-deploy:dep-abort',
        stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:coconut-prod-deploy',
        name: 'dep-abort',
        status: 'ABORTED',
        error: null,
        cause: null,
      },
    };
    const result = await handler(event as never, {} as never);
    expect(result.repaired).toContain('staging: DEPLOYING -> FAILED');
    expect((await store.getDeployment('dep-abort'))?.stages.map((s) => s.state)).toEqual(['FAILED', 'SKIPPED']);
    // The lock went to the next deployment, and the repair woke it.
    expect(result.repaired).toContain('staging: lock released');
    expect(woken).toEqual(['token-dep-abort', 'token-dep-next']);
    expect((await store.getLock('api#staging'))?.owner).toBe('dep-next');
    await expect(handler({ ...event, source: 'aws.ecr' } as never, {} as never)).rejects.toThrow(
      /not a valid Step Functions Execution Status Change event: source/,
    );
  });

  it('releases a lock its stage no longer needed (ended before ReleaseLock ran), keeps finished stages, and a rollback cut short is ROLLBACK_FAILED', async () => {
    const at = new Date().toISOString();
    const create = (id: string, service: string) =>
      store.createDeployment(
        {
          deploymentId: id,
          service,
          version: '2.0.0',
          image: { registry: 'ecr', repository: service, tag: '2.0.0' },
          trigger: { kind: 'ecr-push', id: 'e', at },
          environments: ['staging', 'prod'],
          createdAt: at,
          kind: 'deploy',
        },
        ['staging', 'prod'].map((environment, order) => ({
          deploymentId: id,
          service,
          environment,
          order,
          version: '2.0.0',
          state: 'PENDING' as const,
          createdAt: at,
          updatedAt: at,
        })),
      );
    const woken: string[] = [];
    const log = memoryLog();
    const deps = {
      store,
      clock: { now: () => new Date() },
      log,
      orchestrator: { sendTaskSuccess: async (token: string) => void woken.push(token) },
    };
    const ask = (key: string, id: string, queuedAt: string) =>
      requestLock(deps, { key, deploymentId: id, createdAt: queuedAt, holdSeconds: 3600, token: `token-${id}` });
    const handler = createExecutionEndedHandler(async () => deps as never);
    const ended = (name: string, status: string) =>
      handler(
        {
          id: `evt-${name}`,
          source: 'aws.states',
          'detail-type': 'Step Functions Execution Status Change',
          detail: {
            executionArn: `arn:aws:states:us-east-1:123456789012:execution:coconut-prod-deploy:${name}`,
            stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:coconut-prod-deploy',
            name,
            status,
            error: null,
            cause: null,
          },
        } as never,
        {} as never,
      );

    // Staging SUCCEEDED, and the execution timed out before its ReleaseLock: the lock is still held.
    await create('dep-done', 'web');
    for (const state of ['DEPLOYING', 'BAKING', 'SUCCEEDED'] as const)
      await store.updateStage('dep-done', 'staging', { state }, new Date());
    await ask('web#staging', 'dep-done', '2026-01-01T00:00:00Z');
    await ask('web#staging', 'dep-after', '2026-01-01T00:00:01Z');
    const done = await ended('dep-done', 'TIMED_OUT');
    expect(done.repaired).toEqual(['staging: lock released', 'prod: PENDING -> SKIPPED']);
    expect((await store.getDeployment('dep-done'))?.stages.map((s) => s.state)).toEqual(['SUCCEEDED', 'SKIPPED']);
    expect(woken).toEqual(['token-dep-done', 'token-dep-after']);
    expect((await store.getLock('web#staging'))?.owner).toBe('dep-after');
    expect(log.lines.at(-1)).toEqual({
      level: 'WARN',
      message:
        'deployment dep-done ended (execution timed_out) with loose ends, repaired: staging: lock released; prod: PENDING -> SKIPPED',
    });

    // A rollback the execution's end cut short did not roll back: ROLLBACK_FAILED, and its lock goes on.
    await create('dep-rb', 'shop');
    for (const state of ['DEPLOYING', 'BAKING', 'ROLLING_BACK'] as const)
      await store.updateStage('dep-rb', 'staging', { state }, new Date());
    await ask('shop#staging', 'dep-rb', '2026-01-01T00:00:00Z');
    const rb = await ended('dep-rb', 'ABORTED');
    expect(rb.repaired).toEqual([
      'staging: ROLLING_BACK -> ROLLBACK_FAILED',
      'staging: lock released',
      'prod: PENDING -> SKIPPED',
    ]);
    expect((await store.getStage('dep-rb', 'staging'))?.state).toBe('ROLLBACK_FAILED');
    expect((await store.getLock('shop#staging'))?.owner).toBeUndefined();

    // A normal end finds nothing to do, and says nothing.
    const lines = log.lines.length;
    expect(await ended('dep-rb', 'FAILED')).toEqual({ repaired: [] });
    expect(log.lines).toHaveLength(lines);
  });

  it('keeps trying while the store is down and the invocation has time; gives up (to Lambda retries, then the DLQ) when it has not', async () => {
    // Lambda retries a failed asynchronous invocation only twice, 1 and 2 minutes apart, then
    // sends it to the DLQ (Lambda guide, "How Lambda handles errors and retries with asynchronous
    // invocation"); EventBridge's retry policy covers only delivering it ("How EventBridge
    // retries delivering events"). So the handler itself must outlast a short store outage.
    const at = new Date().toISOString();
    await store.createDeployment(
      {
        deploymentId: 'dep-outage',
        service: 'api',
        version: '1.0.0',
        image: { registry: 'ecr', repository: 'api', tag: '1.0.0' },
        trigger: { kind: 'ecr-push', id: 'e', at },
        environments: ['staging'],
        createdAt: at,
        kind: 'deploy',
      },
      [
        {
          deploymentId: 'dep-outage',
          service: 'api',
          environment: 'staging',
          order: 0,
          version: '1.0.0',
          state: 'PENDING' as const,
          createdAt: at,
          updatedAt: at,
        },
      ],
    );
    for (const state of ['DEPLOYING', 'BAKING'] as const) await store.updateStage('dep-outage', 'staging', { state }, new Date());
    let outage = 3;
    const flaky = new Proxy(store, {
      get(target, key, receiver) {
        if (key === 'getDeployment' && outage > 0) {
          return async () => {
            outage -= 1;
            throw new Error('connect ECONNREFUSED 127.0.0.1:8000');
          };
        }
        const value = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const log = memoryLog();
    const ports = async () => ({ store: flaky, clock: { now: () => new Date() }, log }) as never;
    const slept: number[] = [];
    const handler = createExecutionEndedHandler(ports, { sleep: async (ms) => void slept.push(ms) });
    const event = {
      id: 'evt-2',
      source: 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      detail: {
        executionArn: 'arn:aws:states:us-east-1:123456789012:execution:coconut-prod-deploy:dep-outage',
        stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:coconut-prod-deploy',
        name: 'dep-outage',
        status: 'FAILED',
        error: 'Coconut.StoreUnavailable',
        cause: 'the store did not answer',
      },
    };
    // A Lambda context with most of its 15 minutes left.
    const result = await handler(event as never, { getRemainingTimeInMillis: () => 14 * 60_000 } as never);
    expect(slept).toEqual([1000, 2000, 4000]);
    expect(result.repaired).toContain('staging: BAKING -> FAILED');
    expect(log.lines.filter((l) => l.level === 'WARN').map((l) => l.message)[0]).toContain('repair attempt 1 failed');

    // Too little time left for another attempt: the error goes to Lambda (its retries, then the DLQ).
    outage = 1;
    await expect(handler(event as never, { getRemainingTimeInMillis: () => 30_000 } as never)).rejects.toThrow('ECONNREFUSED');
  });

  describe('repairAfterExecution', () => {
    it('a failed execution: the stage FAILED with the error and (up to 200 characters of) its cause; its lock goes to the next waiter', async () => {
      // The cause Step Functions reports can be long (up to 32,768 characters, StartExecution/
      // DescribeExecution `cause`); the reason people read keeps the start of it.
      const at = new Date().toISOString();
      await store.createDeployment(
        {
          deploymentId: 'dep-failed',
          service: 'cart',
          version: '3.0.0',
          image: { registry: 'ecr', repository: 'cart', tag: '3.0.0' },
          trigger: { kind: 'ecr-push', id: 'e', at },
          environments: ['prod'],
          createdAt: at,
          kind: 'deploy',
        },
        [
          {
            deploymentId: 'dep-failed',
            service: 'cart',
            environment: 'prod',
            order: 0,
            version: '3.0.0',
            state: 'PENDING' as const,
            createdAt: at,
            updatedAt: at,
          },
        ],
      );
      await store.updateStage('dep-failed', 'prod', { state: 'DEPLOYING' }, new Date());
      const woken: string[] = [];
      const log = memoryLog();
      const finished = new Date('2026-03-01T12:00:00.000Z');
      const deps = {
        store,
        clock: { now: () => finished },
        log,
        orchestrator: { sendTaskSuccess: async (token: string) => void woken.push(token) },
        notifier: silentNotifier,
      };
      const ask = (id: string, queuedAt: string) =>
        requestLock(deps, { key: 'cart#prod', deploymentId: id, createdAt: queuedAt, holdSeconds: 3600, token: `token-${id}` });
      await ask('dep-failed', '2026-01-01T00:00:00Z');
      await ask('dep-queued', '2026-01-01T00:00:01Z');
      const cause = `${'x'.repeat(200)}TRUNCATED`;
      const result = await repairAfterExecution(deps, {
        deploymentId: 'dep-failed',
        status: 'FAILED',
        error: 'States.Runtime',
        cause,
      });
      const why = `execution failed (States.Runtime: ${'x'.repeat(200)})`;
      expect(result).toEqual({ repaired: ['prod: DEPLOYING -> FAILED', 'prod: lock released'] });
      expect(await store.getStage('dep-failed', 'prod')).toMatchObject({
        state: 'FAILED',
        reason: `${why} during DEPLOYING`,
        finishedAt: finished.toISOString(),
      });
      expect(woken).toEqual(['token-dep-failed', 'token-dep-queued']);
      expect((await store.getLock('cart#prod'))?.owner).toBe('dep-queued');
      expect(log.lines).toEqual([
        {
          level: 'WARN',
          message: `deployment dep-failed ended (${why}) with loose ends, repaired: prod: DEPLOYING -> FAILED; prod: lock released`,
        },
      ]);

      // An error without a cause; and a deployment nobody recorded: nothing to repair, nothing said.
      await store.createDeployment(
        {
          deploymentId: 'dep-nocause',
          service: 'cart',
          version: '3.0.1',
          image: { registry: 'ecr', repository: 'cart', tag: '3.0.1' },
          trigger: { kind: 'ecr-push', id: 'e', at },
          environments: ['prod'],
          createdAt: at,
          kind: 'deploy',
        },
        [
          {
            deploymentId: 'dep-nocause',
            service: 'cart',
            environment: 'prod',
            order: 0,
            version: '3.0.1',
            state: 'PENDING' as const,
            createdAt: at,
            updatedAt: at,
          },
        ],
      );
      expect(
        await repairAfterExecution(deps, { deploymentId: 'dep-nocause', status: 'TIMED_OUT', error: 'States.Timeout' }),
      ).toEqual({
        repaired: ['prod: PENDING -> SKIPPED'],
      });
      expect((await store.getStage('dep-nocause', 'prod'))?.reason).toBe('not reached: execution timed_out (States.Timeout)');
      const lines = log.lines.length;
      expect(await repairAfterExecution(deps, { deploymentId: 'dep-unknown', status: 'ABORTED' })).toEqual({ repaired: [] });
      expect(log.lines).toHaveLength(lines);
      expect(woken).toEqual(['token-dep-failed', 'token-dep-queued']);
    });

    it('a stopped execution: its pending approval and freeze hold become EXPIRED with why (buttons gone), its pin waiter leaves the pin; a normal end and a race with one change nothing', async () => {
      const at = '2026-03-02T09:00:00.000Z';
      const create = async (id: string, service: string) =>
        store.createDeployment(
          {
            deploymentId: id,
            service,
            version: '4.0.0',
            image: { registry: 'ecr', repository: service, tag: '4.0.0' },
            trigger: { kind: 'ecr-push', id: 'e', at },
            environments: ['prod'],
            createdAt: at,
            kind: 'deploy',
          },
          [
            {
              deploymentId: id,
              service,
              environment: 'prod',
              order: 0,
              version: '4.0.0',
              state: 'PENDING' as const,
              createdAt: at,
              updatedAt: at,
            },
          ],
        );
      const approval = (id: string, service: string, extra: Partial<ApprovalRecord> = {}): ApprovalRecord => ({
        approvalId: `apr-${id}`,
        deploymentId: id,
        service,
        environment: 'prod',
        version: '4.0.0',
        taskToken: `token-${id}`,
        requestedBy: 'ecr-push',
        requestedAt: at,
        expiresAt: '2026-03-03T09:00:00.000Z',
        status: 'PENDING',
        ...extra,
      });
      const stopped = new Date('2026-03-02T09:30:00.000Z');
      const decided: ApprovalRecord[] = [];
      const failed: string[] = [];
      const log = memoryLog();
      const deps = {
        store,
        clock: { now: () => stopped },
        log,
        orchestrator: {
          sendTaskSuccess: async () => undefined,
          sendTaskFailure: async (token: string) => void failed.push(token),
        },
        notifier: { ...silentNotifier, approvalDecided: async (a: ApprovalRecord) => void decided.push(a) },
      };

      // Waiting for prod approval, posted to Slack; then stopped (StopExecution, the console).
      await create('dep-wait', 'pay');
      await store.putApproval(approval('dep-wait', 'pay', { message: { channel: 'C1', ts: '1.2' } }));
      await store.updateStage('dep-wait', 'prod', { state: 'AWAITING_APPROVAL', approvalId: 'apr-dep-wait' }, new Date(at));
      const result = await repairAfterExecution(deps, { deploymentId: 'dep-wait', status: 'ABORTED' });
      expect(result.repaired).toEqual(['prod: AWAITING_APPROVAL -> FAILED', 'prod: approval apr-dep-wait expired']);
      const expired = {
        status: 'EXPIRED',
        decidedBy: EXECUTION_ENDED,
        decidedAt: stopped.toISOString(),
        comment: 'execution aborted: nothing waits on this approval any more',
      };
      expect(await store.getApproval('apr-dep-wait')).toMatchObject(expired);
      // The Slack message is updated from this record (approvalDecidedMessage: no buttons).
      expect(decided).toEqual([
        expect.objectContaining({ approvalId: 'apr-dep-wait', message: { channel: 'C1', ts: '1.2' }, ...expired }),
      ]);
      expect((await store.listApprovals({ status: 'PENDING' })).map((a) => a.approvalId)).not.toContain('apr-dep-wait');
      expect(log.lines.at(-1)?.message).toBe(
        'deployment dep-wait ended (execution aborted) with loose ends, repaired: prod: AWAITING_APPROVAL -> FAILED; prod: approval apr-dep-wait expired',
      );
      // Ran again (a redelivered event): nothing left to do.
      expect(await repairAfterExecution(deps, { deploymentId: 'dep-wait', status: 'ABORTED' })).toEqual({ repaired: [] });
      expect(decided).toHaveLength(1);

      // Held by a freeze window (a break-glass request in "Frozen deployments"), and the execution timed out.
      await create('dep-frozen', 'pay');
      await store.putApproval(approval('dep-frozen', 'pay', { purpose: 'freeze' }));
      await store.updateStage(
        'dep-frozen',
        'prod',
        { state: 'PENDING', approvalId: 'apr-dep-frozen', reason: 'FROZEN until ...' },
        new Date(at),
      );
      expect(
        await repairAfterExecution(deps, { deploymentId: 'dep-frozen', status: 'TIMED_OUT', error: 'States.Timeout' }),
      ).toEqual({
        repaired: ['prod: PENDING -> SKIPPED', 'prod: freeze hold apr-dep-frozen expired'],
      });
      expect(await store.getApproval('apr-dep-frozen')).toMatchObject({
        status: 'EXPIRED',
        comment: 'execution timed_out (States.Timeout): nothing waits on this freeze hold any more',
      });

      // Waiting at a pin beside another deployment; it failed unhandled. Only its own waiter goes.
      await create('dep-pinned', 'shop');
      const pin: PinRecord = {
        service: 'shop',
        environment: 'prod',
        version: '3.0.0',
        reason: 'audit',
        pinnedBy: 'ana',
        pinnedAt: at,
        waiters: {
          'dep-pinned': { version: '4.0.0', token: 'token-dep-pinned', since: at },
          'dep-other': { version: '4.0.1', token: 'token-dep-other', since: at },
        },
        revision: 1,
      };
      expect(await store.putPin(pin)).toBe(true);
      expect(await repairAfterExecution(deps, { deploymentId: 'dep-pinned', status: 'FAILED', error: 'States.Runtime' })).toEqual(
        { repaired: ['prod: PENDING -> SKIPPED', 'prod: no longer waits at the pin'] },
      );
      const after = await store.getPin('shop', 'prod');
      expect(after?.waiters).toEqual({ 'dep-other': pin.waiters['dep-other'] });
      expect(after?.revision).toBe(2);
      // Unpinning wakes only the deployment that still waits.
      const config = {
        services: [{ name: 'shop', environments: [{ name: 'prod' }] }],
      } as unknown as CoconutConfig;
      const unpinned = await unpinEnvironment({ ...deps, config } as never, {
        service: 'shop',
        environment: 'prod',
        actor: { id: 'op', source: 'local' },
      });
      expect(unpinned.released).toEqual(['dep-other']);
      expect(failed).toEqual(['token-dep-other']);

      // A normal end: the approval was decided; nothing to do, nothing said, nothing notified.
      const succeeded = async (id: string) => {
        await create(id, 'pay');
        for (const state of ['AWAITING_APPROVAL', 'DEPLOYING', 'BAKING', 'SUCCEEDED'] as const) {
          const link = state === 'AWAITING_APPROVAL' ? { approvalId: `apr-${id}` } : {};
          await store.updateStage(id, 'prod', { state, ...link }, new Date(at));
        }
      };
      await succeeded('dep-normal');
      await store.putApproval(approval('dep-normal', 'pay', { status: 'APPROVED', decidedBy: 'ana', decidedAt: at }));
      const lines = log.lines.length;
      expect(await repairAfterExecution(deps, { deploymentId: 'dep-normal', status: 'SUCCEEDED' })).toEqual({ repaired: [] });
      expect((await store.getApproval('apr-dep-normal'))?.status).toBe('APPROVED');

      // Races: approved between the repair's read and its write (the write is conditional on
      // PENDING), or a linked approval that is gone. Neither is touched nor reported.
      await succeeded('dep-race');
      await store.putApproval(approval('dep-race', 'pay', { status: 'APPROVED', decidedBy: 'ana', decidedAt: at }));
      const stale = new Proxy(store, {
        get(target, key, receiver) {
          if (key === 'getApproval') return async (id: string) => approval(id.replace(/^apr-/, ''), 'pay');
          const value = Reflect.get(target, key, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      expect(await repairAfterExecution({ ...deps, store: stale }, { deploymentId: 'dep-race', status: 'ABORTED' })).toEqual({
        repaired: [],
      });
      expect(await store.getApproval('apr-dep-race')).toMatchObject({ status: 'APPROVED', decidedBy: 'ana' });
      await succeeded('dep-gone');
      expect(await repairAfterExecution({ ...deps, store: stale }, { deploymentId: 'dep-gone', status: 'ABORTED' })).toEqual({
        repaired: [],
      });
      expect(log.lines).toHaveLength(lines);
      expect(decided).toHaveLength(2);
    });
  });
});
