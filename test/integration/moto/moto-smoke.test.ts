import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableDefinition } from '../../../src/aws/table.ts';
import { type Moto, startMoto } from '../../support/moto.ts';

describe('moto_server test setup', () => {
  let moto: Moto;
  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(() => moto?.stop());

  it('serves DynamoDB on a loopback port and creates the Coconut table', async () => {
    expect(moto.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const db = new DynamoDBClient(moto.clientOptions);
    await db.send(new CreateTableCommand(tableDefinition('coconut-test')));
    const table = await db.send(new DescribeTableCommand({ TableName: 'coconut-test' }));
    expect(table.Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName).sort()).toEqual(['gsi1', 'gsi2']);
  });
});
