/**
 * DynamoStore against moto_server's DynamoDB: the conditional writes that keep racing steps,
 * retried Lambdas and double clicks from corrupting records.
 *
 * A race is played here as its interleaving: both writers read the same state, then both
 * write. moto_server is a threaded development server without per-item locking, so truly
 * simultaneous requests are not atomic there (DynamoDB's are); the concurrent versions of
 * these races run against dynalite in dynamo-store.test.ts.
 */
import { CreateTableCommand, DescribeTimeToLiveCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../../src/aws/clients.ts';
import { DynamoStore } from '../../../src/aws/dynamo/store.ts';
import { TTL_ATTRIBUTE, tableDefinition } from '../../../src/aws/table.ts';
import type { DeploymentRecord, StageRecord } from '../../../src/core/model/deployment.ts';
import { InvalidTransitionError, NotFoundError } from '../../../src/core/model/errors.ts';
import { releaseLock, requestLock } from '../../../src/core/pipeline/locks.ts';
import type { ApprovalRecord } from '../../../src/core/ports.ts';
import { type Moto, startMoto } from '../../support/moto.ts';
import { memoryLog } from '../../support/runtime.ts';
import { THROTTLING_ERROR_NAMES, throttlingStore } from '../../support/stores.ts';

const TABLE = 'coconut-moto';
let moto: Moto;
let store: DynamoStore;
beforeAll(async () => {
  moto = await startMoto();
  const db = new DynamoDBClient(moto.clientOptions);
  await db.send(new CreateTableCommand(tableDefinition(TABLE)));
  await db.send(
    new UpdateTimeToLiveCommand({ TableName: TABLE, TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true } }),
  );
  store = new DynamoStore(documentClient(moto.clientOptions), TABLE);
});
afterAll(() => moto?.stop());

function deployment(id: string): [DeploymentRecord, StageRecord[]] {
  const at = new Date().toISOString();
  const record: DeploymentRecord = {
    deploymentId: id,
    service: 'api',
    version: '2.0.0',
    image: { registry: 'ecr', repository: 'api', tag: '2.0.0' },
    trigger: { kind: 'ecr-push', id: 'evt-1', at },
    environments: ['staging', 'prod'],
    createdAt: at,
    kind: 'deploy',
  };
  return [
    record,
    record.environments.map((environment, order) => ({
      deploymentId: id,
      service: 'api',
      environment,
      order,
      version: '2.0.0',
      state: 'PENDING' as const,
      createdAt: at,
      updatedAt: at,
    })),
  ];
}

