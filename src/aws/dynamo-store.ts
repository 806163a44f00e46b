/**
 * The Store port on DynamoDB (lib-dynamodb). Used on AWS, against dynalite locally and against
 * moto in tests: one implementation everywhere. Every state change is a conditional write, so
 * racing steps, retried Lambdas and double clicks cannot corrupt a record.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  allowedPredecessors,
  type DeploymentRecord,
  type DeploymentView,
  type EnvironmentState,
  type StageRecord,
  type StageUpdate,
  summarize,
  type VersionRef,
} from '../core/model/deployment.ts';
import { InvalidInputError, InvalidTransitionError, NotFoundError } from '../core/model/errors.ts';
import { mapLimit } from '../core/model/map-limit.ts';
import type {
  ApprovalDecision,
  ApprovalRecord,
  ApprovalStatus,
  BakeWatch,
  ChatThread,
  DeliveryRecord,
  HistoryItem,
  HistoryPage,
  LockRecord,
  Store,
} from '../core/ports.ts';
import { errorName, namedAwsError } from './errors.ts';
import { TTL_ATTRIBUTE } from './table.ts';

type Item = Record<string, unknown>;

const KEYS = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', 'type', TTL_ATTRIBUTE];
const APPROVAL_STATUSES: ApprovalStatus[] = ['PENDING', 'APPROVED', 'REJECTED', 'EXPIRED'];
const APPROVAL_TTL_SECONDS = 90 * 86400;
/** Reads in flight at once while exporting or importing history (an admin operation). */
const HISTORY_CONCURRENCY = 8;

/** Where readHistory goes on: a section of the table and the last index key returned in it. */
interface HistoryCursor {
  section: 'deployments' | 'environments' | 'approvals';
  after?: string;
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function encodeCursor(cursor: HistoryCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(raw: string | undefined): HistoryCursor {
  if (raw === undefined) return { section: 'deployments' };
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as HistoryCursor;
    if (
      ['deployments', 'environments', 'approvals'].includes(c.section) &&
      (c.after === undefined || typeof c.after === 'string')
    )
      return c;
  } catch {}
  throw new InvalidInputError('cursor is not one that the export gave out; start again without a cursor');
}
const THREAD_TTL_SECONDS = 90 * 86400;

function strip<T>(item: Item | undefined): T | undefined {
  if (!item) return undefined;
  const copy: Item = { ...item };
  for (const k of KEYS) delete copy[k];
  return copy as T;
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || errorName(error) === 'ConditionalCheckFailedException';
}

export class DynamoStore implements Store {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(db: DynamoDBDocumentClient, tableName: string) {
    this.db = db;
    this.table = tableName;
  }

  async createDeployment(record: DeploymentRecord, stages: StageRecord[]): Promise<boolean> {
    const at = `${record.createdAt}#${record.deploymentId}`;
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: `DEP#${record.deploymentId}`,
            sk: 'META',
            type: 'deployment',
            gsi1pk: `SVC#${record.service}`,
            gsi1sk: at,
            gsi2pk: 'ALL#DEPLOYMENTS',
            gsi2sk: at,
            ...record,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw this.named(error, `deployment ${record.deploymentId}`);
    }
    // Stages after the record: each is idempotent, so a crash in between is repaired by the retry.
    for (const stage of stages) {
      await this.db
        .send(
          new PutCommand({
            TableName: this.table,
            Item: this.stageItem(stage, at),
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        )
        .catch((error) => {
          if (!isConditionFailure(error)) throw this.named(error, `stage ${stage.environment} of ${stage.deploymentId}`);
        });
    }
    return true;
  }

  private stageItem(stage: StageRecord, at: string): Item {
    return {
      pk: `DEP#${stage.deploymentId}`,
      sk: `ENV#${stage.environment}`,
      type: 'stage',
      gsi1pk: `SVCENV#${stage.service}#${stage.environment}`,
      gsi1sk: at,
      ...stage,
    };
  }

  async getDeployment(deploymentId: string): Promise<DeploymentView | undefined> {
    const items = await this.queryAll({
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `DEP#${deploymentId}` },
      ConsistentRead: true,
    });
    const meta = items.find((i) => i.sk === 'META');
    if (!meta) return undefined;
    const stages = items.filter((i) => String(i.sk).startsWith('ENV#')).map((i) => strip<StageRecord>(i) as StageRecord);
    return summarize(strip<DeploymentRecord>(meta) as DeploymentRecord, stages);
  }

