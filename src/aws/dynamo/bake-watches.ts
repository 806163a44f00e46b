/** Bakes waiting on an alarm, on DynamoDB: one partition per alarm, so its change finds them all. */
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { BakeWatch, BakeWatches } from '../../core/ports.ts';
import { bakeWatchItem, recordOf } from './items.ts';
import { alarmPartition, BAKE_WATCH_PREFIX, bakeWatchKey } from './keys.ts';
import { isConditionFailure, type TableAccess } from './table-access.ts';

export class DynamoBakeWatches implements BakeWatches {
  private readonly table: TableAccess;

  constructor(table: TableAccess) {
    this.table = table;
  }

  async putBakeWatch(watch: BakeWatch): Promise<void> {
    await this.table.db.send(new PutCommand({ TableName: this.table.name, Item: bakeWatchItem(watch) }));
  }

  async listBakeWatches(alarm: string): Promise<BakeWatch[]> {
    const items = await this.table.queryAll({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :b)',
      ExpressionAttributeValues: { ':pk': alarmPartition(alarm), ':b': BAKE_WATCH_PREFIX },
      ConsistentRead: true,
    });
    // TTL deletion is lazy: skip watches whose bake is long over.
    const now = Math.floor(Date.now() / 1000);
    return items.map((i) => recordOf<BakeWatch>(i)).filter((w) => w.expiresAt >= now);
  }

  async deleteBakeWatch(alarm: string, deploymentId: string, environment: string, onlyToken?: string): Promise<void> {
    try {
      await this.table.db.send(
        new DeleteCommand({
          TableName: this.table.name,
          Key: bakeWatchKey(alarm, deploymentId, environment),
          // A waker whose token had expired must not delete the fresh watch a new wait put in its place.
          ...(onlyToken ? { ConditionExpression: 'taskToken = :t', ExpressionAttributeValues: { ':t': onlyToken } } : {}),
        }),
      );
    } catch (error) {
      if (!(onlyToken && isConditionFailure(error))) throw error;
    }
  }
}
