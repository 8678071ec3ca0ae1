import * as path from 'node:path';
import { Duration, Stack, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { AuthKitMcpServer, BEARER_TOKEN_VALIDATION_REGEX } from '../../lib/authkit-mcp-server';
import { McpHandler } from '../../lib/mcp-handler';
import { logicalIdOf, renderCfnString, routes, serverStack, testApp } from './fixtures';

const WELL_KNOWN_PATHS = [
  '/.well-known/oauth-protected-resource/mcp',
  '/.well-known/oauth-protected-resource',
  '/.well-known/oauth-authorization-server',
  '/.well-known/openid-configuration',
];
const EXPOSE = "'WWW-Authenticate, Mcp-Session-Id, Mcp-Protocol-Version'";

function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

function gatewayResponse(template: Template, type: string): Record<string, unknown> {
  const found = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse', { Properties: { ResponseType: type } }));
  expect(found).toHaveLength(1);
  return found[0].Properties as Record<string, unknown>;
}

function functionEnvironment(template: Template, logical: string): Record<string, unknown> {
  const fn = template.toJSON().Resources[logical];
  return fn.Properties.Environment.Variables as Record<string, unknown>;
}

const customDomainProps = (stack: Stack) => ({
  domainName: 'mcp.example.com',
  certificate: acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:us-east-1:123456789012:certificate/abc'),
});

describe('AuthKitMcpServer routes (1)', () => {
  const { stack, server, template } = serverStack();
  const all = routes(template);
  const authorizerLogicalId = logicalIdOf(template, 'AWS::ApiGateway::Authorizer');

  it('creates a regional REST API', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['REGIONAL'] } });
  });

  it('serves exactly /mcp (POST, GET, DELETE, OPTIONS) and the four well-known documents (ANY)', () => {
    const expected = [...['DELETE', 'GET', 'OPTIONS', 'POST'].map((m) => `/mcp ${m}`), ...WELL_KNOWN_PATHS.map((p) => `${p} ANY`)].sort();
    expect(all.map((r) => `${r.path} ${r.method}`).sort()).toEqual(expected);
  });

  it.each(['POST', 'GET', 'DELETE'])('puts /mcp %s behind the TOKEN authorizer and proxies it to the MCP function', (method) => {
    const route = all.find((r) => r.path === '/mcp' && r.method === method)!;
    expect(route.authorizationType).toBe('CUSTOM');
    expect(route.authorizerId).toEqual({ Ref: authorizerLogicalId });
    expect(route.integrationType).toBe('AWS_PROXY');
    expect(route.functionLogicalId).toBe(logicalId(stack, server.mcpFunction));
  });

  it('answers the /mcp preflight with a MOCK integration, without the authorizer, allowing the MCP request headers', () => {
    const route = all.find((r) => r.path === '/mcp' && r.method === 'OPTIONS')!;
    expect(route.authorizationType).toBe('NONE');
    expect(route.authorizerId).toBeUndefined();
    expect(route.integrationType).toBe('MOCK');
    const params = (route.properties.Integration as { IntegrationResponses: { ResponseParameters: Record<string, string> }[] }).IntegrationResponses[0]
      .ResponseParameters;
    expect(params['method.response.header.Access-Control-Allow-Origin']).toBe("'*'");
    expect(params['method.response.header.Access-Control-Allow-Methods']).toBe("'GET,POST,DELETE,OPTIONS'");
    const allowed = params['method.response.header.Access-Control-Allow-Headers'].replace(/'/g, '').split(',');
    expect(allowed).toEqual(
      expect.arrayContaining(['Authorization', 'Content-Type', 'Mcp-Protocol-Version', 'Mcp-Session-Id', 'Last-Event-ID', 'Mcp-Method', 'Mcp-Name']),
    );
  });

  it.each(WELL_KNOWN_PATHS)('sends every method on %s to the metadata function without any authorizer, so HEAD works and others get its 405', (wellKnown) => {
    const route = all.find((r) => r.path === wellKnown && r.method === 'ANY')!;
    expect(route.authorizationType).toBe('NONE');
    expect(route.authorizerId).toBeUndefined();
    expect(route.integrationType).toBe('AWS_PROXY');
    expect(route.functionLogicalId).toBe(logicalId(stack, server.metadataFunction));
  });

  it('configures the TOKEN authorizer on the Authorization header with the Bearer validation expression and a 5-minute cache', () => {
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'TOKEN',
      IdentitySource: 'method.request.header.Authorization',
      IdentityValidationExpression: BEARER_TOKEN_VALIDATION_REGEX,
      AuthorizerResultTtlInSeconds: 300,
      AuthorizerUri: Match.anyValue(),
    });
  });

  it('takes the authorizer cache TTL from props', () => {
    serverStack({ authorizerCacheTtl: Duration.minutes(1) }).template.hasResourceProperties('AWS::ApiGateway::Authorizer', { AuthorizerResultTtlInSeconds: 60 });
    serverStack({ authorizerCacheTtl: Duration.seconds(0) }).template.hasResourceProperties('AWS::ApiGateway::Authorizer', { AuthorizerResultTtlInSeconds: 0 });
  });
});

