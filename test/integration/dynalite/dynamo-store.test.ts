/**
 * The DynamoDB Store adapter against dynalite: the same code the local runtime and Lambda use.
 * (The same adapter runs against moto in the AWS suite.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoStore } from '../../../src/aws/dynamo/store.ts';
import type { DeploymentRecord, StageRecord } from '../../../src/core/model/deployment.ts';
import { InvalidTransitionError, NotFoundError } from '../../../src/core/model/errors.ts';
import type { LocalDynamo } from '../../../src/local/local-dynamodb.ts';
import { dynaliteStore, THROTTLING_ERROR_NAMES, throttlingStore } from '../../support/stores.ts';

let store: DynamoStore;
let dynamo: LocalDynamo;
let TABLE_NAME: string;
let OPTIONS: Parameters<typeof throttlingStore>[0];
beforeAll(async () => ({ store, dynamo, table: TABLE_NAME, options: OPTIONS } = await dynaliteStore()));
afterAll(() => dynamo.stop());

function deployment(id: string, createdAt = new Date().toISOString()): [DeploymentRecord, StageRecord[]] {
  const record: DeploymentRecord = {
    deploymentId: id,
    service: 'api',
    version: '1.0.0',
    image: { registry: 'ecr', repository: 'api', tag: '1.0.0' },
    trigger: { kind: 'ecr-push', id: 'e1', at: createdAt },
    environments: ['staging', 'prod'],
    createdAt,
    kind: 'deploy',
  };
  const stages = record.environments.map((environment, order) => ({
    deploymentId: id,
    service: 'api',
    environment,
    order,
    version: '1.0.0',
    state: 'PENDING' as const,
    createdAt,
    updatedAt: createdAt,
  }));
  return [record, stages];
}

describe('DynamoStore (dynalite)', () => {
  it('creates a deployment once and reads it back with its stages in order', async () => {
    const [record, stages] = deployment('dep-1');
    expect(await store.createDeployment(record, stages)).toBe(true);
    expect(await store.createDeployment(record, stages)).toBe(false);
    const view = await store.getDeployment('dep-1');
    expect(view?.stages.map((s) => s.environment)).toEqual(['staging', 'prod']);
    expect(view?.state).toBe('PENDING');
    expect(await store.getDeployment('nope')).toBeUndefined();
  });

  it('moves stages only along allowed transitions, conditionally', async () => {
    const now = new Date();
    await store.updateStage('dep-1', 'staging', { state: 'DEPLOYING', startedAt: now.toISOString() }, now);
    const again = await store.updateStage('dep-1', 'staging', { state: 'DEPLOYING' }, now); // retried step
    expect(again.state).toBe('DEPLOYING');
    await expect(store.updateStage('dep-1', 'staging', { state: 'ROLLED_BACK' }, now)).rejects.toThrow(InvalidTransitionError);
    await expect(store.updateStage('dep-1', 'nowhere', { state: 'DEPLOYING' }, now)).rejects.toThrow(NotFoundError);
    // Two racing writers: exactly one wins the move out of BAKING.
    await store.updateStage('dep-1', 'staging', { state: 'BAKING' }, now);
    const results = await Promise.allSettled([
      store.updateStage('dep-1', 'staging', { state: 'SUCCEEDED' }, now),
      store.updateStage('dep-1', 'staging', { state: 'ROLLING_BACK' }, now),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('lists deployments newest first, and history per service and environment', async () => {
    const [r2, s2] = deployment('dep-2', new Date(Date.now() + 1000).toISOString());
    await store.createDeployment(r2, s2);
    expect((await store.listDeployments({})).map((d) => d.deploymentId).slice(0, 2)).toEqual(['dep-2', 'dep-1']);
    expect((await store.listDeployments({ service: 'api', limit: 1 })).map((d) => d.deploymentId)).toEqual(['dep-2']);
    expect((await store.listStages({ service: 'api', environment: 'prod' })).map((s) => s.deploymentId)).toEqual([
      'dep-2',
      'dep-1',
    ]);
    expect(await store.listStages({ service: 'api' })).toHaveLength(4);
  });

  it('keeps what runs where', async () => {
    const now = new Date();
    await store.setEnvironmentVersions('api', 'staging', { current: { version: '1.0.0', deploymentId: 'dep-1' } }, now);
    await store.setEnvironmentVersions('api', 'staging', { lastKnownGood: { version: '1.0.0', deploymentId: 'dep-1' } }, now);
    const state = await store.getEnvironmentState('api', 'staging');
    expect(state).toMatchObject({ current: { version: '1.0.0' }, lastKnownGood: { version: '1.0.0' } });
    expect((await store.listEnvironmentStates()).map((s) => `${s.service}/${s.environment}`)).toContain('api/staging');
  });

  // The environment lock on this adapter: test/integration/both-backends/lock-queue.test.ts.

  it('records an approval decision once; a second decision sees the first', async () => {
    await store.putApproval({
      approvalId: 'apr-1',
      deploymentId: 'dep-1',
      service: 'api',
      environment: 'prod',
      version: '1.0.0',
      taskToken: 'secret-token',
      requestedBy: 'ecr-push',
      requestedAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
      status: 'PENDING',
    });
    expect((await store.listApprovals({ status: 'PENDING' })).map((a) => a.approvalId)).toContain('apr-1');
    const [first, second] = await Promise.all([
      store.decideApproval('apr-1', { status: 'APPROVED', decidedBy: 'ann', decidedAt: 'now' }),
      store.decideApproval('apr-1', { status: 'REJECTED', decidedBy: 'bob', decidedAt: 'now' }),
    ]);
    expect([first.decided, second.decided].sort()).toEqual([false, true]);
    expect(first.approval.status).toBe(second.approval.status);
    expect((await store.listApprovals({ status: 'PENDING' })).map((a) => a.approvalId)).not.toContain('apr-1');
    await expect(store.decideApproval('apr-none', { status: 'APPROVED', decidedBy: 'x', decidedAt: 'now' })).rejects.toThrow(
      NotFoundError,
    );
  });

  it('keeps bake watches per alarm and drops expired ones', async () => {
    const soon = Math.floor(Date.now() / 1000) + 600;
    await store.putBakeWatch({ alarm: 'h', deploymentId: 'd1', environment: 'prod', taskToken: 't1', expiresAt: soon });
    await store.putBakeWatch({ alarm: 'h', deploymentId: 'd2', environment: 'prod', taskToken: 't2', expiresAt: 1 });
    expect((await store.listBakeWatches('h')).map((w) => w.taskToken)).toEqual(['t1']);
    await store.deleteBakeWatch('h', 'd1', 'prod');
    expect(await store.listBakeWatches('h')).toEqual([]);
  });

  it('keeps one chat thread per deployment: the first writer wins, racing writers get it back', async () => {
    expect(await store.getChatThread('dep-t')).toBeUndefined();
    const results = await Promise.all([
      store.putChatThread('dep-t', { channel: 'C1', ts: '1.000001' }),
      store.putChatThread('dep-t', { channel: 'C1', ts: '1.000002' }),
    ]);
    const stored = await store.getChatThread('dep-t');
    expect(stored && ['1.000001', '1.000002']).toContain(stored?.ts);
    expect(results).toEqual([stored, stored]);
    // The thread item is not mistaken for a stage of the deployment.
    await store.createDeployment(...deployment('dep-t'));
    expect((await store.getDeployment('dep-t'))?.stages.map((s) => s.environment)).toEqual(['staging', 'prod']);
  });

  it('remembers a key once until it expires (webhook replays)', async () => {
    const inAMinute = Math.floor(Date.now() / 1000) + 60;
    expect(await store.rememberOnce('slack#abc', inAMinute)).toBe(true);
    expect(await store.rememberOnce('slack#abc', inAMinute)).toBe(false);
    const [a, b] = await Promise.all([store.rememberOnce('slack#race', inAMinute), store.rememberOnce('slack#race', inAMinute)]);
    expect([a, b].sort()).toEqual([false, true]);
    // Past its expiry (TTL deletion is lazy) the key counts as forgotten.
    expect(await store.rememberOnce('slack#old', 1)).toBe(true);
    expect(await store.rememberOnce('slack#old', inAMinute)).toBe(true);
  });

  it('records who decided an approval by chat id', async () => {
    await store.putApproval({
      approvalId: 'apr-2',
      deploymentId: 'd-2',
      service: 'api',
      environment: 'prod',
      version: '1.0.0',
      taskToken: 'secret-token',
      requestedBy: 'ecr-push',
      requestedAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
      status: 'PENDING',
    });
    const { approval } = await store.decideApproval('apr-2', {
      status: 'APPROVED',
      decidedBy: 'ana',
      decidedById: 'U0ANA',
      decidedAt: 'now',
    });
    expect(approval).toMatchObject({ status: 'APPROVED', decidedBy: 'ana', decidedById: 'U0ANA' });
    // Noting where the request was posted changes nothing else.
    expect(await store.setApprovalMessage('apr-2', { channel: 'C1', ts: '1.2' })).toMatchObject({
      status: 'APPROVED',
      decidedBy: 'ana',
      message: { channel: 'C1', ts: '1.2' },
    });
    await expect(store.setApprovalMessage('apr-none', { channel: 'C1', ts: '1.2' })).rejects.toThrow(NotFoundError);
  });

  it('answers each throttling error the SDK gave up on as Coconut.Retryable (the state machine retries it), other errors by their own name', async () => {
    // Coconut.Retryable is what the deploy state machine's Retry backs off on (stepfunctions/deploy.asl.json).
    const { store: throttled, throttleNext } = throttlingStore(OPTIONS, TABLE_NAME);
    for (const name of THROTTLING_ERROR_NAMES) {
      const [record, stages] = deployment(`dep-throttled-${name}`);
      throttleNext(name);
      const error = await throttled.createDeployment(record, stages).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error, name).toMatchObject({
        name: 'Coconut.Retryable',
        message: expect.stringContaining(
          `DynamoDB table ${TABLE_NAME}, deployment dep-throttled-${name}: ${name}: Rate of requests`,
        ),
      });
      expect((error as Error).cause).toMatchObject({ name });
      // The retry goes through: nothing was written by the throttled attempt.
      expect(await throttled.createDeployment(record, stages)).toBe(true);
    }
    const [record, stages] = deployment('dep-invalid');
    throttleNext('ValidationException');
    await expect(throttled.createDeployment(record, stages)).rejects.toMatchObject({ name: 'ValidationException' });
  });
});
