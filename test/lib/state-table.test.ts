/**
 * The state table of the per-caller leases: on demand, TTL on `ttl`, encrypted with the AWS managed
 * key, `pk`/`sk` string keys, named in the MCP function's environment, and usable by the MCP
 * function's role alone, item by item (no Scan, nothing table-wide).
 */
import { Match } from 'aws-cdk-lib/assertions';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { logicalIdOf, serverStack } from './fixtures';

describe('the state table', () => {
  const { stack, server, template } = serverStack();
  const tableId = logicalIdOf(template, 'AWS::DynamoDB::Table');
  const resources = template.toJSON().Resources;
  const mcpFunctionId = stack.getLogicalId(server.mcpFunction.node.defaultChild as CfnFunction);
  const mcpRoleId = resources[mcpFunctionId].Properties.Role['Fn::GetAtt'][0];

  it('is billed per request, expires items on ttl, is encrypted with the AWS managed key and keyed by pk and sk', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        SSESpecification: { SSEEnabled: true },
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false },
        ProvisionedThroughput: Match.absent(),
        GlobalSecondaryIndexes: Match.absent(),
        StreamSpecification: Match.absent(),
      },
      DeletionPolicy: 'Delete',
    });
  });

  it('is named to the MCP function in STATE_TABLE_NAME', () => {
    expect(resources[mcpFunctionId].Properties.Environment.Variables.STATE_TABLE_NAME).toEqual({ Ref: tableId });
    expect(server.mcpEnvironment.STATE_TABLE_NAME).toBe(server.stateTable.tableName);
  });

  it('is named in one policy only, of the MCP function role, for item operations on this table', () => {
    const naming = Object.entries<{
      Type: string;
      Properties: { PolicyDocument: { Statement: { Resource: unknown }[] }; Roles: unknown };
    }>(resources).filter(([id, resource]) => id !== tableId && JSON.stringify(resource).includes(`"${tableId}"`));
    const policies = naming.filter(([, resource]) => resource.Type === 'AWS::IAM::Policy');
    expect(policies.map(([, policy]) => policy.Properties.Roles)).toEqual([[{ Ref: mcpRoleId }]]);
    // Besides that policy, only the MCP function's environment refers to the table.
    expect(naming.map(([id]) => id).sort()).toEqual([policies[0][0], mcpFunctionId].sort());
    const statements = policies[0][1].Properties.PolicyDocument.Statement.filter((s: { Resource: unknown }) =>
      JSON.stringify(s.Resource).includes(tableId),
    );
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: [
          'dynamodb:GetItem',
          'dynamodb:Query',
          'dynamodb:PutItem',
          'dynamodb:DeleteItem',
          'dynamodb:UpdateItem',
        ],
        Resource: { 'Fn::GetAtt': [tableId, 'Arn'] },
      },
    ]);
  });

  it('lets no role of the stack Scan, or act on every table', () => {
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      for (const statement of policy.Properties.PolicyDocument.Statement as {
        Action: string | string[];
        Resource: unknown;
      }[]) {
        const actions = [statement.Action].flat();
        expect(actions).not.toContain('dynamodb:Scan');
        expect(actions).not.toContain('dynamodb:*');
        if (actions.some((a) => a.startsWith('dynamodb:'))) expect(statement.Resource).not.toBe('*');
      }
    }
  });

  it('keeps the per-caller limit off the environment as `off` when the prop is false, and the table in place', () => {
    const off = serverStack({ maxConcurrentRequestsPerCaller: false });
    expect(off.server.mcpEnvironment.MAX_CONCURRENT_REQUESTS_PER_CALLER).toBe('off');
    expect(off.server.mcpEnvironment.STATE_TABLE_NAME).toBeDefined();
  });
});