describe('the Bearer validation expression', () => {
  const regex = new RegExp(BEARER_TOKEN_VALIDATION_REGEX);
  it.each(['Bearer aaa.bbb.ccc', 'bearer aaa.bbb.ccc', 'BEARER a-_1.b-_2.c-_3', 'bEaReR  aaa.bbb.ccc', 'Bearer aaa.bbb.'])('accepts %j', (header) => {
    expect(regex.test(header)).toBe(true);
  });
  it.each([
    '',
    'aaa.bbb.ccc',
    'Basic dXNlcjpwYXNz',
    'Bearer',
    'Bearer ',
    'Bearer opaque-token',
    'Bearer aaa.bbb',
    'Bearer aaa.bbb.ccc.ddd.eee',
    'Bearer aaa.bbb.ccc ',
    'Bearer aaa.b b.ccc',
    'Bearer\taaa.bbb.ccc',
    'Bearer aaa.bbb.c=c',
    'Bearer aaa.bbb.ccc\nBearer x.y.z',
    'Bearerx aaa.bbb.ccc',
    'Token aaa.bbb.ccc',
  ])('rejects %j (401 without invoking the authorizer)', (header) => {
    expect(regex.test(header)).toBe(false);
  });
});

describe('AuthKitMcpServer gateway responses (2)', () => {
  const domainStack = () => {
    const app = testApp();
    const stack = new Stack(app, 'DomainStack');
    new AuthKitMcpServer(stack, 'McpServer', { authkitDomain: 'acme.authkit.app', customDomain: customDomainProps(stack), requiredScopes: ['mcp:read', 'mcp:write'], scopesSupported: ['mcp:read', 'mcp:write', 'openid'] });
    return Template.fromStack(stack);
  };

  it('answers UNAUTHORIZED with 401 and the exact challenge, without an error code', () => {
    const response = serverStack({ publicBaseUrl: 'https://mcp.example.com' }).template;
    const props = gatewayResponse(response, 'UNAUTHORIZED');
    expect(props.StatusCode).toBe('401');
    expect((props.ResponseParameters as Record<string, string>)['gatewayresponse.header.WWW-Authenticate']).toBe(
      `'Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"'`,
    );
  });

  it('adds scope="..." to the 401 challenge when scopes are required', () => {
    const props = gatewayResponse(domainStack(), 'UNAUTHORIZED');
    expect((props.ResponseParameters as Record<string, string>)['gatewayresponse.header.WWW-Authenticate']).toBe(
      `'Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="mcp:read mcp:write"'`,
    );
  });

  it('answers ACCESS_DENIED with 403 insufficient_scope, the scopes and the metadata URL', () => {
    const props = gatewayResponse(domainStack(), 'ACCESS_DENIED');
    expect(props.StatusCode).toBe('403');
    expect((props.ResponseParameters as Record<string, string>)['gatewayresponse.header.WWW-Authenticate']).toBe(
      `'Bearer error="insufficient_scope", scope="mcp:read mcp:write", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"'`,
    );
  });

  it('builds the challenge for the default endpoint from the API id, region, URL suffix and the literal stage name', () => {
    const { template } = serverStack({ stageName: 'live' });
    const apiId = logicalIdOf(template, 'AWS::ApiGateway::RestApi');
    const header = (gatewayResponse(template, 'UNAUTHORIZED').ResponseParameters as Record<string, unknown>)['gatewayresponse.header.WWW-Authenticate'];
    const rendered = renderCfnString(header, (ref) => ({ [apiId]: 'abc123', 'AWS::Region': 'eu-west-1', 'AWS::URLSuffix': 'amazonaws.com' })[ref] ?? `{Ref:${ref}}`);
    expect(rendered).toBe(`'Bearer resource_metadata="https://abc123.execute-api.eu-west-1.amazonaws.com/live/.well-known/oauth-protected-resource/mcp"'`);
  });

  it.each(['AUTHORIZER_FAILURE', 'AUTHORIZER_CONFIGURATION_ERROR'])('maps %s to 503 with Retry-After', (type) => {
    const props = gatewayResponse(serverStack().template, type);
    expect(props.StatusCode).toBe('503');
    expect((props.ResponseParameters as Record<string, string>)['gatewayresponse.header.Retry-After']).toBe("'5'");
    expect(JSON.parse((props.ResponseTemplates as Record<string, string>)['application/json'])).toEqual({
      error: 'temporarily_unavailable',
      error_description: expect.any(String),
    });
  });

  it('answers unknown routes (MISSING_AUTHENTICATION_TOKEN) with 404 JSON', () => {
    const props = gatewayResponse(serverStack({ publicBaseUrl: 'https://mcp.example.com' }).template, 'MISSING_AUTHENTICATION_TOKEN');
    expect(props.StatusCode).toBe('404');
    expect(JSON.parse((props.ResponseTemplates as Record<string, string>)['application/json'])).toEqual({
      error: 'not_found',
      error_description: 'No such route. The MCP endpoint is https://mcp.example.com/mcp',
    });
  });

  it.each(['DEFAULT_4XX', 'DEFAULT_5XX'])('gives %s a JSON body and keeps its status code', (type) => {
    const props = gatewayResponse(serverStack().template, type);
    expect(props.StatusCode).toBeUndefined();
    const body = (props.ResponseTemplates as Record<string, string>)['application/json'].replace('$context.error.messageString', '"Missing Authentication Token"');
    expect(JSON.parse(body)).toEqual({ error: expect.any(String), error_description: 'Missing Authentication Token' });
  });

  it('puts the CORS headers on every gateway response', () => {
    const { template } = serverStack();
    const responses = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse'));
    expect(responses.map((r) => r.Properties.ResponseType).sort()).toEqual(
      ['ACCESS_DENIED', 'AUTHORIZER_CONFIGURATION_ERROR', 'AUTHORIZER_FAILURE', 'DEFAULT_4XX', 'DEFAULT_5XX', 'MISSING_AUTHENTICATION_TOKEN', 'UNAUTHORIZED'],
    );
    for (const response of responses) {
      const headers = response.Properties.ResponseParameters as Record<string, string>;
      expect(headers['gatewayresponse.header.Access-Control-Allow-Origin']).toBe("'*'");
      expect(headers['gatewayresponse.header.Access-Control-Expose-Headers']).toBe(EXPOSE);
    }
  });

  it('echoes the Origin (with Vary) when several origins are allowed, and names a single one statically', () => {
    const several = serverStack({ allowedOrigins: ['https://a.example.com', 'https://b.example.com'] }).template;
    const h1 = gatewayResponse(several, 'UNAUTHORIZED').ResponseParameters as Record<string, string>;
    expect(h1['gatewayresponse.header.Access-Control-Allow-Origin']).toBe('method.request.header.Origin');
    expect(h1['gatewayresponse.header.Vary']).toBe("'Origin'");
    const one = serverStack({ allowedOrigins: ['https://a.example.com'] }).template;
    const h2 = gatewayResponse(one, 'UNAUTHORIZED').ResponseParameters as Record<string, string>;
    expect(h2['gatewayresponse.header.Access-Control-Allow-Origin']).toBe("'https://a.example.com'");
  });
});

