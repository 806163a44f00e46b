/**
 * History for `coconut export`, one page at a time, in an order that depends only on the data:
 * deployments oldest first (each with its stages and chat thread), then what runs where, then
 * approvals oldest first, then pin events oldest first. The cursor says which of these sections
 * goes on, after which index key.
 */
import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { DeploymentRecord, EnvironmentState, StageRecord } from '../../core/model/deployment.ts';
import { InvalidInputError } from '../../core/model/errors.ts';
import { mapLimit } from '../../core/model/map-limit.ts';
import type { ApprovalRecord, ChatThreadRecord, HistoryItem, HistoryPage, PinEvent } from '../../core/ports.ts';
import { type Item, recordOf } from './items.ts';
import {
  ALL_DEPLOYMENTS,
  ALL_ENVIRONMENT_STATES,
  ALL_PIN_EVENTS,
  APPROVAL_STATUSES,
  approvalsIndex,
  deploymentPartition,
  STAGE_PREFIX,
  threadKey,
} from './keys.ts';
import type { TableAccess } from './table-access.ts';

/** Reads in flight at once while exporting history (an admin operation). */
const HISTORY_CONCURRENCY = 8;
const MAX_PAGE = 1000;

const SECTIONS = ['deployments', 'environments', 'approvals', 'pins'] as const;

/** Where readHistory goes on: a section of the table and the last index key returned in it. */
interface HistoryCursor {
  section: (typeof SECTIONS)[number];
  after?: string;
}

/** DynamoDB's order (by code unit), not the locale's: the next page starts after the last key. */
const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function encodeCursor(cursor: HistoryCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

export function decodeCursor(raw: string | undefined): HistoryCursor {
  if (raw === undefined) return { section: 'deployments' };
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as HistoryCursor;
    if (SECTIONS.includes(c.section) && (c.after === undefined || typeof c.after === 'string')) return c;
  } catch {}
  throw new InvalidInputError('cursor is not one that the export gave out; start again without a cursor');
}

export class DynamoHistoryPages {
  private readonly table: TableAccess;

  constructor(table: TableAccess) {
    this.table = table;
  }

  async readHistory(page: { cursor?: string; limit: number }): Promise<HistoryPage> {
    const cursor = decodeCursor(page.cursor);
    const limit = Math.max(1, Math.min(Math.floor(page.limit), MAX_PAGE));
    if (cursor.section === 'deployments') {
      const res = await this.table.db.send(new QueryCommand(this.indexAfter(ALL_DEPLOYMENTS, cursor.after, limit)));
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
      const items = await this.table.queryAll(this.indexAfter(ALL_ENVIRONMENT_STATES, undefined));
      return {
        items: items.map((i) => ({ kind: 'environment' as const, data: recordOf<EnvironmentState>(i) })),
        cursor: encodeCursor({ section: 'approvals' }),
      };
    }
    if (cursor.section === 'pins') {
      const res = await this.table.db.send(new QueryCommand(this.indexAfter(ALL_PIN_EVENTS, cursor.after, limit)));
      const items = (res.Items ?? []) as Item[];
      const last = items.at(-1)?.gsi2sk;
      return {
        items: items.map((i) => ({ kind: 'pin-event' as const, data: recordOf<PinEvent>(i) })),
        ...(res.LastEvaluatedKey && last !== undefined ? { cursor: encodeCursor({ section: 'pins', after: String(last) }) } : {}),
      };
    }
    // Approvals live in one index partition per status: take the first `limit` of each after the
    // cursor, merge by request time, keep the first `limit` overall.
    const parts = await Promise.all(
      APPROVAL_STATUSES.map((status) =>
        this.table.db.send(new QueryCommand(this.indexAfter(approvalsIndex(status), cursor.after, limit))),
      ),
    );
    const merged = parts
      .flatMap((p) => (p.Items ?? []) as Item[])
      .sort((a, b) => byCodeUnit(String(a.gsi2sk), String(b.gsi2sk)))
      .slice(0, limit);
    const more = parts.some((p) => p.LastEvaluatedKey) || parts.reduce((n, p) => n + (p.Items?.length ?? 0), 0) > limit;
    const last = merged.at(-1)?.gsi2sk;
    return {
      items: merged.map((i) => ({ kind: 'approval' as const, data: recordOf<ApprovalRecord>(i) })),
      cursor: encodeCursor(more && last !== undefined ? { section: 'approvals', after: String(last) } : { section: 'pins' }),
    };
  }

  /** A gsi2 partition in key order, after a key (exclusive). */
  private indexAfter(partition: string, after: string | undefined, limit?: number): QueryCommandInput {
    return {
      TableName: this.table.name,
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
      this.table.queryAll({
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': deploymentPartition(deploymentId) },
        ConsistentRead: true,
      }),
      this.table.get(threadKey(deploymentId)),
    ]);
    const meta = items.find((i) => i.sk === 'META');
    if (!meta) return [];
    const stages = items
      .filter((i) => String(i.sk).startsWith(STAGE_PREFIX))
      .map((i) => recordOf<StageRecord>(i))
      .sort((a, b) => a.order - b.order || byCodeUnit(a.environment, b.environment));
    return [
      { kind: 'deployment', data: recordOf<DeploymentRecord>(meta) },
      ...stages.map((data) => ({ kind: 'stage' as const, data })),
      ...(thread ? [{ kind: 'thread' as const, data: recordOf<ChatThreadRecord>(thread) }] : []),
    ];
  }
}
