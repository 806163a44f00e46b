/** The chat thread of each deployment on DynamoDB: the first writer wins. */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ChatThread, ChatThreads } from '../../core/ports.ts';
import { threadItem, threadOf } from './items.ts';
import { threadKey } from './keys.ts';
import { isConditionFailure, type TableAccess } from './table-access.ts';

export class DynamoChatThreads implements ChatThreads {
  private readonly table: TableAccess;

  constructor(table: TableAccess) {
    this.table = table;
  }

  async getChatThread(deploymentId: string): Promise<ChatThread | undefined> {
    return threadOf(await this.table.get(threadKey(deploymentId)));
  }

  async putChatThread(deploymentId: string, thread: ChatThread): Promise<ChatThread> {
    try {
      await this.table.db.send(
        new PutCommand({
          TableName: this.table.name,
          Item: threadItem({ deploymentId, channel: thread.channel, ts: thread.ts }, Math.floor(Date.now() / 1000)),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return thread;
    } catch (error) {
      if (!isConditionFailure(error)) throw this.table.named(error, `thread of ${deploymentId}`);
      return (await this.getChatThread(deploymentId)) ?? thread;
    }
  }
}