describe('AuthKitMcpServer canonical URL (3)', () => {
  it('uses the custom domain when one is set, and maps it at the root with an alias record', () => {
    const app = testApp();
    const stack = new Stack(app, 'S');
    const zone = route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z123', zoneName: 'example.com' });
    const server = new AuthKitMcpServer(stack, 'McpServer', {
      authkitDomain: 'acme.authkit.app',
      customDomain: { ...customDomainProps(stack), hostedZone: zone },
      disableExecuteApiEndpoint: true,
    });
    expect(server.resourceUrl).toBe('https://mcp.example.com/mcp');
    expect(server.url).toBe('https://mcp.example.com');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGateway::DomainName', {
      DomainName: 'mcp.example.com',
      RegionalCertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
      EndpointConfiguration: { Types: ['REGIONAL'] },
      SecurityPolicy: 'TLS_1_2',
    });
    template.hasResourceProperties('AWS::ApiGateway::BasePathMapping', Match.not(Match.objectLike({ BasePath: Match.anyValue() })));
    template.hasResourceProperties('AWS::Route53::RecordSet', { Name: 'mcp.example.com.', Type: 'A', HostedZoneId: 'Z123' });
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { DisableExecuteApiEndpoint: true });
  });

  it('prefers publicBaseUrl over the custom domain and the execute-api endpoint', () => {
    const app = testApp();
    const stack = new Stack(app, 'S');
    const server = new AuthKitMcpServer(stack, 'McpServer', {
      authkitDomain: 'acme.authkit.app',
      customDomain: customDomainProps(stack),
      publicBaseUrl: 'https://Edge.Example.com/',
    });
    expect(server.resourceUrl).toBe('https://edge.example.com/mcp');
    expect(server.protectedResourceMetadataUrl).toBe('https://edge.example.com/.well-known/oauth-protected-resource/mcp');
  });

  it('builds the default endpoint without referring to the Stage or the Deployment', () => {
    const { template } = serverStack({ stageName: 'v1' });
    const apiId = logicalIdOf(template, 'AWS::ApiGateway::RestApi');
    const resolved = renderCfnString(template.toJSON().Outputs.McpUrl.Value, (ref) => (ref === apiId ? 'API' : `{Ref:${ref}}`));
    expect(resolved).toBe('https://API.execute-api.{Ref:AWS::Region}.{Ref:AWS::URLSuffix}/v1/mcp');
  });

  it('gives the three functions the same PUBLIC_BASE_URL, and the two that check the issuer the same issuer', () => {
    const { stack, server, template } = serverStack({ publicBaseUrl: 'https://mcp.example.com', authkitDomain: 'https://Acme.AuthKit.app/' });
    for (const fn of [server.authorizerFunction, server.metadataFunction, server.mcpFunction]) {
      expect(functionEnvironment(template, logicalId(stack, fn)).PUBLIC_BASE_URL).toBe('https://mcp.example.com');
    }
    for (const fn of [server.authorizerFunction, server.metadataFunction]) {
      expect(functionEnvironment(template, logicalId(stack, fn)).AUTHKIT_ISSUER).toBe('https://acme.authkit.app');
    }
  });
});

