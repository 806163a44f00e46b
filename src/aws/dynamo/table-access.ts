/**
 * The table as every part of the DynamoDB store reaches it: its client and name, a consistent
 * read of one item, a query to its end, and errors that name the table and the record.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { errorName, namedAwsError } from '../errors.ts';
import type { Item } from './items.ts';
import type { Key } from './keys.ts';

export class TableAccess {
  readonly db: DynamoDBDocumentClient;
  readonly name: string;

  constructor(db: DynamoDBDocumentClient, name: string) {
    this.db = db;
    this.name = name;
  }

  /** One item, read consistently (every read of one item in the store is). */
  async get(key: Key): Promise<Item | undefined> {
    const res = await this.db.send(new GetCommand({ TableName: this.name, Key: key, ConsistentRead: true }));
    return res.Item;
  }

  /** Every page of a query. */
  async queryAll(input: Omit<QueryCommandInput, 'TableName'>): Promise<Item[]> {
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.db.send(
        new QueryCommand({ ...input, TableName: this.name, ...(start ? { ExclusiveStartKey: start } : {}) }),
      );
      items.push(...((res.Items ?? []) as Item[]));
      start = res.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** Errors that name the table and the record, not just "ResourceNotFoundException" (aws/errors.ts). */
  named(error: unknown, what: string): Error {
    return namedAwsError(`DynamoDB table ${this.name}, ${what}`, error);
  }
}

/** The write's condition did not hold: the record exists already, or changed meanwhile. */
export function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || errorName(error) === 'ConditionalCheckFailedException';
}
