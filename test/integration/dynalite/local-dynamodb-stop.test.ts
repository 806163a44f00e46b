/**
 * Stopping the local DynamoDB while requests are being answered (the fault tests' store outage).
 * dynalite closes its database once the HTTP server has closed, and throws any error of an action
 * that has no HTTP status (node_modules/dynalite/index.js: `if (err) throw err`): a request cut off
 * mid-way went on to its next database read, got "Database is closed", and threw it where nothing
 * could catch it, failing the whole test run (seen in the e2e folder under load). stop() lets the
 * requests being answered finish first; the outage starts after them.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BatchWriteItemCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { EMULATOR_CREDENTIALS, LOCAL_TABLE, type LocalDynamo, startLocalDynamo } from '../../../src/local/local-dynamodb.ts';

describe('local DynamoDB stop() with requests in flight', () => {
  let dynamo: LocalDynamo | undefined;
  const escaped: unknown[] = [];
  const record = (error: unknown) => escaped.push(error);
  afterEach(async () => {
    process.off('uncaughtException', record);
    process.off('unhandledRejection', record);
    await dynamo?.stop();
  });

  it('throws nothing uncaught when stopped during long scans, and serves again after start()', async () => {
    // On disk, as the runtime keeps it: the data and the table outlive stop() and start().
    dynamo = await startLocalDynamo(mkdtempSync(path.join(tmpdir(), 'coconut-dynamo-stop-')));
    const client = new DynamoDBClient({ endpoint: dynamo.endpoint, credentials: EMULATOR_CREDENTIALS, region: 'us-east-1' });
    // Enough items that a scan reads the database for a while, one item after another.
    for (let batch = 0; batch < 80; batch++) {
      await client.send(
        new BatchWriteItemCommand({
          RequestItems: {
            [LOCAL_TABLE]: Array.from({ length: 25 }, (_, i) => ({
              PutRequest: { Item: { pk: { S: `ITEM#${batch}-${i}` }, sk: { S: 'X' }, pad: { S: 'x'.repeat(200) } } },
            })),
          },
        }),
      );
    }
    const scan = () => client.send(new ScanCommand({ TableName: LOCAL_TABLE }));
    expect((await scan()).Count).toBeGreaterThan(1000);
    process.on('uncaughtException', record);
    process.on('unhandledRejection', record);
    for (let round = 0; round < 10; round++) {
      const requests = Array.from({ length: 4 }, () =>
        scan().then(
          () => 'ok',
          () => 'refused',
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 5 + round * 3));
      await dynamo.stop();
      await Promise.all(requests);
      await dynamo.start();
    }
    // A turn for an error thrown after the last stop.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(escaped.map(String)).toEqual([]);
    expect((await scan()).Count).toBeGreaterThan(1000);
    client.destroy();
  });
});