describe('AuthKitMcpServer functions (4)', () => {
  const { stack, server, template } = serverStack({
    publicBaseUrl: 'https://mcp.example.com',
    requiredScopes: ['mcp:tools'],
    acceptedAudiences: ['client_01ABC'],
    allowedOrigins: ['https://app.example.com'],
    logRetention: logs.RetentionDays.TWO_WEEKS,
    resourceDocumentation: 'https://docs.example.com/mcp',
  });
  const fns = () => [server.authorizerFunction, server.metadataFunction, server.mcpFunction];

  it('runs every function on Node.js 22, arm64, with source maps enabled', () => {
    for (const fn of fns()) {
      const props = template.toJSON().Resources[logicalId(stack, fn)].Properties;
      expect(props.Runtime).toBe('nodejs22.x');
      expect(props.Architectures).toEqual(['arm64']);
      expect(props.Handler).toBe('index.handler');
      expect(props.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
    }
  });

  it('gives every function its own log group with the configured retention', () => {
    for (const fn of fns()) {
      const props = template.toJSON().Resources[logicalId(stack, fn)].Properties;
      const logGroupId = props.LoggingConfig.LogGroup.Ref as string;
      expect(template.toJSON().Resources[logGroupId]).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 14 } });
    }
  });

  it('gives every function a role that may only write to its own log group', () => {
    const resources = template.toJSON().Resources;
    for (const fn of fns()) {
      const props = resources[logicalId(stack, fn)].Properties;
      const roleId = props.Role['Fn::GetAtt'][0] as string;
      expect(resources[roleId].Properties.ManagedPolicyArns).toBeUndefined();
      const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
        (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId),
      );
      expect(policies).toHaveLength(1);
      expect(policies[0].Properties.PolicyDocument.Statement).toEqual([
        { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [props.LoggingConfig.LogGroup.Ref, 'Arn'] } },
      ]);
    }
  });

  it('sets exactly the contract environment on the authorizer', () => {
    expect(functionEnvironment(template, logicalId(stack, server.authorizerFunction))).toEqual({
      PUBLIC_BASE_URL: 'https://mcp.example.com',
      AUTHKIT_ISSUER: 'https://acme.authkit.app',
      POWERTOOLS_SERVICE_NAME: 'mcp-server-authorizer',
      POWERTOOLS_METRICS_NAMESPACE: 'McpServer',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
      AUTHKIT_JWKS_URL: 'https://acme.authkit.app/oauth2/jwks',
      ACCEPTED_AUDIENCES: 'client_01ABC',
      ALLOW_MULTIPLE_AUDIENCES: 'false',
      TOKEN_ALGORITHMS: 'RS256',
      CLOCK_TOLERANCE_SECONDS: '30',
      REQUIRED_SCOPES: 'mcp:tools',
      JWKS_TIMEOUT_MS: '2000',
      JWKS_COOLDOWN_MS: '30000',
    });
  });

  it('sets exactly the contract environment on the metadata function', () => {
    expect(functionEnvironment(template, logicalId(stack, server.metadataFunction))).toEqual({
      PUBLIC_BASE_URL: 'https://mcp.example.com',
      AUTHKIT_ISSUER: 'https://acme.authkit.app',
      POWERTOOLS_SERVICE_NAME: 'mcp-server-metadata',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
      SCOPES_SUPPORTED: 'openid profile email mcp:tools',
      RESOURCE_NAME: 'MCP server',
      RESOURCE_DOCUMENTATION: 'https://docs.example.com/mcp',
      AS_METADATA_TTL_SECONDS: '3600',
      AS_METADATA_TIMEOUT_MS: '2000',
    });
  });

  it('sets exactly the contract environment on the MCP function', () => {
    expect(functionEnvironment(template, logicalId(stack, server.mcpFunction))).toEqual({
      PUBLIC_BASE_URL: 'https://mcp.example.com',
      POWERTOOLS_SERVICE_NAME: 'mcp-server',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
      ALLOWED_ORIGINS: 'https://app.example.com',
      MAX_BODY_BYTES: '1048576',
      CLOCK_TOLERANCE_SECONDS: '30',
    });
  });

  it('leaves optional authorizer settings unset when they are empty', () => {
    const plain = serverStack();
    const env = functionEnvironment(plain.template, logicalId(plain.stack, plain.server.authorizerFunction));
    expect(env).not.toHaveProperty('ACCEPTED_AUDIENCES');
    expect(env).not.toHaveProperty('REQUIRED_SCOPES');
    expect(functionEnvironment(plain.template, logicalId(plain.stack, plain.server.mcpFunction)).ALLOWED_ORIGINS).toBe('*');
  });

  it('permits API Gateway to invoke the MCP function only for the /mcp methods of the deployed stage', () => {
    const mcpId = logicalId(stack, server.mcpFunction);
    const apiId = logicalIdOf(template, 'AWS::ApiGateway::RestApi');
    const stageId = logicalIdOf(template, 'AWS::ApiGateway::Stage');
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).filter((p) => p.Properties.FunctionName['Fn::GetAtt']?.[0] === mcpId);
    const names: Record<string, string> = { [apiId]: 'API', [stageId]: 'STAGE', 'AWS::Partition': 'aws', 'AWS::Region': 'REGION', 'AWS::AccountId': 'ACCOUNT' };
    const sources = permissions.map((p) => renderCfnString(p.Properties.SourceArn, (ref) => names[ref] ?? `{Ref:${ref}}`));
    expect(sources.sort()).toEqual(['DELETE', 'GET', 'POST'].map((m) => `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/${m}/mcp`));
  });
});

