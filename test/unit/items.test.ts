/**
 * src/aws/dynamo/items.ts: each kind of record comes back from its item unchanged, lies under
 * the keys src/aws/table.ts draws, and history import (`coconut import`) stores exactly the
 * item the pipeline's own writes store (checked on dynalite, the local runtime's DynamoDB).
 */
import { randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../src/aws/clients.ts';
import {
  approvalItem,
  bakeWatchItem,
  deliveryItem,
  deploymentItem,
  environmentItem,
  historyItemToItem,
  historyKey,
  type Item,
  lockItem,
  recordOf,
  seenItem,
  stageItem,
  tableAttributesIn,
  threadItem,
  threadOf,
} from '../../src/aws/dynamo/items.ts';
import { TABLE_ATTRIBUTES } from '../../src/aws/dynamo/keys.ts';
import { DynamoStore } from '../../src/aws/dynamo/store.ts';
import type { DeploymentRecord, EnvironmentState, StageRecord } from '../../src/core/model/deployment.ts';
import type {
  ApprovalRecord,
  BakeWatch,
  ChatThreadRecord,
  DeliveryRecord,
  HistoryItem,
  LockRecord,
} from '../../src/core/ports.ts';
import { ensureTable, type LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { dynaliteStore } from '../support/stores.ts';

const deployment: DeploymentRecord = {
  deploymentId: 'dep-1',
  service: 'api',
  version: '1.2.0',
  image: { registry: 'ecr', repository: 'api', tag: '1.2.0', digest: `sha256:${'a'.repeat(64)}` },
  trigger: { kind: 'ecr-push', id: 'evt-1', at: '2026-01-02T03:04:05.000Z' },
  environments: ['staging', 'prod'],
  createdAt: '2026-01-02T03:04:05.000Z',
  kind: 'deploy',
};
const stage: StageRecord = {
  deploymentId: 'dep-1',
  service: 'api',
  environment: 'prod',
  order: 1,
  version: '1.2.0',
  state: 'PENDING',
  // Later than the deployment: a stage still sorts by its deployment's time.
  createdAt: '2026-01-02T03:04:06.000Z',
  updatedAt: '2026-01-02T03:04:06.000Z',
};
const environment: EnvironmentState = {
  service: 'api',
  environment: 'prod',
  current: { version: '1.2.0', deploymentId: 'dep-1', revision: '7' },
  lastKnownGood: { version: '1.1.0', deploymentId: 'dep-0' },
  lastDeploymentId: 'dep-1',
  updatedAt: '2026-01-02T04:00:00.000Z',
};
const approval: ApprovalRecord = {
  approvalId: 'apr-1',
  deploymentId: 'dep-1',
  service: 'api',
  environment: 'prod',
  version: '1.2.0',
  taskToken: 'token-1',
  requestedBy: 'ecr-push',
  requestedAt: '2026-01-02T03:10:00.000Z',
  expiresAt: '2026-01-03T03:10:00.000Z',
  status: 'APPROVED',
  decidedBy: 'Ada',
  decidedById: 'U0ADA',
  decidedAt: '2026-01-02T03:20:00.000Z',
  message: { channel: 'C1', ts: '1.2' },
};
const thread: ChatThreadRecord = { deploymentId: 'dep-1', channel: 'C1', ts: '1700000000.000100' };
const lock: LockRecord = {
  key: 'api#prod',
  owner: 'dep-1',
  expiresAt: 1_800_000_000,
  waiters: { 'dep-2': { createdAt: '2026-01-02T05:00:00.000Z', token: 't2', holdSeconds: 600, since: 1_799_999_000 } },
  version: 3,
};
const watch: BakeWatch = {
  alarm: 'api-5xx',
  deploymentId: 'dep-1',
  environment: 'prod',
  taskToken: 't',
  expiresAt: 1_800_000_000,
};
const delivery: DeliveryRecord = {
  deliveryId: 'github:d-1',
  statusCode: 202,
  body: { started: ['dep-1'] },
  receivedAt: '2026-01-02T03:04:05.000Z',
  expiresAt: 1_800_000_000,
};
const NOW = 1_767_000_000;

describe('items: record <-> item, per kind of record', () => {
  it('gives every record back unchanged from its item', () => {
    expect(recordOf(deploymentItem(deployment))).toEqual(deployment);
    expect(recordOf(stageItem(stage, deployment.createdAt))).toEqual(stage);
    expect(recordOf(environmentItem(environment))).toEqual(environment);
    expect(recordOf(approvalItem(approval))).toEqual(approval);
    expect(recordOf(threadItem(thread, NOW))).toEqual(thread);
    expect(threadOf(threadItem(thread, NOW))).toEqual({ channel: thread.channel, ts: thread.ts });
    expect(recordOf(lockItem(lock, NOW))).toEqual(lock);
    expect(recordOf(bakeWatchItem(watch))).toEqual(watch);
    expect(recordOf(deliveryItem(delivery))).toEqual(delivery);
    expect(recordOf(seenItem('slack#sig', NOW))).toEqual({});
    expect(recordOf(undefined)).toBeUndefined();
  });

  it('stores each kind under the keys, index keys and expiry that src/aws/table.ts draws', () => {
    const table = (item: Item) => Object.fromEntries(TABLE_ATTRIBUTES.filter((k) => k in item).map((k) => [k, item[k]]));
    const at = '2026-01-02T03:04:05.000Z#dep-1';
    expect(table(deploymentItem(deployment))).toEqual({
      pk: 'DEP#dep-1',
      sk: 'META',
      type: 'deployment',
      gsi1pk: 'SVC#api',
      gsi1sk: at,
      gsi2pk: 'ALL#DEPLOYMENTS',
      gsi2sk: at,
    });
    expect(table(stageItem(stage, deployment.createdAt))).toEqual({
      pk: 'DEP#dep-1',
      sk: 'ENV#prod',
      type: 'stage',
      gsi1pk: 'SVCENV#api#prod',
      gsi1sk: at,
    });
    expect(table(environmentItem(environment))).toEqual({
      pk: 'SVC#api',
      sk: 'ENV#prod',
      gsi2pk: 'ALL#ENVSTATES',
      gsi2sk: 'api#prod',
    });
    expect(table(approvalItem(approval))).toEqual({
      pk: 'APR#apr-1',
      sk: 'META',
      type: 'approval',
      gsi2pk: 'APPROVALS#APPROVED',
      gsi2sk: '2026-01-02T03:10:00.000Z#apr-1',
      // Kept 90 days after it expires.
      ttl: Date.parse(approval.expiresAt) / 1000 + 90 * 86400,
    });
    expect(table(threadItem(thread, NOW))).toEqual({ pk: 'THREAD#dep-1', sk: 'THREAD', type: 'thread', ttl: NOW + 90 * 86400 });
    // A held lock lives a day past its expiry; an idle one a day from now.
    expect(table(lockItem(lock, NOW))).toEqual({ pk: 'LOCK#api#prod', sk: 'LOCK', type: 'lock', ttl: lock.expiresAt! + 86400 });
    expect(lockItem({ key: 'api#prod', waiters: {}, version: 1 }, NOW).ttl).toBe(NOW + 86400);
    expect(table(bakeWatchItem(watch))).toEqual({
      pk: 'ALARM#api-5xx',
      sk: 'BAKE#dep-1#prod',
      type: 'bake-watch',
      ttl: watch.expiresAt,
    });
    expect(table(deliveryItem(delivery))).toEqual({
      pk: 'DELIVERY#github:d-1',
      sk: 'META',
      type: 'delivery',
      ttl: delivery.expiresAt,
    });
    expect(seenItem('slack#sig', NOW)).toEqual({ pk: 'SEEN#slack#sig', sk: 'SEEN', type: 'seen', ttl: NOW });
  });

  it('maps an item of history to the same item as the ordinary write of its kind, under the same key', () => {
    const history: [HistoryItem, Item][] = [
      [{ kind: 'deployment', data: deployment }, deploymentItem(deployment)],
      [{ kind: 'stage', data: stage }, stageItem(stage, deployment.createdAt)],
      [{ kind: 'environment', data: environment }, environmentItem(environment)],
      [{ kind: 'approval', data: approval }, approvalItem(approval)],
      [{ kind: 'thread', data: thread }, threadItem(thread, NOW)],
    ];
    for (const [item, written] of history) {
      expect(historyItemToItem(item, { deploymentCreatedAt: deployment.createdAt, nowSeconds: NOW })).toEqual(written);
      expect(historyKey(item)).toEqual({ pk: written.pk, sk: written.sk });
    }
    // A stage whose deployment is not stored sorts by its own creation time.
    expect(historyItemToItem({ kind: 'stage', data: stage }, { nowSeconds: NOW }).gsi1sk).toBe(`${stage.createdAt}#dep-1`);
  });

  it('finds the table attributes a record from outside carries', () => {
    expect(tableAttributesIn(deployment)).toEqual([]);
    expect(tableAttributesIn({ ...deployment, pk: 'X', ttl: 1 })).toEqual(['pk', 'ttl']);
  });
});

describe('items: history import stores what the pipeline stores (dynalite)', () => {
  let dynamo: LocalDynamo;
  let pipeline: DynamoStore;
  let scan: (table: string) => Promise<Item[]>;
  let pipelineTable: string;
  let importTable: string;
  let imported: DynamoStore;
  beforeAll(async () => {
    const a = await dynaliteStore();
    ({ dynamo, store: pipeline, table: pipelineTable } = a);
    importTable = `t-${randomUUID().slice(0, 8)}`;
    await ensureTable(dynamo.endpoint, importTable);
    const db = documentClient(a.options);
    imported = new DynamoStore(db, importTable);
    scan = async (table) => {
      const res = await db.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
      return ((res.Items ?? []) as Item[]).sort((x, y) => `${x.pk}|${x.sk}`.localeCompare(`${y.pk}|${y.sk}`));
    };
  });
  afterAll(() => dynamo.stop());

  it('writes the same items, keys, index keys and expiry for every kind of history', async () => {
    // The pipeline's own writes: a deployment and its stages, moved along; what runs where;
    // a decided approval with its message; the chat thread.
    const staging: StageRecord = { ...stage, environment: 'staging', order: 0 };
    await pipeline.createDeployment(deployment, [staging, stage]);
    const at = new Date('2026-01-02T03:30:00.000Z');
    await pipeline.updateStage('dep-1', 'staging', { state: 'DEPLOYING', startedAt: at.toISOString() }, at);
    await pipeline.setEnvironmentVersions('api', 'staging', { current: environment.current! }, at);
    await pipeline.setEnvironmentVersions(
      'api',
      'prod',
      { current: environment.current!, lastKnownGood: environment.lastKnownGood! },
      at,
    );
    await pipeline.putApproval({
      ...approval,
      status: 'PENDING',
      decidedBy: undefined,
      decidedById: undefined,
      decidedAt: undefined,
      message: undefined,
    });
    await pipeline.setApprovalMessage('apr-1', { channel: 'C1', ts: '1.2' });
    await pipeline.decideApproval('apr-1', {
      status: 'APPROVED',
      decidedBy: 'Ada',
      decidedById: 'U0ADA',
      decidedAt: approval.decidedAt!,
      comment: 'ok',
    });
    await pipeline.putChatThread('dep-1', { channel: thread.channel, ts: thread.ts });
    // Pin history (coconut pin / unpin); the pin itself is runtime state, deleted by the unpin.
    await pipeline.addPinEvent({
      service: 'api',
      environment: 'prod',
      action: 'pin',
      version: '1.0.0',
      by: 'Ada',
      byId: 'U0ADA',
      at: '2026-01-02T04:00:00.000Z',
      reason: 'audit',
    });
    await pipeline.addPinEvent({
      service: 'api',
      environment: 'prod',
      action: 'unpin',
      version: '1.0.0',
      by: 'Bob',
      at: '2026-01-02T05:00:00.000Z',
      released: ['dep-2'],
    });

    // The same records through history: exported, then imported into an empty table.
    const history: HistoryItem[] = [];
    let cursor: string | undefined;
    do {
      const page = await pipeline.readHistory({ ...(cursor ? { cursor } : {}), limit: 10 });
      history.push(...page.items);
      cursor = page.cursor;
    } while (cursor);
    expect(history.map((i) => i.kind).sort()).toEqual([
      'approval',
      'deployment',
      'environment',
      'environment',
      'pin-event',
      'pin-event',
      'stage',
      'stage',
      'thread',
    ]);
    for (const item of history) expect(await imported.putHistoryItem(item)).toEqual({ written: true });

    const written = await scan(pipelineTable);
    const brought = await scan(importTable);
    // A thread expires 90 days after it was written: the two writes were moments apart.
    const withoutThreadTtl = (items: Item[]) => items.map((i) => (i.type === 'thread' ? { ...i, ttl: undefined } : i));
    expect(withoutThreadTtl(brought)).toEqual(withoutThreadTtl(written));
    const ttl = (items: Item[]) => Number(items.find((i) => i.type === 'thread')?.ttl);
    expect(Math.abs(ttl(brought) - ttl(written))).toBeLessThanOrEqual(5);
    expect(written).toHaveLength(9);
  });
});