describe('Class: DynamoStore (moto_server)', () => {
  it('has the TTL attribute enabled on the table it writes (ttl)', async () => {
    const ttl = await new DynamoDBClient(moto.clientOptions).send(new DescribeTimeToLiveCommand({ TableName: TABLE }));
    expect(ttl.TimeToLiveDescription).toMatchObject({ AttributeName: 'ttl', TimeToLiveStatus: 'ENABLED' });
  });

  it('creates a deployment once: the second writer finds it there', async () => {
    const [record, stages] = deployment('dep-race');
    expect(await store.createDeployment(record, stages)).toBe(true);
    expect(await store.createDeployment(record, stages)).toBe(false);
    expect((await store.getDeployment('dep-race'))?.stages.map((s) => s.state)).toEqual(['PENDING', 'PENDING']);
  });

  it('lets one of two steps that both saw BAKING move the stage; the other gets InvalidTransitionError', async () => {
    const now = new Date();
    await store.updateStage('dep-race', 'staging', { state: 'DEPLOYING' }, now);
    await store.updateStage('dep-race', 'staging', { state: 'BAKING' }, now);
    // Both read BAKING (the bake ended and an alarm fired at the same moment)...
    const [seenByBake, seenByAlarm] = await Promise.all([
      store.getStage('dep-race', 'staging'),
      store.getStage('dep-race', 'staging'),
    ]);
    expect([seenByBake?.state, seenByAlarm?.state]).toEqual(['BAKING', 'BAKING']);
    // ...then both write: the condition on the stored state decides.
    await store.updateStage('dep-race', 'staging', { state: 'SUCCEEDED' }, now);
    await expect(store.updateStage('dep-race', 'staging', { state: 'ROLLING_BACK', reason: 'alarm' }, now)).rejects.toThrow(
      new InvalidTransitionError('dep-race on staging: cannot move from SUCCEEDED to ROLLING_BACK'),
    );
    // A retried step (same state again) is harmless.
    expect((await store.updateStage('dep-race', 'staging', { state: 'SUCCEEDED' }, now)).state).toBe('SUCCEEDED');
    await expect(store.updateStage('dep-race', 'nowhere', { state: 'DEPLOYING' }, now)).rejects.toThrow(NotFoundError);
  });

  it('gives the environment lock to one of two deployments that read the same free lock', async () => {
    const key = 'api#prod';
    const [readByA, readByB] = await Promise.all([store.getLock(key), store.getLock(key)]);
    expect(readByA).toBeUndefined();
    const free = { key, waiters: {}, version: 0 };
    expect(await store.putLock({ ...(readByA ?? free), owner: 'dep-a', expiresAt: 9_999_999_999, version: 1 })).toBe(true);
    expect(await store.putLock({ ...(readByB ?? free), owner: 'dep-b', expiresAt: 9_999_999_999, version: 1 })).toBe(false);
    expect((await store.getLock(key))?.owner).toBe('dep-a');
    // Through the domain: B queues behind A, and is woken when A releases it (more: lock-queue.test.ts).
    const woken: string[] = [];
    const deps = {
      store,
      orchestrator: { sendTaskSuccess: async (token: string) => void woken.push(token) },
      clock: { now: () => new Date() },
      log: memoryLog(),
    };
    const ask = (id: string) =>
      requestLock(deps, { key, deploymentId: id, createdAt: '2026-01-01T00:00:01Z', holdSeconds: 60, token: `t-${id}` });
    expect(await ask('dep-b')).toMatchObject({ acquired: false, holder: 'dep-a', position: 1 });
    expect(await releaseLock(deps, key, 'dep-a')).toBe(true);
    expect(woken).toEqual(['t-dep-b']);
    expect((await store.getLock(key))?.owner).toBe('dep-b');
    // A writer holding a stale version loses.
    const lock = await store.getLock(key);
    expect(await store.putLock({ ...(lock as NonNullable<typeof lock>), owner: 'intruder' })).toBe(false);
  });

  it('records one decision when approve and reject both saw the approval PENDING', async () => {
    const approval: ApprovalRecord = {
      approvalId: 'apr-race',
      deploymentId: 'dep-race',
      service: 'api',
      environment: 'prod',
      version: '2.0.0',
      taskToken: 'token-never-shown',
      requestedBy: 'ecr-push',
      requestedAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      status: 'PENDING',
    };
    await store.putApproval(approval);
    const [seenByAnn, seenByBob] = await Promise.all([store.getApproval('apr-race'), store.getApproval('apr-race')]);
    expect([seenByAnn?.status, seenByBob?.status]).toEqual(['PENDING', 'PENDING']);
    const ann = await store.decideApproval('apr-race', { status: 'APPROVED', decidedBy: 'U1', decidedAt: 'now' });
    const bob = await store.decideApproval('apr-race', { status: 'REJECTED', decidedBy: 'U2', decidedAt: 'now' });
    expect([ann.decided, bob.decided]).toEqual([true, false]);
    expect(bob.approval).toMatchObject({ status: 'APPROVED', decidedBy: 'U1' });
    expect(await store.listApprovals({ status: 'PENDING' })).toEqual([]);
    await expect(store.decideApproval('apr-nope', { status: 'APPROVED', decidedBy: 'U1', decidedAt: 'now' })).rejects.toThrow(
      NotFoundError,
    );
  });

  it('names the table when DynamoDB refuses a write', async () => {
    const missing = new DynamoStore(documentClient(moto.clientOptions), 'no-such-table');
    const [record, stages] = deployment('dep-missing');
    await expect(missing.createDeployment(record, stages)).rejects.toThrow(
      /DynamoDB table no-such-table, deployment dep-missing: ResourceNotFoundException/,
    );
  });

  it('answers each throttling error the SDK gave up on as Coconut.Retryable (the state machine retries it), other errors by their own name', async () => {
    // Coconut.Retryable is what the deploy state machine's Retry backs off on (stepfunctions/deploy.asl.json).
    const { store: throttled, throttleNext } = throttlingStore(moto.clientOptions, TABLE);
    for (const name of THROTTLING_ERROR_NAMES) {
      const [record, stages] = deployment(`dep-throttled-${name}`);
      throttleNext(name);
      const error = await throttled.createDeployment(record, stages).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error, name).toMatchObject({
        name: 'Coconut.Retryable',
        message: expect.stringContaining(`DynamoDB table ${TABLE}, deployment dep-throttled-${name}: ${name}: Rate of requests`),
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
