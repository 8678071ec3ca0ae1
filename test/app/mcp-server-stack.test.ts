import * as fs from 'node:fs';
import * as path from 'node:path';
import { Stack, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AuthKitMcpServer } from '../../lib/authkit-mcp-server';
import { McpHandler } from '../../lib/mcp-handler';
import { McpServerStack, stackNameForStage } from '../../app/mcp-server-stack';
import { loadStageConfig } from '../../app/stage-config';
import { testApp } from '../lib/fixtures';
import { SAMPLE_TOOLS } from '../../lambda/mcp/server';
import { toolScopesOf } from '../../lambda/runtime';

const cdkJsonContext = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8'))
  .context as Record<string, unknown>;

function stageStack(stage: string, extra: Record<string, unknown> = {}) {
  const app = testApp({ ...cdkJsonContext, stage, ...extra });
  const config = loadStageConfig(app.node);
  // The sample's tool scopes, as bin/stage-app.ts passes them (the local stage turns stepUpChallenge on).
  const stack = new McpServerStack(app, stackNameForStage(config.name), {
    stage: config,
    toolScopes: toolScopesOf(SAMPLE_TOOLS),
  });
  return { app, stack, config };
}

describe('McpServerStack', () => {
  it.each(['local', 'dev', 'prod'])('names the %s stack after its stage', (stage) => {
    expect(stageStack(stage).stack.stackName).toBe(`McpServer-${stage}`);
  });

  it('deploys prod to the account and region of its stage, and leaves dev environment-agnostic', () => {
    expect(stageStack('prod').stack.environment).toBe('aws://123456789012/us-east-1');
    expect(stageStack('dev').stack.environment).toBe('aws://unknown-account/unknown-region');
  });

  it('uses the stage name as the API stage name unless the stage sets one', () => {
    const template = Template.fromStack(stageStack('dev').stack);
    template.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'dev' });
  });

  it('serves the local stage at the local runner URL with the local AuthKit stand-in', () => {
    const { stack } = stageStack('local');
    expect(stack.server.resourceUrl).toBe('http://localhost:8787/mcp');
    expect(stack.server.issuer).toBe('http://localhost:8788');
    const outputs = Template.fromStack(stack).toJSON().Outputs;
    expect(outputs.McpUrl.Value).toBe('http://localhost:8787/mcp');
    expect(outputs.ResourceIndicator.Value).toBe('http://localhost:8787/mcp');
    expect(outputs.ProtectedResourceMetadataUrl.Value).toBe(
      'http://localhost:8787/.well-known/oauth-protected-resource/mcp',
    );
  });

  it('follows -c authkitDomain and -c publicBaseUrl overrides', () => {
    const { stack } = stageStack('local', {
      authkitDomain: 'http://127.0.0.1:40123',
      publicBaseUrl: 'http://127.0.0.1:40124',
    });
    expect(stack.server.resourceUrl).toBe('http://127.0.0.1:40124/mcp');
    expect(stack.server.issuer).toBe('http://127.0.0.1:40123');
  });

  it.each([
    [
      'ARN',
      { workosApiKeySecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:workos-key-AbCdEf' },
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:workos-key-AbCdEf',
    ],
    ['name', { workosApiKeySecretName: 'workos-key' }, ':secret:workos-key'],
  ])('imports the WorkOS API key secret a stage names by %s, with the permissions cache TTL', (_by, fields, arn) => {
    const { stack } = stageStack('dev', { ...fields, permissionsCacheTtlSeconds: '5' });
    const fn =
      Template.fromStack(stack).toJSON().Resources[
        stack.getLogicalId(stack.server.mcpFunction.node.defaultChild as never)
      ];
    const env = fn.Properties.Environment.Variables;
    expect(JSON.stringify(env.WORKOS_API_KEY_SECRET_ARN)).toContain(arn);
    expect(env.PERMISSIONS_CACHE_TTL_MS).toBe('5000');
  });

  it('refuses a stage that names the WorkOS API key secret both by ARN and by name', () => {
    expect(() =>
      stageStack('dev', {
        workosApiKeySecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:workos-key-AbCdEf',
        workosApiKeySecretName: 'workos-key',
      }),
    ).toThrow(/workosApiKeySecretName.*by ARN or by name/);
  });

  it('takes required scopes from -c requiredScopes=... into the authorizer and the 401 challenge', () => {
    const { stack } = stageStack('local', { requiredScopes: 'mcp:tools' });
    const template = Template.fromStack(stack);
    const unauthorized = Object.values(
      template.findResources('AWS::ApiGateway::GatewayResponse', { Properties: { ResponseType: 'UNAUTHORIZED' } }),
    )[0];
    expect(unauthorized.Properties.ResponseParameters['gatewayresponse.header.WWW-Authenticate']).toBe(
      `'Bearer resource_metadata="http://localhost:8787/.well-known/oauth-protected-resource/mcp", scope="mcp:tools"'`,
    );
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { REQUIRED_SCOPES: 'mcp:tools' } },
    });
  });

  it('puts prod on its custom domain with the alias record', () => {
    const { stack } = stageStack('prod');
    expect(stack.server.resourceUrl).toBe('https://mcp.example.com/mcp');
    Template.fromStack(stack).hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'mcp.example.com.',
      HostedZoneId: 'Z0000000000000000000',
    });
  });

  it.each([
    ['dev', 1000],
    ['prod', 3000],
  ])('protects the %s stage with a per-client-IP rate limit of %i requests per 5 minutes', (stage, limit) => {
    const template = Template.fromStack(stageStack(stage).stack);
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      Rules: [
        Match.objectLike({
          Name: 'RateLimitPerIp',
          Statement: { RateBasedStatement: { Limit: limit, AggregateKeyType: 'IP', EvaluationWindowSec: 300 } },
        }),
      ],
    });
    expect(Object.keys(template.findResources('AWS::WAFv2::WebACLAssociation'))).toHaveLength(1);
  });

  it('leaves the local stage without a web ACL', () => {
    const template = Template.fromStack(stageStack('local').stack);
    expect(Object.keys(template.findResources('AWS::WAFv2::WebACL'))).toEqual([]);
    expect(Object.keys(template.findResources('AWS::WAFv2::WebACLAssociation'))).toEqual([]);
  });

  it('streams the MCP answers of every shipped stage, and takes buffered mode and its timeout from the stage', () => {
    for (const stage of ['local', 'dev', 'prod']) {
      Template.fromStack(stageStack(stage).stack).hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: 'POST',
        Integration: Match.objectLike({ ResponseTransferMode: 'STREAM', TimeoutInMillis: 300_000 }),
      });
    }
    const buffered = Template.fromStack(
      stageStack('dev', { responseTransferMode: 'buffered', mcpTimeoutSeconds: '25' }).stack,
    );
    buffered.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      Integration: Match.objectLike({ ResponseTransferMode: 'BUFFERED', TimeoutInMillis: 25_000 }),
    });
  });

  it.each([
    ['local', 'no', undefined],
    ['dev', 'no', undefined],
    ['prod', '100', 100],
  ])(
    'gives the shipped %s stage %s reserved MCP executions: none where a new account (quota 10) must deploy, 100 on prod',
    (stage, _label, reserved) => {
      const functions = Object.values(
        Template.fromStack(stageStack(stage).stack).findResources('AWS::Lambda::Function'),
      ) as { Properties: { ReservedConcurrentExecutions?: number; Description?: string } }[];
      const mcp = functions.filter((fn) => fn.Properties.Description?.startsWith('MCP server'));
      expect(mcp).toHaveLength(1);
      expect(mcp[0].Properties.ReservedConcurrentExecutions).toBe(reserved);
      const others = functions.filter((fn) => fn !== mcp[0]);
      expect(others.map((fn) => fn.Properties.ReservedConcurrentExecutions)).toEqual(others.map(() => undefined));
    },
  );

  it("guards the local stage's /mcp with the step-up REQUEST authorizer, over the sample's tool scopes", () => {
    const { stack } = stageStack('local');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', { Type: 'REQUEST', AuthorizerResultTtlInSeconds: 0 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { STEP_UP_TOOL_SCOPES: JSON.stringify({ server_config: ['mcp:admin'] }) } },
    });
  });

  it('refuses a stage with stepUpChallenge when the app passes no tool scopes, naming what to pass', () => {
    const app = testApp({ ...cdkJsonContext, stage: 'local' });
    expect(() => new McpServerStack(app, 'McpServer-local', { stage: loadStageConfig(app.node) })).toThrow(
      /^Stage "local": stepUpChallenge is true, but the app passes no toolScopes.*toolScopesOf\(tools\)/,
    );
  });

  it('fails naming the stage when a stage value is rejected by the construct', () => {
    const app = testApp({
      stages: { qa: { authkitDomain: 'a.authkit.app', requiredScopes: ['offline_access'] } },
      stage: 'qa',
    });
    expect(() => new McpServerStack(app, 'McpServer-qa', { stage: loadStageConfig(app.node) })).toThrow(
      /^Stage "qa": AuthKitMcpServer: "requiredScopes" contains "offline_access"/,
    );
  });
});

