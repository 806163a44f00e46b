/** src/local/restart-recovery.ts: what a restart does to the deployments the old process left running. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoStore } from '../../src/aws/dynamo/store.ts';
import { lockKey, requestLock } from '../../src/core/pipeline/locks.ts';
import { silentNotifier } from '../../src/core/ports.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { recoverInterrupted } from '../../src/local/restart-recovery.ts';
import { memoryLog } from '../support/runtime.ts';
import { dynaliteStore } from '../support/stores.ts';

describe('recoverInterrupted', () => {
  let store: DynamoStore;
  let dynamo: LocalDynamo;
  beforeAll(async () => ({ store, dynamo } = await dynaliteStore()));
  afterAll(() => dynamo.stop());

  it('closes each unfinished stage by the one rule (a rollback: ROLLBACK_FAILED), at the runtime clock, and releases its lock', async () => {
    const created = '2026-03-01T09:00:00.000Z';
    const envs = ['staging', 'qa', 'prod'];
    await store.createDeployment(
      {
        deploymentId: 'dep-restart',
        service: 'api',
        version: '1.0.0',
        image: { registry: 'ecr', repository: 'api', tag: '1.0.0' },
        trigger: { kind: 'ecr-push', id: 'e', at: created },
        environments: envs,
        createdAt: created,
        kind: 'deploy',
      },
      envs.map((environment, order) => ({
        deploymentId: 'dep-restart',
        service: 'api',
        environment,
        order,
        version: '1.0.0',
        state: 'PENDING' as const,
        createdAt: created,
        updatedAt: created,
      })),
    );
    const t = new Date(created);
    await store.updateStage('dep-restart', 'staging', { state: 'DEPLOYING' }, t);
    await store.updateStage('dep-restart', 'staging', { state: 'ROLLING_BACK' }, t);
    await store.updateStage('dep-restart', 'qa', { state: 'DEPLOYING' }, t);
    // Unrealistic beside a running qa, but it shows the rule: prod's freeze hold (a break-glass
    // request in the dashboard) waited on a token that died with the process.
    await store.putApproval({
      approvalId: 'apr-restart',
      deploymentId: 'dep-restart',
      service: 'api',
      environment: 'prod',
      version: '1.0.0',
      taskToken: 'local-token',
      requestedBy: 'ecr-push',
      requestedAt: created,
      expiresAt: '2026-03-02T09:00:00.000Z',
      status: 'PENDING',
      purpose: 'freeze',
    });
    await store.updateStage('dep-restart', 'prod', { state: 'PENDING', approvalId: 'apr-restart' }, t);
    const now = new Date('2026-03-01T10:00:00.000Z');
    const deps = {
      store,
      clock: { now: () => now },
      log: memoryLog(),
      orchestrator: { sendTaskSuccess: async () => undefined },
      notifier: silentNotifier,
    };
    await requestLock(deps, {
      key: lockKey('api', 'qa'),
      deploymentId: 'dep-restart',
      createdAt: created,
      holdSeconds: 3600,
      token: 'tok',
    });
    expect((await store.getLock(lockKey('api', 'qa')))?.owner).toBe('dep-restart');

    await recoverInterrupted({ recoverInterrupted: () => [{ name: 'dep-restart' }, { name: 'gone' }] }, deps);

    const after = await store.getDeployment('dep-restart');
    expect(after?.stages.map((s) => [s.environment, s.state, s.reason, s.finishedAt])).toEqual([
      ['staging', 'ROLLBACK_FAILED', 'the local runtime stopped during ROLLING_BACK', now.toISOString()],
      ['qa', 'INTERRUPTED', 'the local runtime stopped during DEPLOYING', now.toISOString()],
      ['prod', 'SKIPPED', 'not reached: the local runtime stopped', undefined],
    ]);
    expect((await store.getLock(lockKey('api', 'qa')))?.owner).toBeUndefined();
    expect(deps.log.lines.map((l) => l.message)).toContain(
      'deployment dep-restart was interrupted by a restart; marked staging ROLLBACK_FAILED, qa INTERRUPTED, prod SKIPPED and its locks released; prod: freeze hold apr-restart expired',
    );
    expect(await store.getApproval('apr-restart')).toMatchObject({
      status: 'EXPIRED',
      decidedAt: now.toISOString(),
      comment: 'the local runtime stopped: nothing waits on this freeze hold any more',
    });
  });
});
