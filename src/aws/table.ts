/**
 * The one DynamoDB table of Coconut (single-table design). The local runtime creates it in
 * dynalite from this definition, the tests create it in moto, and infra/ declares the same keys.
 *
 * Items                       pk                 sk                    gsi1 (by service)            gsi2 (lists)
 * deployment                  DEP#<id>           META                  SVC#<service> / <at>#<id>    ALL#DEPLOYMENTS / <at>#<id>
 * stage (one per environment) DEP#<id>           ENV#<env>             SVCENV#<svc>#<env> / <at>#<id>
 * what runs where             SVC#<service>      ENV#<env>                                          ALL#ENVSTATES / <svc>#<env>
 * environment lock            LOCK#<svc>#<env>   LOCK
 * bake watch                  ALARM#<name>       BAKE#<id>#<env>
 * approval                    APR#<id>           META                                               APPROVALS#<status> / <at>#<id>
 * webhook delivery answer     DELIVERY#<id>      META                  (TTL: 7 days)
 * chat thread of a deployment THREAD#<id>        THREAD
 * webhook seen (replays)      SEEN#<key>         SEEN
 * pin of an environment       PINS               <svc>#<env>
 * pin / unpin history         PINLOG#<service>   <at>#<env>#<action>                                ALL#PINEVENTS / <at>#<svc>#<env>#<action>
 *
 * The keys of each kind are built in one place, dynamo/keys.ts; items from records in dynamo/items.ts.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export const TTL_ATTRIBUTE = 'ttl';

export function tableDefinition(tableName: string): CreateTableCommandInput {
  const key = (name: string) => [
    { AttributeName: `${name}pk`, KeyType: 'HASH' as const },
    { AttributeName: `${name}sk`, KeyType: 'RANGE' as const },
  ];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: key(''),
    AttributeDefinitions: ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk'].map((AttributeName) => ({
      AttributeName,
      AttributeType: 'S' as const,
    })),
    GlobalSecondaryIndexes: ['gsi1', 'gsi2'].map((IndexName) => ({
      IndexName,
      KeySchema: key(IndexName),
      Projection: { ProjectionType: 'ALL' as const },
    })),
  };
}
