/** Deployments and their stages on DynamoDB: started once, read, and moved along conditionally. */
import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  allowedPredecessors,
  type DeploymentRecord,
  type DeploymentView,
  type StageRecord,
  type StageUpdate,
  summarize,
} from '../../core/model/deployment.ts';
import { InvalidTransitionError, NotFoundError } from '../../core/model/errors.ts';
import type { DeploymentReader, NewDeployments, StageProgress } from '../../core/ports.ts';
import { deploymentItem, type Item, recordOf, stageItem } from './items.ts';
import {
  ALL_DEPLOYMENTS,
  deploymentPartition,
  STAGE_PREFIX,
  serviceDeploymentsIndex,
  serviceStagesIndex,
  stageKey,
} from './keys.ts';
import { isConditionFailure, type TableAccess } from './table-access.ts';

/** The most a list answers at once. */
const MAX_LIST = 500;

export class DynamoDeployments implements NewDeployments, DeploymentReader, StageProgress {
  private readonly table: TableAccess;

  constructor(table: TableAccess) {
    this.table = table;
  }

  async createDeployment(record: DeploymentRecord, stages: StageRecord[]): Promise<boolean> {
    try {
      await this.table.db.send(
        new PutCommand({
          TableName: this.table.name,
          Item: deploymentItem(record),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw this.table.named(error, `deployment ${record.deploymentId}`);
    }
    // Stages after the record: each is idempotent, so a crash in between is repaired by the retry.
    for (const stage of stages) {
      await this.table.db
        .send(
          new PutCommand({
            TableName: this.table.name,
            Item: stageItem(stage, record.createdAt),
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        )
        .catch((error) => {
          if (!isConditionFailure(error)) throw this.table.named(error, `stage ${stage.environment} of ${stage.deploymentId}`);
        });
    }
    return true;
  }

  async getDeployment(deploymentId: string): Promise<DeploymentView | undefined> {
    const items = await this.table.queryAll({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': deploymentPartition(deploymentId) },
      ConsistentRead: true,
    });
    const meta = items.find((i) => i.sk === 'META');
    if (!meta) return undefined;
    const stages = items.filter((i) => String(i.sk).startsWith(STAGE_PREFIX)).map((i) => recordOf<StageRecord>(i));
    return summarize(recordOf<DeploymentRecord>(meta), stages);
  }

  async listDeployments(query: { service?: string; limit?: number }): Promise<DeploymentView[]> {
    const limit = Math.min(query.limit ?? 50, MAX_LIST);
    const res = await this.table.db.send(
      new QueryCommand({
        TableName: this.table.name,
        IndexName: query.service ? 'gsi1' : 'gsi2',
        KeyConditionExpression: query.service ? 'gsi1pk = :pk' : 'gsi2pk = :pk',
        ExpressionAttributeValues: { ':pk': query.service ? serviceDeploymentsIndex(query.service) : ALL_DEPLOYMENTS },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    const views = await Promise.all((res.Items ?? []).map((item) => this.getDeployment(String((item as Item).deploymentId))));
    return views.filter((v): v is DeploymentView => v !== undefined);
  }

  async getStage(deploymentId: string, environment: string): Promise<StageRecord | undefined> {
    return recordOf<StageRecord>(await this.table.get(stageKey(deploymentId, environment)));
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
      const res = await this.table.db.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: stageKey(deploymentId, environment),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: `attribute_exists(pk) AND #st IN (${allowed.map((_, i) => `:a${i}`).join(', ')})`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return recordOf<StageRecord>(res.Attributes as Item);
    } catch (error) {
      if (!isConditionFailure(error)) throw this.table.named(error, `stage ${environment} of ${deploymentId}`);
      const stage = await this.getStage(deploymentId, environment);
      if (!stage) throw new NotFoundError(`deployment ${deploymentId} has no stage for environment ${environment}`);
      throw new InvalidTransitionError(`${deploymentId} on ${environment}: cannot move from ${stage.state} to ${update.state}`);
    }
  }

  async listStages(query: { service: string; environment?: string; limit?: number }): Promise<StageRecord[]> {
    const limit = Math.min(query.limit ?? 50, MAX_LIST);
    if (!query.environment) {
      const deployments = await this.listDeployments({ service: query.service, limit });
      return deployments.flatMap((d) => [...d.stages].reverse());
    }
    const res = await this.table.db.send(
      new QueryCommand({
        TableName: this.table.name,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': serviceStagesIndex(query.service, query.environment) },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (res.Items ?? []).map((i) => recordOf<StageRecord>(i as Item));
  }
}