describe('cdk-nag AwsSolutions checks (7)', () => {
  it.each(['local', 'dev', 'prod'])('reports no unacknowledged finding for the %s stage', (stage) => {
    const { app } = stageStack(stage);
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(
      report.violations.map(
        (v) => `${v.ruleName} ${v.severity} ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      ),
    ).toEqual([]);
  });

  it('reports no finding with the per-IP rate limit, buffered answers, no reserved concurrency and one origin', () => {
    const { app } = stageStack('dev', {
      stages: {
        dev: {
          authkitDomain: 'acme.authkit.app',
          rateLimitPerIp: 100,
          rateLimitWindowSeconds: 60,
          responseTransferMode: 'buffered',
          mcpReservedConcurrency: false,
          allowedOrigins: ['https://a.example.com'],
        },
      },
    });
    expect(new AwsSolutionsChecks().validateScope(app).violations).toEqual([]);
  });

  it('reports no finding with every optional feature on (tracing, WAF, several origins, required scopes)', () => {
    const { app } = stageStack('dev', {
      stages: {
        dev: {
          authkitDomain: 'acme.authkit.app',
          tracing: true,
          webAclArn: 'arn:aws:wafv2:us-east-1:123456789012:regional/webacl/mcp/1',
          allowedOrigins: ['https://a.example.com', 'https://b.example.com'],
          requiredScopes: ['mcp:tools'],
        },
      },
    });
    expect(new AwsSolutionsChecks().validateScope(app).violations).toEqual([]);
  });

  it('still finds the issues it is meant to find (the acknowledgements are what keep the report clean)', () => {
    // Build the same stage with acknowledgements switched off, then check again.
    const acknowledge = jest.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => undefined);
    let app: ReturnType<typeof stageStack>['app'];
    try {
      app = stageStack('dev').app;
    } finally {
      acknowledge.mockRestore();
    }
    const rules = new Set(new AwsSolutionsChecks().validateScope(app).violations.map((v) => v.ruleName));
    expect([...rules].sort()).toEqual(
      expect.arrayContaining(['AwsSolutions-APIG2', 'AwsSolutions-APIG4', 'AwsSolutions-COG4', 'AwsSolutions-SMG4']),
    );
    // The functions run on the latest Node.js runtime: nothing to acknowledge there. The dev stage has its web ACL.
    expect(rules).not.toContain('AwsSolutions-L1');
    expect(rules).not.toContain('AwsSolutions-APIG3');
  });

  it('acknowledges nothing on a function passed in with McpHandler.fromFunction', () => {
    const app = testApp();
    const stack = new Stack(app, 'S');
    const own = new lambda.Function(stack, 'OwnMcp', {
      runtime: lambda.Runtime.NODEJS_20_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler=async()=>({})'),
    });
    new AuthKitMcpServer(stack, 'McpServer', {
      authkitDomain: 'acme.authkit.app',
      mcpHandler: McpHandler.fromFunction(own),
    });
    const findings = new AwsSolutionsChecks()
      .validateScope(app)
      .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`));
    expect(findings).toContain('AwsSolutions-L1 S/OwnMcp/Resource');
    expect(findings.every((finding) => finding.includes('/OwnMcp/'))).toBe(true);
  });

  it('gives every acknowledgement a reason', () => {
    const { app } = stageStack('prod');
    const acknowledgements = app.node
      .findAll()
      .flatMap((node) => node.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules'))
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const [rule, reason] of acknowledgements) {
      expect(`${rule}: ${reason}`).toMatch(/^\S+: .{40,}/);
    }
  });
});
