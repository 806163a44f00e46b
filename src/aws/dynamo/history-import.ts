/**
 * History brought in by `coconut import`: each record written unless one with its key exists,
 * as the very item the pipeline's own write would have made (./items.ts).
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DeploymentRecord } from '../../core/model/deployment.ts';
import { InvalidInputError } from '../../core/model/errors.ts';
import type { HistoryItem } from '../../core/ports.ts';
import { historyItemToItem, historyKey, type Item, recordOf, tableAttributesIn } from './items.ts';
import { deploymentKey } from './keys.ts';
import { isConditionFailure, type TableAccess } from './table-access.ts';

export class DynamoHistoryImport {
  private readonly table: TableAccess;

  constructor(table: TableAccess) {
    this.table = table;
  }

  async getHistoryItem(item: HistoryItem): Promise<HistoryItem | undefined> {
    const data = recordOf<HistoryItem['data']>(await this.table.get(historyKey(item)));
    return data ? ({ kind: item.kind, data } as HistoryItem) : undefined;
  }

  async putHistoryItem(item: HistoryItem): Promise<{ written: true } | { written: false; existing: HistoryItem }> {
    // The records come from a file: none may carry the table's own attributes.
    const reserved = tableAttributesIn(item.data);
    if (reserved.length) throw new InvalidInputError(`a ${item.kind} record may not have the attributes ${reserved.join(', ')}`);
    const what = () => `${item.kind} ${JSON.stringify(historyKey(item))}`;
    try {
      await this.table.db.send(
        new PutCommand({
          TableName: this.table.name,
          Item: await this.itemOf(item),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { written: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw this.table.named(error, what());
      const existing = await this.getHistoryItem(item);
      if (!existing) throw this.table.named(error, `${what()} (gone after a conflict)`);
      return { written: false, existing };
    }
  }

  /** A stage sorts by its deployment's creation time: read it when the deployment is stored. */
  private async itemOf(item: HistoryItem): Promise<Item> {
    const nowSeconds = Math.floor(Date.now() / 1000);
    if (item.kind !== 'stage') return historyItemToItem(item, { nowSeconds });
    const meta = recordOf<DeploymentRecord>(await this.table.get(deploymentKey(item.data.deploymentId)));
    return historyItemToItem(item, { nowSeconds, ...(meta ? { deploymentCreatedAt: meta.createdAt } : {}) });
  }
}