describe('AuthKitMcpServer stage (5) and outputs (6)', () => {
  it('writes JSON access logs that carry no request headers, with throttling, ERROR execution logs and metrics', () => {
    const { template } = serverStack({ throttlingRateLimit: 25, throttlingBurstLimit: 50 });
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0].Properties;
    const format = JSON.parse(stage.AccessLogSetting.Format as string) as Record<string, string>;
    expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status', authorizerError: '$context.authorizer.error' });
    expect(JSON.stringify(format)).not.toMatch(/header|authorization"|\$input/i);
    expect(stage.MethodSettings).toEqual([
      expect.objectContaining({
        HttpMethod: '*',
        ResourcePath: '/*',
        DataTraceEnabled: false,
        LoggingLevel: 'ERROR',
        MetricsEnabled: true,
        ThrottlingRateLimit: 25,
        ThrottlingBurstLimit: 50,
      }),
    ]);
    expect(stage.TracingEnabled).toBe(false);
  });

  it('turns on X-Ray on the stage and the functions when tracing is set', () => {
    const { template } = serverStack({ tracing: true });
    template.hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: true });
    expect(Object.values(template.findResources('AWS::Lambda::Function')).every((f) => f.Properties.TracingConfig?.Mode === 'Active')).toBe(true);
  });

  it('outputs the MCP URL, the metadata URL and the Resource Indicator, and no misleading execute-api endpoint', () => {
    const { template } = serverStack({ publicBaseUrl: 'https://mcp.example.com' });
    expect(Object.keys(template.toJSON().Outputs).sort()).toEqual(['McpUrl', 'ProtectedResourceMetadataUrl', 'ResourceIndicator']);
    expect(template.toJSON().Outputs).toMatchObject({
      McpUrl: { Value: 'https://mcp.example.com/mcp' },
      ProtectedResourceMetadataUrl: { Value: 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp' },
      ResourceIndicator: { Value: 'https://mcp.example.com/mcp' },
    });
  });

  it('associates a WAF web ACL with the stage when given', () => {
    const { template } = serverStack({ webAclArn: 'arn:aws:wafv2:us-east-1:123456789012:regional/webacl/mcp/1' });
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', { WebACLArn: 'arn:aws:wafv2:us-east-1:123456789012:regional/webacl/mcp/1' });
  });
});

