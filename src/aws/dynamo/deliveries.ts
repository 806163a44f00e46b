/**
 * What webhooks were answered on DynamoDB: each delivery's answer, and keys seen recently
 * (replays). Both expire through the table's TTL, which deletes lazily.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DeliveryRecord, ReplayGuard, WebhookDeliveries } from '../../core/ports.ts';
import { TTL_ATTRIBUTE } from '../table.ts';
import { deliveryItem, recordOf, seenItem } from './items.ts';
import { deliveryKey } from './keys.ts';
import { isConditionFailure, type TableAccess } from './table-access.ts';

export class DynamoDeliveries implements WebhookDeliveries, ReplayGuard {
  private readonly table: TableAccess;

  constructor(table: TableAccess) {
    this.table = table;
  }

  async getDelivery(deliveryId: string): Promise<DeliveryRecord | undefined> {
    return recordOf<DeliveryRecord>(await this.table.get(deliveryKey(deliveryId)));
  }

  async putDelivery(record: DeliveryRecord): Promise<{ stored: boolean; record: DeliveryRecord }> {
    try {
      await this.table.db.send(
        new PutCommand({
          TableName: this.table.name,
          Item: deliveryItem(record),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { stored: true, record };
    } catch (error) {
      if (!isConditionFailure(error)) throw this.table.named(error, `delivery ${record.deliveryId}`);
      // A concurrent copy of the same delivery answered first: its answer is the answer.
      return { stored: false, record: (await this.getDelivery(record.deliveryId)) ?? record };
    }
  }

  async rememberOnce(key: string, expiresAt: number): Promise<boolean> {
    try {
      await this.table.db.send(
        new PutCommand({
          TableName: this.table.name,
          Item: seenItem(key, expiresAt),
          // TTL deletion is lazy (up to days): an item past its expiry counts as forgotten.
          ConditionExpression: 'attribute_not_exists(pk) OR #ttl < :now',
          ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':now': Math.floor(Date.now() / 1000) },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw this.table.named(error, `seen key ${key}`);
    }
  }
}
