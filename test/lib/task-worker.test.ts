/**
 * What the construct gives durable tasks: the MCP function's role may invoke that function and no
 * other (in a policy of its own, which the function does not depend on), and Lambda runs each
 * asynchronous event once (no retry) and drops one that waited over a minute.
 */
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { serverStack } from './fixtures';

interface Resource {
  readonly Type: string;
  readonly DependsOn?: string[];
  readonly Properties: {
    readonly Role?: { readonly 'Fn::GetAtt': string[] };
    readonly Roles?: unknown;
    readonly PolicyDocument?: { readonly Statement: unknown };
  };
}

describe("the task worker's invocation", () => {
  const { stack, server, template } = serverStack();
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const mcpFunctionId = stack.getLogicalId(server.mcpFunction.node.defaultChild as CfnFunction);
  const mcpRoleId = resources[mcpFunctionId].Properties.Role?.['Fn::GetAtt'][0];

  it('lets the MCP function role alone invoke the MCP function alone, from a policy the function does not depend on', () => {
    const invokers = Object.entries(resources).filter(
      ([, resource]) =>
        resource.Type === 'AWS::IAM::Policy' &&
        JSON.stringify(resource.Properties.PolicyDocument).includes('lambda:InvokeFunction'),
    );
    expect(invokers).toHaveLength(1);
    const [policyId, policy] = invokers[0];
    expect(policy.Properties.Roles).toEqual([{ Ref: mcpRoleId }]);
    expect(policy.Properties.PolicyDocument?.Statement).toEqual([
      { Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: { 'Fn::GetAtt': [mcpFunctionId, 'Arn'] } },
    ]);
    const dependsOn = resources[mcpFunctionId].DependsOn ?? [];
    expect(dependsOn).not.toContain(policyId);
  });

  it('runs each asynchronous event of the MCP function once and drops one older than 60 s', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: mcpFunctionId },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
    });
  });
});