describe('AuthKitMcpServer with your own MCP function', () => {
  it('wires a lambda.Function from McpHandler.fromFunction and gives it the runtime environment', () => {
    const app = testApp();
    const stack = new Stack(app, 'S');
    const own = new lambda.Function(stack, 'Own', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler=async()=>({})') });
    const server = new AuthKitMcpServer(stack, 'McpServer', { authkitDomain: 'acme.authkit.app', mcpHandler: McpHandler.fromFunction(own), publicBaseUrl: 'https://mcp.example.com' });
    expect(server.mcpFunction).toBe(own);
    const template = Template.fromStack(stack);
    const post = routes(template).find((r) => r.path === '/mcp' && r.method === 'POST')!;
    expect(post.functionLogicalId).toBe(logicalId(stack, own));
    expect(functionEnvironment(template, logicalId(stack, own))).toMatchObject({ PUBLIC_BASE_URL: 'https://mcp.example.com', ALLOWED_ORIGINS: '*' });
  });

  it('bundles an entry file from McpHandler.fromEntry with the construct runtime settings and extra environment', () => {
    const entry = path.join(__dirname, '..', '..', 'lambda', 'mcp', 'index.ts');
    const { stack, server, template } = serverStack({ mcpHandler: McpHandler.fromEntry(entry, { environment: { TOOLS_TABLE: 'tools' } }) });
    const props = template.toJSON().Resources[logicalId(stack, server.mcpFunction)].Properties;
    expect(props.Runtime).toBe('nodejs22.x');
    expect(props.Environment.Variables).toMatchObject({ TOOLS_TABLE: 'tools', MAX_BODY_BYTES: '1048576' });
  });

  it('fails when the entry environment tries to replace a variable the construct sets', () => {
    const entry = path.join(__dirname, '..', '..', 'lambda', 'mcp', 'index.ts');
    expect(() => serverStack({ mcpHandler: McpHandler.fromEntry(entry, { environment: { PUBLIC_BASE_URL: 'https://evil.example.com' } }) })).toThrow(
      /"mcpHandler" sets PUBLIC_BASE_URL/,
    );
  });

  it('fails when the entry file does not exist', () => {
    expect(() => McpHandler.fromEntry('no/such/handler.ts')).toThrow(/cannot find "no\/such\/handler.ts"/);
  });
});
