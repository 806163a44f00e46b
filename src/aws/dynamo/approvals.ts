/** Approval requests on DynamoDB: listed by status, decided only once (a conditional update). */
import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { NotFoundError } from '../../core/model/errors.ts';
import type { ApprovalDecision, ApprovalRecord, ApprovalRecords, ApprovalStatus } from '../../core/ports.ts';
import { approvalItem, type Item, recordOf } from './items.ts';
import { APPROVAL_STATUSES, approvalKey, approvalsIndex } from './keys.ts';
import { isConditionFailure, type TableAccess } from './table-access.ts';

export class DynamoApprovals implements ApprovalRecords {
  private readonly table: TableAccess;

  constructor(table: TableAccess) {
    this.table = table;
  }

  async putApproval(approval: ApprovalRecord): Promise<void> {
    await this.table.db.send(new PutCommand({ TableName: this.table.name, Item: approvalItem(approval) }));
  }

  async getApproval(approvalId: string): Promise<ApprovalRecord | undefined> {
    return recordOf<ApprovalRecord>(await this.table.get(approvalKey(approvalId)));
  }

  async listApprovals(query: { status?: ApprovalStatus; limit?: number }): Promise<ApprovalRecord[]> {
    const statuses = query.status ? [query.status] : APPROVAL_STATUSES;
    const all: ApprovalRecord[] = [];
    for (const status of statuses) {
      const res = await this.table.db.send(
        new QueryCommand({
          TableName: this.table.name,
          IndexName: 'gsi2',
          KeyConditionExpression: 'gsi2pk = :pk',
          ExpressionAttributeValues: { ':pk': approvalsIndex(status) },
          ScanIndexForward: false,
          Limit: query.limit ?? 50,
        }),
      );
      all.push(...(res.Items ?? []).map((i) => recordOf<ApprovalRecord>(i as Item)));
    }
    return all.sort((a, b) => b.requestedAt.localeCompare(a.requestedAt)).slice(0, query.limit ?? 50);
  }

  async decideApproval(approvalId: string, decision: ApprovalDecision): Promise<{ decided: boolean; approval: ApprovalRecord }> {
    try {
      const res = await this.table.db.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: approvalKey(approvalId),
          // The approval moves to its new status's index partition with the decision.
          UpdateExpression: `SET #status = :status, decidedBy = :by, decidedAt = :at, gsi2pk = :g${decision.comment ? ', #comment = :comment' : ''}${decision.decidedById ? ', decidedById = :byId' : ''}`,
          ConditionExpression: 'attribute_exists(pk) AND #status = :pending',
          ExpressionAttributeNames: { '#status': 'status', ...(decision.comment ? { '#comment': 'comment' } : {}) },
          ExpressionAttributeValues: {
            ':status': decision.status,
            ':by': decision.decidedBy,
            ':at': decision.decidedAt,
            ':g': approvalsIndex(decision.status),
            ':pending': 'PENDING',
            ...(decision.comment ? { ':comment': decision.comment } : {}),
            ...(decision.decidedById ? { ':byId': decision.decidedById } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { decided: true, approval: recordOf<ApprovalRecord>(res.Attributes as Item) };
    } catch (error) {
      if (!isConditionFailure(error)) throw this.table.named(error, `approval ${approvalId}`);
      const approval = await this.getApproval(approvalId);
      if (!approval) throw new NotFoundError(`approval ${approvalId} does not exist`);
      return { decided: false, approval };
    }
  }

  async setApprovalMessage(approvalId: string, message: NonNullable<ApprovalRecord['message']>): Promise<ApprovalRecord> {
    try {
      const res = await this.table.db.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: approvalKey(approvalId),
          UpdateExpression: 'SET #message = :message',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#message': 'message' },
          ExpressionAttributeValues: { ':message': { channel: message.channel, ts: message.ts } },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return recordOf<ApprovalRecord>(res.Attributes as Item);
    } catch (error) {
      if (isConditionFailure(error)) throw new NotFoundError(`approval ${approvalId} does not exist`);
      throw this.table.named(error, `approval ${approvalId}`);
    }
  }
}
