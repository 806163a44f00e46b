/** The one DynamoDB table, declared from the same definition the local runtime and tests use. */
import { TTL_ATTRIBUTE, tableDefinition } from '../src/aws/table.ts';

export function storage() {
  const definition = tableDefinition('coconut');
  const key = (schema: { AttributeName?: string; KeyType?: string }[] | undefined) => ({
    hashKey: schema?.find((k) => k.KeyType === 'HASH')?.AttributeName as string,
    rangeKey: schema?.find((k) => k.KeyType === 'RANGE')?.AttributeName as string,
  });
  const table = new sst.aws.Dynamo('Table', {
    fields: Object.fromEntries((definition.AttributeDefinitions ?? []).map((a) => [a.AttributeName, 'string'])),
    primaryIndex: key(definition.KeySchema),
    globalIndexes: Object.fromEntries(
      (definition.GlobalSecondaryIndexes ?? []).map((index) => [index.IndexName, { ...key(index.KeySchema), projection: 'all' }]),
    ),
    // Locks, bake watches and decided approvals expire by themselves.
    ttl: TTL_ATTRIBUTE,
    transform: { table: { pointInTimeRecovery: { enabled: true } } },
  });
  return { table };
}