  async listDeployments(query: { service?: string; limit?: number }): Promise<DeploymentView[]> {
    const limit = Math.min(query.limit ?? 50, 500);
    const res = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: query.service ? 'gsi1' : 'gsi2',
        KeyConditionExpression: query.service ? 'gsi1pk = :pk' : 'gsi2pk = :pk',
        ExpressionAttributeValues: { ':pk': query.service ? `SVC#${query.service}` : 'ALL#DEPLOYMENTS' },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    const views = await Promise.all((res.Items ?? []).map((item) => this.getDeployment(String((item as Item).deploymentId))));
    return views.filter((v): v is DeploymentView => v !== undefined);
  }

  async getStage(deploymentId: string, environment: string): Promise<StageRecord | undefined> {
    const res = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: `DEP#${deploymentId}`, sk: `ENV#${environment}` },
        ConsistentRead: true,
      }),
    );
    return strip<StageRecord>(res.Item);
  }

  async updateStage(deploymentId: string, environment: string, update: StageUpdate, now: Date): Promise<StageRecord> {
    const allowed = [...new Set([update.state, ...allowedPredecessors(update.state)])];
    const fields: Item = { ...update, updatedAt: now.toISOString() };
    const names: Record<string, string> = {};
    const values: Item = {};
    const sets: string[] = [];
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue;
      names[`#${k}`] = k;
      values[`:${k}`] = v;
      sets.push(`#${k} = :${k}`);
    }
    names['#st'] = 'state';
    allowed.forEach((s, i) => {
      values[`:a${i}`] = s;
    });
    try {
      const res = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `DEP#${deploymentId}`, sk: `ENV#${environment}` },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: `attribute_exists(pk) AND #st IN (${allowed.map((_, i) => `:a${i}`).join(', ')})`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return strip<StageRecord>(res.Attributes) as StageRecord;
    } catch (error) {
      if (!isConditionFailure(error)) throw this.named(error, `stage ${environment} of ${deploymentId}`);
      const stage = await this.getStage(deploymentId, environment);
      if (!stage) throw new NotFoundError(`deployment ${deploymentId} has no stage for environment ${environment}`);
      throw new InvalidTransitionError(`${deploymentId} on ${environment}: cannot move from ${stage.state} to ${update.state}`);
    }
  }

  async listStages(query: { service: string; environment?: string; limit?: number }): Promise<StageRecord[]> {
    const limit = Math.min(query.limit ?? 50, 500);
    if (!query.environment) {
      const deployments = await this.listDeployments({ service: query.service, limit });
      return deployments.flatMap((d) => [...d.stages].reverse());
    }
    const res = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': `SVCENV#${query.service}#${query.environment}` },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (res.Items ?? []).map((i) => strip<StageRecord>(i as Item) as StageRecord);
  }

  async getEnvironmentState(service: string, environment: string): Promise<EnvironmentState | undefined> {
    const res = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: `SVC#${service}`, sk: `ENV#${environment}` }, ConsistentRead: true }),
    );
    return strip<EnvironmentState>(res.Item);
  }

  async listEnvironmentStates(): Promise<EnvironmentState[]> {
    const items = await this.queryAll({
      TableName: this.table,
      IndexName: 'gsi2',
      KeyConditionExpression: 'gsi2pk = :pk',
      ExpressionAttributeValues: { ':pk': 'ALL#ENVSTATES' },
    });
    return items.map((i) => strip<EnvironmentState>(i) as EnvironmentState);
  }

  async setEnvironmentVersions(
    service: string,
    environment: string,
    versions: { current?: VersionRef; lastKnownGood?: VersionRef },
    now: Date,
  ): Promise<void> {
    const sets = ['service = :svc', 'environment = :env', 'updatedAt = :now', 'gsi2pk = :g', 'gsi2sk = :gs'];
    const values: Item = {
      ':svc': service,
      ':env': environment,
      ':now': now.toISOString(),
      ':g': 'ALL#ENVSTATES',
      ':gs': `${service}#${environment}`,
    };
    if (versions.current) {
      sets.push('#current = :current', 'lastDeploymentId = :dep');
      values[':current'] = versions.current;
      values[':dep'] = versions.current.deploymentId;
    }
    if (versions.lastKnownGood) {
      sets.push('lastKnownGood = :lkg');
      values[':lkg'] = versions.lastKnownGood;
    }
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `SVC#${service}`, sk: `ENV#${environment}` },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ExpressionAttributeValues: values,
        ...(versions.current ? { ExpressionAttributeNames: { '#current': 'current' } } : {}),
      }),
    );
  }

  async getLock(key: string): Promise<LockRecord | undefined> {
    const res = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: `LOCK#${key}`, sk: 'LOCK' }, ConsistentRead: true }),
    );
    return strip<LockRecord>(res.Item);
  }

  async putLock(lock: LockRecord): Promise<boolean> {
    const previous = lock.version - 1;
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: `LOCK#${lock.key}`,
            sk: 'LOCK',
            type: 'lock',
            ...lock,
            // An idle lock record is garbage after a day; a held one lives while it is held.
            [TTL_ATTRIBUTE]: (lock.expiresAt ?? Math.floor(Date.now() / 1000)) + 86400,
          },
          ConditionExpression: previous === 0 ? 'attribute_not_exists(pk)' : '#v = :v',
          ...(previous === 0
            ? {}
            : { ExpressionAttributeNames: { '#v': 'version' }, ExpressionAttributeValues: { ':v': previous } }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw this.named(error, `lock ${lock.key}`);
    }
  }

  async putBakeWatch(watch: BakeWatch): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: `ALARM#${watch.alarm}`,
          sk: `BAKE#${watch.deploymentId}#${watch.environment}`,
          type: 'bake-watch',
          ...watch,
          [TTL_ATTRIBUTE]: watch.expiresAt,
        },
      }),
    );
  }

  async listBakeWatches(alarm: string): Promise<BakeWatch[]> {
    const items = await this.queryAll({
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :b)',
      ExpressionAttributeValues: { ':pk': `ALARM#${alarm}`, ':b': 'BAKE#' },
      ConsistentRead: true,
    });
    // TTL deletion is lazy: skip watches whose bake is long over.
    const now = Math.floor(Date.now() / 1000);
    return items.map((i) => strip<BakeWatch>(i) as BakeWatch).filter((w) => w.expiresAt >= now);
  }

  async deleteBakeWatch(alarm: string, deploymentId: string, environment: string): Promise<void> {
    await this.db.send(
      new DeleteCommand({ TableName: this.table, Key: { pk: `ALARM#${alarm}`, sk: `BAKE#${deploymentId}#${environment}` } }),
    );
  }

  private approvalItem(approval: ApprovalRecord): Item {
    return {
      pk: `APR#${approval.approvalId}`,
      sk: 'META',
      type: 'approval',
      gsi2pk: `APPROVALS#${approval.status}`,
      gsi2sk: `${approval.requestedAt}#${approval.approvalId}`,
      ...approval,
      [TTL_ATTRIBUTE]: Math.floor(Date.parse(approval.expiresAt) / 1000) + APPROVAL_TTL_SECONDS,
    };
  }

  async putApproval(approval: ApprovalRecord): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: this.approvalItem(approval) }));
  }

  async getApproval(approvalId: string): Promise<ApprovalRecord | undefined> {
    const res = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: `APR#${approvalId}`, sk: 'META' }, ConsistentRead: true }),
    );
    return strip<ApprovalRecord>(res.Item);
  }

  async listApprovals(query: { status?: ApprovalStatus; limit?: number }): Promise<ApprovalRecord[]> {
    const statuses: ApprovalStatus[] = query.status ? [query.status] : ['PENDING', 'APPROVED', 'REJECTED', 'EXPIRED'];
    const all: ApprovalRecord[] = [];
    for (const status of statuses) {
      const res = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: 'gsi2',
          KeyConditionExpression: 'gsi2pk = :pk',
          ExpressionAttributeValues: { ':pk': `APPROVALS#${status}` },
          ScanIndexForward: false,
          Limit: query.limit ?? 50,
        }),
      );
      all.push(...(res.Items ?? []).map((i) => strip<ApprovalRecord>(i as Item) as ApprovalRecord));
    }
    return all.sort((a, b) => b.requestedAt.localeCompare(a.requestedAt)).slice(0, query.limit ?? 50);
  }

  async decideApproval(approvalId: string, decision: ApprovalDecision): Promise<{ decided: boolean; approval: ApprovalRecord }> {
    try {
      const res = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `APR#${approvalId}`, sk: 'META' },
          UpdateExpression: `SET #status = :status, decidedBy = :by, decidedAt = :at, gsi2pk = :g${decision.comment ? ', #comment = :comment' : ''}${decision.decidedById ? ', decidedById = :byId' : ''}`,
          ConditionExpression: 'attribute_exists(pk) AND #status = :pending',
          ExpressionAttributeNames: { '#status': 'status', ...(decision.comment ? { '#comment': 'comment' } : {}) },
          ExpressionAttributeValues: {
            ':status': decision.status,
            ':by': decision.decidedBy,
            ':at': decision.decidedAt,
            ':g': `APPROVALS#${decision.status}`,
            ':pending': 'PENDING',
            ...(decision.comment ? { ':comment': decision.comment } : {}),
            ...(decision.decidedById ? { ':byId': decision.decidedById } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { decided: true, approval: strip<ApprovalRecord>(res.Attributes) as ApprovalRecord };
    } catch (error) {
      if (!isConditionFailure(error)) throw this.named(error, `approval ${approvalId}`);
      const approval = await this.getApproval(approvalId);
      if (!approval) throw new NotFoundError(`approval ${approvalId} does not exist`);
      return { decided: false, approval };
    }
  }

  async getDelivery(deliveryId: string): Promise<DeliveryRecord | undefined> {
    const res = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: `DELIVERY#${deliveryId}`, sk: 'META' }, ConsistentRead: true }),
    );
    return strip<DeliveryRecord>(res.Item);
  }

  async putDelivery(record: DeliveryRecord): Promise<{ stored: boolean; record: DeliveryRecord }> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: `DELIVERY#${record.deliveryId}`,
            sk: 'META',
            type: 'delivery',
            ...record,
            [TTL_ATTRIBUTE]: record.expiresAt,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { stored: true, record };
    } catch (error) {
      if (!isConditionFailure(error)) throw this.named(error, `delivery ${record.deliveryId}`);
      // A concurrent copy of the same delivery answered first: its answer is the answer.
      return { stored: false, record: (await this.getDelivery(record.deliveryId)) ?? record };
    }
  }

  async setApprovalMessage(approvalId: string, message: NonNullable<ApprovalRecord['message']>): Promise<ApprovalRecord> {
    try {
      const res = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `APR#${approvalId}`, sk: 'META' },
          UpdateExpression: 'SET #message = :message',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#message': 'message' },
          ExpressionAttributeValues: { ':message': { channel: message.channel, ts: message.ts } },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return strip<ApprovalRecord>(res.Attributes) as ApprovalRecord;
    } catch (error) {
      if (isConditionFailure(error)) throw new NotFoundError(`approval ${approvalId} does not exist`);
      throw this.named(error, `approval ${approvalId}`);
    }
  }

  async getChatThread(deploymentId: string): Promise<ChatThread | undefined> {
    const res = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: `THREAD#${deploymentId}`, sk: 'THREAD' }, ConsistentRead: true }),
    );
    const item = strip<{ deploymentId: string } & ChatThread>(res.Item);
    return item ? { channel: item.channel, ts: item.ts } : undefined;
  }

  async putChatThread(deploymentId: string, thread: ChatThread): Promise<ChatThread> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: `THREAD#${deploymentId}`,
            sk: 'THREAD',
            type: 'thread',
            deploymentId,
            channel: thread.channel,
            ts: thread.ts,
            [TTL_ATTRIBUTE]: Math.floor(Date.now() / 1000) + THREAD_TTL_SECONDS,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return thread;
    } catch (error) {
      if (!isConditionFailure(error)) throw this.named(error, `thread of ${deploymentId}`);
      return (await this.getChatThread(deploymentId)) ?? thread;
    }
  }

  async rememberOnce(key: string, expiresAt: number): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: `SEEN#${key}`, sk: 'SEEN', type: 'seen', [TTL_ATTRIBUTE]: expiresAt },
          // TTL deletion is lazy (up to days): an item past its expiry counts as forgotten.
          ConditionExpression: 'attribute_not_exists(pk) OR #ttl < :now',
          ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':now': Math.floor(Date.now() / 1000) },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw this.named(error, `seen key ${key}`);
    }
  }

  async readHistory(page: { cursor?: string; limit: number }): Promise<HistoryPage> {
    const cursor = decodeCursor(page.cursor);
    const limit = Math.max(1, Math.min(Math.floor(page.limit), 1000));
    if (cursor.section === 'deployments') {
      const res = await this.db.send(new QueryCommand(this.indexAfter('ALL#DEPLOYMENTS', cursor.after, limit)));
      const metas = (res.Items ?? []) as Item[];
      const groups = await mapLimit(metas, HISTORY_CONCURRENCY, (meta) => this.deploymentHistory(String(meta.deploymentId)));
      const last = metas.at(-1)?.gsi2sk;
      const next: HistoryCursor =
        res.LastEvaluatedKey && last !== undefined
          ? { section: 'deployments', after: String(last) }
          : { section: 'environments' };
      return { items: groups.flat(), cursor: encodeCursor(next) };
    }
    if (cursor.section === 'environments') {
      // One per service and environment: few enough for one page.
      const items = await this.queryAll(this.indexAfter('ALL#ENVSTATES', undefined));
      return {
        items: items.map((i) => ({ kind: 'environment' as const, data: strip<EnvironmentState>(i) as EnvironmentState })),
        cursor: encodeCursor({ section: 'approvals' }),
      };
    }
    // Approvals live in one index partition per status: take the first `limit` of each after the
    // cursor, merge by request time, keep the first `limit` overall.
    const parts = await Promise.all(
      APPROVAL_STATUSES.map((status) =>
        this.db.send(new QueryCommand(this.indexAfter(`APPROVALS#${status}`, cursor.after, limit))),
      ),
    );
    const merged = parts
      .flatMap((p) => (p.Items ?? []) as Item[])
      // DynamoDB's order (by code unit), not the locale's: the next page starts after the last key.
      .sort((a, b) => byCodeUnit(String(a.gsi2sk), String(b.gsi2sk)))
      .slice(0, limit);
    const more = parts.some((p) => p.LastEvaluatedKey) || parts.reduce((n, p) => n + (p.Items?.length ?? 0), 0) > limit;
    const last = merged.at(-1)?.gsi2sk;
    return {
      items: merged.map((i) => ({ kind: 'approval' as const, data: strip<ApprovalRecord>(i) as ApprovalRecord })),
      ...(more && last !== undefined ? { cursor: encodeCursor({ section: 'approvals', after: String(last) }) } : {}),
    };
  }

  /** A gsi2 partition in key order, after a key (exclusive). */
  private indexAfter(partition: string, after: string | undefined, limit?: number): QueryCommandInput {
    return {
      TableName: this.table,
      IndexName: 'gsi2',
      KeyConditionExpression: after === undefined ? 'gsi2pk = :pk' : 'gsi2pk = :pk AND gsi2sk > :after',
      ExpressionAttributeValues: { ':pk': partition, ...(after === undefined ? {} : { ':after': after }) },
      ScanIndexForward: true,
      ...(limit ? { Limit: limit } : {}),
    };
  }

  /** One deployment as history: its record, its stages in promotion order, its chat thread. */
  private async deploymentHistory(deploymentId: string): Promise<HistoryItem[]> {
    const [items, thread] = await Promise.all([
      this.queryAll({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `DEP#${deploymentId}` },
        ConsistentRead: true,
      }),
      this.readHistoryItem('thread', { pk: `THREAD#${deploymentId}`, sk: 'THREAD' }),
    ]);
    const meta = items.find((i) => i.sk === 'META');
    if (!meta) return [];
    const stages = items
      .filter((i) => String(i.sk).startsWith('ENV#'))
      .map((i) => strip<StageRecord>(i) as StageRecord)
      .sort((a, b) => a.order - b.order || byCodeUnit(a.environment, b.environment));
    return [
      { kind: 'deployment', data: strip<DeploymentRecord>(meta) as DeploymentRecord },
      ...stages.map((data) => ({ kind: 'stage' as const, data })),
      ...(thread ? [thread] : []),
    ];
  }

  /** The primary key an item of history is stored under. */
  private historyKey(item: HistoryItem): { pk: string; sk: string } {
    switch (item.kind) {
      case 'deployment':
        return { pk: `DEP#${item.data.deploymentId}`, sk: 'META' };
      case 'stage':
        return { pk: `DEP#${item.data.deploymentId}`, sk: `ENV#${item.data.environment}` };
      case 'environment':
        return { pk: `SVC#${item.data.service}`, sk: `ENV#${item.data.environment}` };
      case 'approval':
        return { pk: `APR#${item.data.approvalId}`, sk: 'META' };
      case 'thread':
        return { pk: `THREAD#${item.data.deploymentId}`, sk: 'THREAD' };
    }
  }

  async getHistoryItem(item: HistoryItem): Promise<HistoryItem | undefined> {
    return this.readHistoryItem(item.kind, this.historyKey(item));
  }

  private async readHistoryItem(kind: HistoryItem['kind'], key: { pk: string; sk: string }): Promise<HistoryItem | undefined> {
    const res = await this.db.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }));
    const data = strip<HistoryItem['data']>(res.Item);
    return data ? ({ kind, data } as HistoryItem) : undefined;
  }

  async putHistoryItem(item: HistoryItem): Promise<{ written: true } | { written: false; existing: HistoryItem }> {
    // The records come from a file: none may carry the table's own attributes.
    const reserved = Object.keys(item.data).filter((k) => KEYS.includes(k));
    if (reserved.length) throw new InvalidInputError(`a ${item.kind} record may not have the attributes ${reserved.join(', ')}`);
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: await this.historyItem(item),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { written: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw this.named(error, `${item.kind} ${JSON.stringify(this.historyKey(item))}`);
      const existing = await this.getHistoryItem(item);
      if (!existing) throw this.named(error, `${item.kind} ${JSON.stringify(this.historyKey(item))} (gone after a conflict)`);
      return { written: false, existing };
    }
  }

  /** The item as the ordinary write paths store it (same keys, index keys and TTLs). */
  private async historyItem(item: HistoryItem): Promise<Item> {
    switch (item.kind) {
      case 'deployment': {
        const d = item.data;
        const at = `${d.createdAt}#${d.deploymentId}`;
        return {
          ...this.historyKey(item),
          type: 'deployment',
          gsi1pk: `SVC#${d.service}`,
          gsi1sk: at,
          gsi2pk: 'ALL#DEPLOYMENTS',
          gsi2sk: at,
          ...d,
        };
      }
      case 'stage': {
        // Stages sort by their deployment's creation time (createDeployment writes both at once).
        const meta = await this.readHistoryItem('deployment', { pk: `DEP#${item.data.deploymentId}`, sk: 'META' });
        const createdAt = (meta?.data as DeploymentRecord | undefined)?.createdAt ?? item.data.createdAt;
        return this.stageItem(item.data, `${createdAt}#${item.data.deploymentId}`);
      }
      case 'environment': {
        const e = item.data;
        return { ...this.historyKey(item), gsi2pk: 'ALL#ENVSTATES', gsi2sk: `${e.service}#${e.environment}`, ...e };
      }
      case 'approval':
        return this.approvalItem(item.data);
      case 'thread':
        return {
          ...this.historyKey(item),
          type: 'thread',
          deploymentId: item.data.deploymentId,
          channel: item.data.channel,
          ts: item.data.ts,
          [TTL_ATTRIBUTE]: Math.floor(Date.now() / 1000) + THREAD_TTL_SECONDS,
        };
    }
  }

  private async queryAll(input: QueryCommandInput): Promise<Item[]> {
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.db.send(new QueryCommand({ ...input, ...(start ? { ExclusiveStartKey: start } : {}) }));
      items.push(...((res.Items ?? []) as Item[]));
      start = res.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** Errors that name the table and the record, not just "ResourceNotFoundException" (aws/errors.ts). */
  private named(error: unknown, what: string): Error {
    return namedAwsError(`DynamoDB table ${this.table}, ${what}`, error);
  }
}
