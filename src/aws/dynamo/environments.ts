/** What runs where, per service and environment, on DynamoDB. */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { EnvironmentState, VersionRef } from '../../core/model/deployment.ts';
import type { EnvironmentVersions } from '../../core/ports.ts';
import { environmentIndex, type Item, recordOf } from './items.ts';
import { ALL_ENVIRONMENT_STATES, environmentKey } from './keys.ts';
import type { TableAccess } from './table-access.ts';

export class DynamoEnvironments implements EnvironmentVersions {
  private readonly table: TableAccess;

  constructor(table: TableAccess) {
    this.table = table;
  }

  async getEnvironmentState(service: string, environment: string): Promise<EnvironmentState | undefined> {
    return recordOf<EnvironmentState>(await this.table.get(environmentKey(service, environment)));
  }

  async listEnvironmentStates(): Promise<EnvironmentState[]> {
    const items = await this.table.queryAll({
      IndexName: 'gsi2',
      KeyConditionExpression: 'gsi2pk = :pk',
      ExpressionAttributeValues: { ':pk': ALL_ENVIRONMENT_STATES },
    });
    return items.map((i) => recordOf<EnvironmentState>(i));
  }

  /** An update, not a put: the version not given stays as it was. */
  async setEnvironmentVersions(
    service: string,
    environment: string,
    versions: { current?: VersionRef; lastKnownGood?: VersionRef },
    now: Date,
  ): Promise<void> {
    const index = environmentIndex(service, environment);
    const sets = ['service = :svc', 'environment = :env', 'updatedAt = :now', 'gsi2pk = :g', 'gsi2sk = :gs'];
    const values: Item = {
      ':svc': service,
      ':env': environment,
      ':now': now.toISOString(),
      ':g': index.gsi2pk,
      ':gs': index.gsi2sk,
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
    await this.table.db.send(
      new UpdateCommand({
        TableName: this.table.name,
        Key: environmentKey(service, environment),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ExpressionAttributeValues: values,
        ...(versions.current ? { ExpressionAttributeNames: { '#current': 'current' } } : {}),
      }),
    );
  }
}
