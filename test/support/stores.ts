/** A DynamoStore on a fresh in-memory dynalite (the local runtime's own DynamoDB). */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient, sdkConfig } from '../../src/aws/clients.ts';
import { DynamoStore } from '../../src/aws/dynamo/store.ts';
import { EMULATOR_CREDENTIALS, ensureTable, type LocalDynamo, startLocalDynamo } from '../../src/local/local-dynamodb.ts';

export async function dynaliteStore(): Promise<{
  store: DynamoStore;
  dynamo: LocalDynamo;
  table: string;
  options: DynamoOptions;
}> {
  const dynamo = await startLocalDynamo(undefined);
  const table = `t-${randomUUID().slice(0, 8)}`;
  await ensureTable(dynamo.endpoint, table);
  const options = { endpoint: dynamo.endpoint, credentials: EMULATOR_CREDENTIALS, region: 'us-east-1' };
  return { store: new DynamoStore(documentClient(options), table), dynamo, table, options };
}

type DynamoOptions = { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };

/**
 * Throttling errors an AWS call may end with, from the platform, not from our code: the AWS SDK's
 * retry strategy classes each as throttling (THROTTLING_ERROR_CODES behind isThrottlingError,
 * @smithy/core/retry; test/unit/aws-errors.test.ts checks it), and the DynamoDB Developer Guide,
 * "Error handling with DynamoDB", lists the DynamoDB ones as retryable
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
 */
export const THROTTLING_ERROR_NAMES = [
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'Throttling',
  'TooManyRequestsException',
] as const;

/**
 * A DynamoStore whose next request DynamoDB answers with a throttling error: a 400 response with
 * the error's name in `__type`, as DynamoDB's JSON protocol sends it (the SDK's own deserializer
 * turns it into the error). maxAttempts 1: the store sees the error the SDK's own retries would
 * have given up on, which is when the store's naming matters.
 */
export function throttlingStore(options: DynamoOptions, table: string): { store: DynamoStore; throttleNext(name: string): void } {
  // Standard mode: adaptive mode's client-side rate limiter would slow every later request down.
  const client = new DynamoDBClient({ ...sdkConfig({ ...options, maxAttempts: 1 }), retryMode: 'standard' });
  let next: string | undefined;
  client.middlewareStack.addRelativeTo(
    // Inside the deserializer: what it parses is this response instead of the server's.
    ((handler: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
      const name = next;
      if (name === undefined) return handler(args);
      next = undefined;
      const body = JSON.stringify({
        __type: `com.amazonaws.dynamodb.v20120810#${name}`,
        message: 'Rate of requests exceeds the allowed throughput.',
      });
      return {
        // An HttpResponse as the SDK recognises one (status code and headers; the body a stream).
        response: {
          statusCode: 400,
          headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'THROTTLED' },
          body: Readable.from([Buffer.from(body)]),
        },
      };
    }) as never,
    { name: 'testThrottleNext', relation: 'after', toMiddleware: 'deserializerMiddleware' } as never,
  );
  const db = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
  return {
    store: new DynamoStore(db, table),
    throttleNext: (name) => {
      next = name;
    },
  };
}
