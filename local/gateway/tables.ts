/**
 * The DynamoDB tables of the template, for the local DynamoDB (local/aws/dynamodb.ts): each
 * `AWS::DynamoDB::Table` with the physical name and ARN its `Ref` and `Fn::GetAtt Arn` resolve to
 * (so the name a function's environment carries is the table's), and its key schema. Indexes and
 * streams are refused at start: the local DynamoDB does not create them, and a function that used
 * one would fail differently from AWS.
 */
import type { LocalTable } from '../aws/dynamodb';
import { UnsupportedFeatureError } from './errors';
import type { Resolve } from './role-grants';

type Resources = Readonly<Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown> }>>;

const UNSUPPORTED: readonly (readonly [string, string])[] = [
  ['GlobalSecondaryIndexes', 'DynamoDB global secondary indexes'],
  ['LocalSecondaryIndexes', 'DynamoDB local secondary indexes'],
  ['StreamSpecification', 'DynamoDB streams'],
];

export function tablesOf(
  resources: Resources,
  names: { tableName(logicalId: string): string; tableArn(logicalId: string): string },
  resolve: Resolve,
): LocalTable[] {
  const tables: LocalTable[] = [];
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::DynamoDB::Table') continue;
    const p = resource.Properties ?? {};
    for (const [property, feature] of UNSUPPORTED)
      if (p[property] !== undefined) throw new UnsupportedFeatureError(feature, logicalId);
    const keySchema = resolve(p.KeySchema, `${logicalId}.KeySchema`) as LocalTable['keySchema'];
    const keys = new Set(keySchema.map((key) => key.AttributeName));
    const definitions = resolve(
      p.AttributeDefinitions,
      `${logicalId}.AttributeDefinitions`,
    ) as LocalTable['attributeDefinitions'];
    tables.push({
      name: names.tableName(logicalId),
      arn: names.tableArn(logicalId),
      keySchema,
      // DynamoDB refuses definitions of attributes no key uses.
      attributeDefinitions: definitions.filter((definition) => keys.has(definition.AttributeName)),
    });
  }
  return tables;
}
