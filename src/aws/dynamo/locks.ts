/** The environment locks on DynamoDB: every write names the version it read (optimistic concurrency). */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { LockRecord, LockTable } from '../../core/ports.ts';
import { lockItem, recordOf } from './items.ts';
import { lockKey } from './keys.ts';
import { isConditionFailure, type TableAccess } from './table-access.ts';

export class DynamoLocks implements LockTable {
  private readonly table: TableAccess;

  constructor(table: TableAccess) {
    this.table = table;
  }

  async getLock(key: string): Promise<LockRecord | undefined> {
    return recordOf<LockRecord>(await this.table.get(lockKey(key)));
  }

  async putLock(lock: LockRecord): Promise<boolean> {
    const previous = lock.version - 1;
    try {
      await this.table.db.send(
        new PutCommand({
          TableName: this.table.name,
          Item: lockItem(lock, Math.floor(Date.now() / 1000)),
          ConditionExpression: previous === 0 ? 'attribute_not_exists(pk)' : '#v = :v',
          ...(previous === 0
            ? {}
            : { ExpressionAttributeNames: { '#v': 'version' }, ExpressionAttributeValues: { ':v': previous } }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw this.table.named(error, `lock ${lock.key}`);
    }
  }
}
