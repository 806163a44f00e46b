/** Pins of environments and their history, on DynamoDB: every pin write names the revision it read. */
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { PinEvent, PinRecord, Pins } from '../../core/ports.ts';
import { pinEventItem, recordOf } from './items.ts';
import { PINS_PARTITION, pinEventsPartition, pinKey } from './keys.ts';
import { isConditionFailure, type TableAccess } from './table-access.ts';

export class DynamoPins implements Pins {
  private readonly table: TableAccess;

  constructor(table: TableAccess) {
    this.table = table;
  }

  async getPin(service: string, environment: string): Promise<PinRecord | undefined> {
    return recordOf<PinRecord>(await this.table.get(pinKey(service, environment)));
  }

  async listPins(service?: string): Promise<PinRecord[]> {
    const items = await this.table.queryAll({
      KeyConditionExpression: service ? 'pk = :pk AND begins_with(sk, :s)' : 'pk = :pk',
      ExpressionAttributeValues: { ':pk': PINS_PARTITION, ...(service ? { ':s': `${service}#` } : {}) },
      ConsistentRead: true,
    });
    return items.map((i) => recordOf<PinRecord>(i)).filter((p) => !service || p.service === service);
  }

  async putPin(pin: PinRecord): Promise<boolean> {
    const previous = pin.revision - 1;
    try {
      await this.table.db.send(
        new PutCommand({
          TableName: this.table.name,
          Item: { ...pinKey(pin.service, pin.environment), type: 'pin', ...pin },
          ConditionExpression: previous === 0 ? 'attribute_not_exists(pk)' : '#r = :r',
          ...(previous === 0
            ? {}
            : { ExpressionAttributeNames: { '#r': 'revision' }, ExpressionAttributeValues: { ':r': previous } }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw this.table.named(error, `pin of ${pin.service} on ${pin.environment}`);
    }
  }

  async deletePin(service: string, environment: string, revision: number): Promise<boolean> {
    try {
      await this.table.db.send(
        new DeleteCommand({
          TableName: this.table.name,
          Key: pinKey(service, environment),
          ConditionExpression: '#r = :r',
          ExpressionAttributeNames: { '#r': 'revision' },
          ExpressionAttributeValues: { ':r': revision },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw this.table.named(error, `pin of ${service} on ${environment}`);
    }
  }

  async addPinEvent(event: PinEvent): Promise<void> {
    await this.table.db.send(new PutCommand({ TableName: this.table.name, Item: pinEventItem(event) }));
  }

  async listPinEvents(query: { service: string; environment?: string; limit?: number }): Promise<PinEvent[]> {
    const items = await this.table.queryAll({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pinEventsPartition(query.service) },
      ScanIndexForward: false,
    });
    const events = items
      .map((i) => recordOf<PinEvent>(i))
      .filter((e) => !query.environment || e.environment === query.environment);
    return events.slice(0, query.limit ?? 50);
  }
}
