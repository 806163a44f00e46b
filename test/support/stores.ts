/** A DynamoStore on a fresh in-memory dynalite (the local runtime's own DynamoDB). */
import { randomUUID } from 'node:crypto';
import { documentClient } from '../../src/aws/clients.ts';
import { DynamoStore } from '../../src/aws/dynamo-store.ts';
import { EMULATOR_CREDENTIALS, ensureTable, type LocalDynamo, startLocalDynamo } from '../../src/local/local-dynamodb.ts';

export async function dynaliteStore(): Promise<{ store: DynamoStore; dynamo: LocalDynamo }> {
  const dynamo = await startLocalDynamo(undefined);
  const table = `t-${randomUUID().slice(0, 8)}`;
  await ensureTable(dynamo.endpoint, table);
  const store = new DynamoStore(
    documentClient({ endpoint: dynamo.endpoint, credentials: EMULATOR_CREDENTIALS, region: 'us-east-1' }),
    table,
  );
  return { store, dynamo };
}
