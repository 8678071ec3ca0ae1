import * as path from 'node:path';
import { Duration, Stack, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AuthKitMcpServer, type AuthKitMcpServerProps } from '../../lib/authkit-mcp-server';
import { BEARER_TOKEN_VALIDATION_REGEX } from '../../lambda/shared/bearer-token';
import { McpHandler } from '../../lib/mcp-handler';
import { found, logicalIdOf, renderCfnString, routes, serverStack, testApp } from './fixtures';

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
  const found = Object.values(
    template.findResources('AWS::ApiGateway::GatewayResponse', { Properties: { ResponseType: type } }),
  );
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
    const expected = [
      ...['DELETE', 'GET', 'OPTIONS', 'POST'].map((m) => `/mcp ${m}`),
      ...WELL_KNOWN_PATHS.map((p) => `${p} ANY`),
    ].sort();
    expect(all.map((r) => `${r.path} ${r.method}`).sort()).toEqual(expected);
  });

  it.each(['POST', 'GET', 'DELETE'])(
    'puts /mcp %s behind the TOKEN authorizer and proxies it to the MCP function',
    (method) => {
      const route = found(
        all.find((r) => r.path === '/mcp' && r.method === method),
        `the /mcp ${method} route`,
      );
      expect(route.authorizationType).toBe('CUSTOM');
      expect(route.authorizerId).toEqual({ Ref: authorizerLogicalId });
      expect(route.integrationType).toBe('AWS_PROXY');
      expect(route.functionLogicalId).toBe(logicalId(stack, server.mcpFunction));
    },
  );

  it('answers the /mcp preflight with a MOCK integration, without the authorizer, allowing the MCP request headers', () => {
    const route = found(
      routes(serverStack({ allowedOrigins: ['*'] }).template).find((r) => r.path === '/mcp' && r.method === 'OPTIONS'),
      'the /mcp preflight',
    );
    expect(route.authorizationType).toBe('NONE');
    expect(route.authorizerId).toBeUndefined();
    expect(route.integrationType).toBe('MOCK');
    const params = (
      route.properties.Integration as { IntegrationResponses: { ResponseParameters: Record<string, string> }[] }
    ).IntegrationResponses[0].ResponseParameters;
    expect(params['method.response.header.Access-Control-Allow-Origin']).toBe("'*'");
    expect(params['method.response.header.Access-Control-Allow-Methods']).toBe("'GET,POST,DELETE,OPTIONS'");
    const allowed = params['method.response.header.Access-Control-Allow-Headers'].replace(/'/g, '').split(',');
    expect(allowed).toEqual(
      expect.arrayContaining([
        'Authorization',
        'Content-Type',
        'Mcp-Protocol-Version',
        'Mcp-Session-Id',
        'Last-Event-ID',
        'Mcp-Method',
        'Mcp-Name',
      ]),
    );
  });

  it('refuses every /mcp preflight with a static 403 that names allowedOrigins when no browser origin is allowed (the default)', () => {
    const route = found(
      all.find((r) => r.path === '/mcp' && r.method === 'OPTIONS'),
      'the /mcp preflight',
    );
    expect(route.authorizationType).toBe('NONE');
    expect(route.integrationType).toBe('MOCK');
    const integration = route.properties.Integration as {
      RequestTemplates: Record<string, string>;
      IntegrationResponses: Record<string, unknown>[];
    };
    expect(integration.RequestTemplates).toEqual({ 'application/json': '{"statusCode": 403}' });
    expect(integration.IntegrationResponses).toEqual([
      {
        StatusCode: '403',
        ResponseTemplates: {
          'application/json':
            '{"error":"origin_not_allowed","error_description":"No browser origin may call this MCP server. Its deployer lists the origins that may in allowedOrigins."}',
        },
      },
    ]);
    expect(route.properties.MethodResponses).toEqual([{ StatusCode: '403' }]);
  });

  it.each(WELL_KNOWN_PATHS)(
    'sends every method on %s to the metadata function without any authorizer, so HEAD works and others get its 405',
    (wellKnown) => {
      const route = found(
        all.find((r) => r.path === wellKnown && r.method === 'ANY'),
        `the ${wellKnown} route`,
      );
      expect(route.authorizationType).toBe('NONE');
      expect(route.authorizerId).toBeUndefined();
      expect(route.integrationType).toBe('AWS_PROXY');
      expect(route.functionLogicalId).toBe(logicalId(stack, server.metadataFunction));
    },
  );

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
    serverStack({ authorizerCacheTtl: Duration.minutes(1) }).template.hasResourceProperties(
      'AWS::ApiGateway::Authorizer',
      { AuthorizerResultTtlInSeconds: 60 },
    );
    serverStack({ authorizerCacheTtl: Duration.seconds(0) }).template.hasResourceProperties(
      'AWS::ApiGateway::Authorizer',
      { AuthorizerResultTtlInSeconds: 0 },
    );
  });
});

describe('the Bearer validation expression', () => {
  const regex = new RegExp(BEARER_TOKEN_VALIDATION_REGEX);
  it.each([
    'Bearer aaa.bbb.ccc',
    'bearer aaa.bbb.ccc',
    'BEARER a-_1.b-_2.c-_3',
    'bEaReR  aaa.bbb.ccc',
    'Bearer aaa.bbb.',
  ])('accepts %j', (header) => {
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
    new AuthKitMcpServer(stack, 'McpServer', {
      authkitDomain: 'acme.authkit.app',
      customDomain: customDomainProps(stack),
      requiredScopes: ['mcp:read', 'mcp:write'],
      scopesSupported: ['mcp:read', 'mcp:write', 'openid'],
    });
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

  it.each([
    ['organizations are listed', { allowedOrganizations: ['org_01EHZNVPK3SFK441A1RGBFSHRT'] }],
    ['an organization is required', { requireOrganization: true }],
  ])(
    'answers ACCESS_DENIED without insufficient_scope when %s, since no step-up fixes another organization',
    (_case, organizations) => {
      const { template } = serverStack({
        publicBaseUrl: 'https://mcp.example.com',
        requiredScopes: ['mcp:tools'],
        ...organizations,
      });
      const props = gatewayResponse(template, 'ACCESS_DENIED');
      expect(props.StatusCode).toBe('403');
      expect((props.ResponseParameters as Record<string, string>)['gatewayresponse.header.WWW-Authenticate']).toBe(
        `'Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"'`,
      );
      expect(props.ResponseTemplates).toEqual({
        'application/json':
          '{"error":"access_denied","error_description":"The access token lacks the scopes this server requires: mcp:tools, or the caller does not belong to an organization this server serves."}',
      });
    },
  );

  describe('with stepUpChallenge', () => {
    const toolScopes = { server_config: ['mcp:admin'], report: ['reports:read', 'mcp:admin'] };
    const { template, stack, server } = serverStack({
      publicBaseUrl: 'https://mcp.example.com',
      requiredScopes: ['mcp:tools'],
      allowedOrigins: ['https://app.example.com'],
      stepUpChallenge: { toolScopes },
    });

    it('guards /mcp with a REQUEST authorizer on the Authorization header, without a result cache', () => {
      const authorizers = Object.values(template.findResources('AWS::ApiGateway::Authorizer'));
      expect(authorizers).toHaveLength(1);
      expect(authorizers[0].Properties).toMatchObject({
        Type: 'REQUEST',
        IdentitySource: 'method.request.header.Authorization',
        AuthorizerResultTtlInSeconds: 0,
      });
      expect(authorizers[0].Properties.IdentityValidationExpression).toBeUndefined();
    });

    it('tells the authorizer the tool scopes, as the runtime reads them', () => {
      expect(functionEnvironment(template, logicalId(stack, server.authorizerFunction))).toMatchObject({
        STEP_UP_TOOL_SCOPES: JSON.stringify(toolScopes),
      });
    });

    it('answers ACCESS_DENIED with a static insufficient_scope challenge naming every scope, the lacking ones in the body, CORS kept', () => {
      const props = gatewayResponse(template, 'ACCESS_DENIED');
      const headers = props.ResponseParameters as Record<string, string>;
      expect(props.StatusCode).toBe('403');
      expect(headers['gatewayresponse.header.WWW-Authenticate']).toBe(
        `'Bearer error="insufficient_scope", scope="mcp:tools mcp:admin reports:read", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"'`,
      );
      expect(headers['gatewayresponse.header.Access-Control-Allow-Origin']).toBe("'https://app.example.com'");
      expect(JSON.parse(String((props.ResponseTemplates as Record<string, string>)['application/json']))).toEqual({
        error: 'insufficient_scope',
        error_description: expect.stringContaining('required_scope'),
        required_scope: '$context.authorizer.requiredScope',
      });
    });

    it.each([
      ['allowedOrganizations', { allowedOrganizations: ['org_01EHZNVPK3SFK441A1RGBFSHRT'] }],
      ['requireOrganization', { requireOrganization: true }],
    ])('is refused beside %s: an organization refusal must not invite a step-up', (_case, organizations) => {
      expect(() => serverStack({ stepUpChallenge: { toolScopes }, ...organizations })).toThrow(
        /"stepUpChallenge" cannot be combined with allowedOrganizations or requireOrganization/,
      );
    });

    it('refuses a tool scope that a static header cannot carry', () => {
      expect(() => serverStack({ stepUpChallenge: { toolScopes: { t: ["it's"] } } })).toThrow(/single quotes/);
      expect(() => serverStack({ stepUpChallenge: { toolScopes: { t: ['a b'] } } })).toThrow(
        /STEP_UP_TOOL_SCOPES|toolScopes/,
      );
    });
  });

  it('words the organization-only ACCESS_DENIED body without scopes when none are required', () => {
    const { template } = serverStack({ requireOrganization: true });
    expect(gatewayResponse(template, 'ACCESS_DENIED').ResponseTemplates).toEqual({
      'application/json':
        '{"error":"access_denied","error_description":"The access token is refused: the caller does not belong to an organization this server serves."}',
    });
  });

  it('passes the organizations to the authorizer', () => {
    const { template, stack, server } = serverStack({
      allowedOrganizations: ['org_01EHZNVPK3SFK441A1RGBFSHRT', 'org_01HGLOBEX0000000000000000A'],
    });
    expect(functionEnvironment(template, logicalId(stack, server.authorizerFunction))).toMatchObject({
      ALLOWED_ORGANIZATIONS: 'org_01EHZNVPK3SFK441A1RGBFSHRT,org_01HGLOBEX0000000000000000A',
      REQUIRE_ORGANIZATION: 'true',
    });
  });

  it('builds the challenge for the default endpoint from the API id, region, URL suffix and the literal stage name', () => {
    const { template } = serverStack({ stageName: 'live' });
    const apiId = logicalIdOf(template, 'AWS::ApiGateway::RestApi');
    const header = (gatewayResponse(template, 'UNAUTHORIZED').ResponseParameters as Record<string, unknown>)[
      'gatewayresponse.header.WWW-Authenticate'
    ];
    const rendered = renderCfnString(
      header,
      (ref) =>
        ({ [apiId]: 'abc123', 'AWS::Region': 'eu-west-1', 'AWS::URLSuffix': 'amazonaws.com' })[ref] ?? `{Ref:${ref}}`,
    );
    expect(rendered).toBe(
      `'Bearer resource_metadata="https://abc123.execute-api.eu-west-1.amazonaws.com/live/.well-known/oauth-protected-resource/mcp"'`,
    );
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
    const props = gatewayResponse(
      serverStack({ publicBaseUrl: 'https://mcp.example.com' }).template,
      'MISSING_AUTHENTICATION_TOKEN',
    );
    expect(props.StatusCode).toBe('404');
    expect(JSON.parse((props.ResponseTemplates as Record<string, string>)['application/json'])).toEqual({
      error: 'not_found',
      error_description: 'No such route. The MCP endpoint is https://mcp.example.com/mcp',
    });
  });

  it.each([
    ['DEFAULT_4XX', 'request_rejected', 'API Gateway rejected the request.'],
    ['DEFAULT_5XX', 'server_error', 'The server could not answer the request. Retry later.'],
  ])('gives %s a static JSON body and keeps its status code', (type, error, description) => {
    const props = gatewayResponse(serverStack().template, type);
    expect(props.StatusCode).toBeUndefined();
    expect(JSON.parse((props.ResponseTemplates as Record<string, string>)['application/json'])).toEqual({
      error,
      error_description: description,
    });
  });

  it.each(['INVALID_SIGNATURE', 'EXPIRED_TOKEN'])(
    'answers %s (an unknown route asked with an Authorization header) with the same static 404 as an unknown route',
    (type) => {
      const props = gatewayResponse(serverStack({ publicBaseUrl: 'https://mcp.example.com' }).template, type);
      expect(props.StatusCode).toBe('404');
      expect(JSON.parse((props.ResponseTemplates as Record<string, string>)['application/json'])).toEqual({
        error: 'not_found',
        error_description: 'No such route. The MCP endpoint is https://mcp.example.com/mcp',
      });
    },
  );

  it('answers THROTTLED with 429 and a static JSON body', () => {
    const props = gatewayResponse(serverStack().template, 'THROTTLED');
    expect(props.StatusCode).toBe('429');
    expect(JSON.parse((props.ResponseTemplates as Record<string, string>)['application/json'])).toEqual({
      error: 'too_many_requests',
      error_description: 'The stage is receiving more requests than it accepts. Retry later.',
    });
  });

  it("never puts API Gateway's own error message in a gateway response, and logs the response type instead", () => {
    const { template } = serverStack({
      publicBaseUrl: 'https://mcp.example.com',
      allowedOrigins: ['https://a.example.com', 'https://b.example.com'],
      requiredScopes: ['mcp:tools'],
    });
    const responses = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse'));
    expect(responses).toHaveLength(10);
    for (const response of responses) {
      const text = JSON.stringify(response.Properties);
      expect(text).not.toMatch(/\$context\.error\.message|messageString/);
      // Every body is plain JSON: no variable at all is substituted into it.
      for (const body of Object.values(response.Properties.ResponseTemplates as Record<string, string>))
        expect(body).not.toContain('$');
    }
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0].Properties;
    const format = JSON.parse(stage.AccessLogSetting.Format as string) as Record<string, string>;
    expect(format.errorType).toBe('$context.error.responseType');
    expect(Object.values(format)).not.toContain('$context.error.message');
    expect(Object.values(format)).not.toContain('$context.error.messageString');
  });

  const GATEWAY_RESPONSE_TYPES = [
    'ACCESS_DENIED',
    'AUTHORIZER_CONFIGURATION_ERROR',
    'AUTHORIZER_FAILURE',
    'DEFAULT_4XX',
    'DEFAULT_5XX',
    'EXPIRED_TOKEN',
    'INVALID_SIGNATURE',
    'MISSING_AUTHENTICATION_TOKEN',
    'THROTTLED',
    'UNAUTHORIZED',
  ];

  it('puts the CORS headers on every gateway response', () => {
    const { template } = serverStack({ allowedOrigins: ['*'] });
    const responses = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse'));
    expect(responses.map((r) => r.Properties.ResponseType).sort()).toEqual(GATEWAY_RESPONSE_TYPES);
    for (const response of responses) {
      const headers = response.Properties.ResponseParameters as Record<string, string>;
      expect(headers['gatewayresponse.header.Access-Control-Allow-Origin']).toBe("'*'");
      expect(headers['gatewayresponse.header.Access-Control-Expose-Headers']).toBe(EXPOSE);
      expect(headers['gatewayresponse.header.Vary']).toBeUndefined();
    }
  });

  it('puts no CORS header on any gateway response when no browser origin is allowed (the default)', () => {
    const responses = Object.values(serverStack().template.findResources('AWS::ApiGateway::GatewayResponse'));
    expect(responses.map((r) => r.Properties.ResponseType).sort()).toEqual(GATEWAY_RESPONSE_TYPES);
    for (const response of responses) {
      const names = Object.keys((response.Properties.ResponseParameters ?? {}) as Record<string, string>);
      expect(names.filter((name) => /Access-Control|Vary/.test(name))).toEqual([]);
    }
  });

  it('never echoes the Origin: names a single allowed origin statically (with Vary), and answers * when several are allowed', () => {
    const several = serverStack({ allowedOrigins: ['https://a.example.com', 'https://b.example.com'] }).template;
    for (const response of Object.values(several.findResources('AWS::ApiGateway::GatewayResponse'))) {
      const headers = response.Properties.ResponseParameters as Record<string, string>;
      expect(headers['gatewayresponse.header.Access-Control-Allow-Origin']).toBe("'*'");
      expect(headers['gatewayresponse.header.Vary']).toBeUndefined();
      expect(JSON.stringify(headers)).not.toContain('method.request.header');
    }
    const one = serverStack({ allowedOrigins: ['https://a.example.com'] }).template;
    const h2 = gatewayResponse(one, 'UNAUTHORIZED').ResponseParameters as Record<string, string>;
    expect(h2['gatewayresponse.header.Access-Control-Allow-Origin']).toBe("'https://a.example.com'");
    expect(h2['gatewayresponse.header.Vary']).toBe("'Origin'");
  });
});

describe('AuthKitMcpServer canonical URL (3)', () => {
  it('uses the custom domain when one is set, and maps it at the root with an alias record', () => {
    const app = testApp();
    const stack = new Stack(app, 'S');
    const zone = route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', {
      hostedZoneId: 'Z123',
      zoneName: 'example.com',
    });
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
    template.hasResourceProperties(
      'AWS::ApiGateway::BasePathMapping',
      Match.not(Match.objectLike({ BasePath: Match.anyValue() })),
    );
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'mcp.example.com.',
      Type: 'A',
      HostedZoneId: 'Z123',
    });
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
    expect(server.protectedResourceMetadataUrl).toBe(
      'https://edge.example.com/.well-known/oauth-protected-resource/mcp',
    );
  });

  it('builds the default endpoint without referring to the Stage or the Deployment', () => {
    const { template } = serverStack({ stageName: 'v1' });
    const apiId = logicalIdOf(template, 'AWS::ApiGateway::RestApi');
    const resolved = renderCfnString(template.toJSON().Outputs.McpUrl.Value, (ref) =>
      ref === apiId ? 'API' : `{Ref:${ref}}`,
    );
    expect(resolved).toBe('https://API.execute-api.{Ref:AWS::Region}.{Ref:AWS::URLSuffix}/v1/mcp');
  });

  it('gives the three functions the same PUBLIC_BASE_URL, and the two that check the issuer the same issuer', () => {
    const { stack, server, template } = serverStack({
      publicBaseUrl: 'https://mcp.example.com',
      authkitDomain: 'https://Acme.AuthKit.app/',
    });
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

  it('runs every function on Node.js 24, arm64, with source maps enabled', () => {
    for (const fn of fns()) {
      const props = template.toJSON().Resources[logicalId(stack, fn)].Properties;
      expect(props.Runtime).toBe('nodejs24.x');
      expect(props.Architectures).toEqual(['arm64']);
      expect(props.Handler).toBe('index.handler');
      expect(props.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
    }
  });

  it('gives every function its own log group with the configured retention', () => {
    for (const fn of fns()) {
      const props = template.toJSON().Resources[logicalId(stack, fn)].Properties;
      const logGroupId = props.LoggingConfig.LogGroup.Ref as string;
      expect(template.toJSON().Resources[logGroupId]).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        Properties: { RetentionInDays: 14 },
      });
    }
  });

  it('gives every function a role that may only write to its own log group, and the MCP function read the requestState secret, use the state table and invoke itself', () => {
    const resources = template.toJSON().Resources;
    const secretId = logicalIdOf(template, 'AWS::SecretsManager::Secret');
    for (const fn of fns()) {
      const props = resources[logicalId(stack, fn)].Properties;
      const roleId = props.Role['Fn::GetAtt'][0] as string;
      expect(resources[roleId].Properties.ManagedPolicyArns).toBeUndefined();
      const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
        (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId),
      );
      const logs = {
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [props.LoggingConfig.LogGroup.Ref, 'Arn'] },
      };
      const secret = { Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: { Ref: secretId } };
      const table = {
        Action: [
          'dynamodb:GetItem',
          'dynamodb:Query',
          'dynamodb:PutItem',
          'dynamodb:DeleteItem',
          'dynamodb:UpdateItem',
        ],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [logicalIdOf(template, 'AWS::DynamoDB::Table'), 'Arn'] },
      };
      // The MCP function also invokes itself (a task's worker), from a policy of its own.
      const invoke = {
        Action: 'lambda:InvokeFunction',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [logicalId(stack, fn), 'Arn'] },
      };
      expect(policies.map((p) => p.Properties.PolicyDocument.Statement)).toEqual(
        fn === server.mcpFunction ? [[logs, secret, table], [invoke]] : [[logs]],
      );
    }
  });

  it('generates the requestState key in Secrets Manager at deploy time, never in the template, and lets only the MCP function role read it', () => {
    const secretId = logicalIdOf(template, 'AWS::SecretsManager::Secret');
    const secret = template.toJSON().Resources[secretId].Properties;
    expect(secret.GenerateSecretString).toEqual({ PasswordLength: 64, ExcludePunctuation: true });
    expect(secret.SecretString).toBeUndefined();
    expect(server.requestStateSecret.secretArn).toBeDefined();
    // Every policy of the stack that names the secret belongs to the MCP function's role alone.
    const mcpRole = template.toJSON().Resources[logicalId(stack, server.mcpFunction)].Properties.Role['Fn::GetAtt'][0];
    const naming = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p).includes(`"${secretId}"`),
    );
    expect(naming.map((p) => p.Properties.Roles)).toEqual([[{ Ref: mcpRole }]]);
    expect(Object.keys(template.findResources('AWS::SecretsManager::ResourcePolicy'))).toEqual([]);
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
      REQUIRE_ORGANIZATION: 'false',
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
      RESPONSE_TRANSFER_MODE: 'STREAM',
      REQUEST_STATE_SECRET_ARN: { Ref: logicalIdOf(template, 'AWS::SecretsManager::Secret') },
      FUNCTION_TIMEOUT_SECONDS: '299',
      LISTEN_MAX_SECONDS: '240',
      STATE_TABLE_NAME: { Ref: logicalIdOf(template, 'AWS::DynamoDB::Table') },
      MAX_CONCURRENT_REQUESTS_PER_CALLER: '10',
      PERMISSIONS_CACHE_TTL_MS: '60000',
    });
  });

  it('sets the buffered contract environment on the MCP function, without a listen hold', () => {
    const buffered = serverStack({ responseTransferMode: 'buffered' });
    const env = functionEnvironment(buffered.template, logicalId(buffered.stack, buffered.server.mcpFunction));
    expect(env.RESPONSE_TRANSFER_MODE).toBe('BUFFERED');
    expect(env).not.toHaveProperty('LISTEN_MAX_SECONDS');
    expect(env.REQUEST_STATE_SECRET_ARN).toEqual({
      Ref: logicalIdOf(buffered.template, 'AWS::SecretsManager::Secret'),
    });
  });

  it('leaves optional authorizer settings unset when they are empty, and allows no browser origin by default', () => {
    const plain = serverStack();
    const env = functionEnvironment(plain.template, logicalId(plain.stack, plain.server.authorizerFunction));
    expect(env).not.toHaveProperty('ACCEPTED_AUDIENCES');
    expect(env).not.toHaveProperty('REQUIRED_SCOPES');
    expect(env).not.toHaveProperty('ALLOWED_ORGANIZATIONS');
    expect(functionEnvironment(plain.template, logicalId(plain.stack, plain.server.mcpFunction)).ALLOWED_ORIGINS).toBe(
      '',
    );
  });

  it('permits API Gateway to invoke the MCP function only for the /mcp methods of the deployed stage', () => {
    const mcpId = logicalId(stack, server.mcpFunction);
    const apiId = logicalIdOf(template, 'AWS::ApiGateway::RestApi');
    const stageId = logicalIdOf(template, 'AWS::ApiGateway::Stage');
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).filter(
      (p) => p.Properties.FunctionName['Fn::GetAtt']?.[0] === mcpId,
    );
    const names: Record<string, string> = {
      [apiId]: 'API',
      [stageId]: 'STAGE',
      'AWS::Partition': 'aws',
      'AWS::Region': 'REGION',
      'AWS::AccountId': 'ACCOUNT',
    };
    const sources = permissions.map((p) =>
      renderCfnString(p.Properties.SourceArn, (ref) => names[ref] ?? `{Ref:${ref}}`),
    );
    expect(sources.sort()).toEqual(
      ['DELETE', 'GET', 'POST'].map((m) => `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/${m}/mcp`),
    );
  });
});

describe('AuthKitMcpServer stage (5) and outputs (6)', () => {
  it('writes JSON access logs that carry no request headers, with throttling, ERROR execution logs and metrics', () => {
    const { template } = serverStack({ throttlingRateLimit: 25, throttlingBurstLimit: 50 });
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0].Properties;
    const format = JSON.parse(stage.AccessLogSetting.Format as string) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      status: '$context.status',
      authorizerError: '$context.authorizer.error',
    });
    // `timeToAllHeaders` is a duration (milliseconds until the integration's headers), not a header's value.
    const written = JSON.stringify(format).replaceAll('timeToAllHeaders', '');
    expect(written).not.toMatch(/header|authorization"|\$input/i);
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
    expect(
      Object.values(template.findResources('AWS::Lambda::Function')).every(
        (f) => f.Properties.TracingConfig?.Mode === 'Active',
      ),
    ).toBe(true);
  });

  it('outputs the MCP URL, the metadata URL and the Resource Indicator, and no misleading execute-api endpoint', () => {
    const { template } = serverStack({ publicBaseUrl: 'https://mcp.example.com' });
    expect(Object.keys(template.toJSON().Outputs).sort()).toEqual([
      'McpUrl',
      'ProtectedResourceMetadataUrl',
      'ResourceIndicator',
    ]);
    expect(template.toJSON().Outputs).toMatchObject({
      McpUrl: { Value: 'https://mcp.example.com/mcp' },
      ProtectedResourceMetadataUrl: { Value: 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp' },
      ResourceIndicator: { Value: 'https://mcp.example.com/mcp' },
    });
  });

  it('associates a WAF web ACL with the stage when given', () => {
    const { template } = serverStack({ webAclArn: 'arn:aws:wafv2:us-east-1:123456789012:regional/webacl/mcp/1' });
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      WebACLArn: 'arn:aws:wafv2:us-east-1:123456789012:regional/webacl/mcp/1',
    });
  });
});

describe('AuthKitMcpServer with your own MCP function', () => {
  it('wires a lambda.Function from McpHandler.fromFunction and gives it the runtime environment', () => {
    const app = testApp();
    const stack = new Stack(app, 'S');
    const own = new lambda.Function(stack, 'Own', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler=async()=>({})'),
    });
    const server = new AuthKitMcpServer(stack, 'McpServer', {
      authkitDomain: 'acme.authkit.app',
      mcpHandler: McpHandler.fromFunction(own),
      publicBaseUrl: 'https://mcp.example.com',
    });
    expect(server.mcpFunction).toBe(own);
    const template = Template.fromStack(stack);
    const post = found(
      routes(template).find((r) => r.path === '/mcp' && r.method === 'POST'),
      'the /mcp POST route',
    );
    expect(post.functionLogicalId).toBe(logicalId(stack, own));
    expect(functionEnvironment(template, logicalId(stack, own))).toMatchObject({
      PUBLIC_BASE_URL: 'https://mcp.example.com',
      ALLOWED_ORIGINS: '',
      RESPONSE_TRANSFER_MODE: 'STREAM',
      REQUEST_STATE_SECRET_ARN: { Ref: logicalIdOf(template, 'AWS::SecretsManager::Secret') },
    });
    // Your function's concurrency is yours to set; its role still gets read access to the secret.
    expect(template.toJSON().Resources[logicalId(stack, own)].Properties.ReservedConcurrentExecutions).toBeUndefined();
    const ownRole = template.toJSON().Resources[logicalId(stack, own)].Properties.Role['Fn::GetAtt'][0];
    const reads = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.PolicyDocument).includes('secretsmanager:GetSecretValue'),
    );
    expect(reads.map((p) => p.Properties.Roles)).toEqual([[{ Ref: ownRole }]]);
  });

  it('bundles an entry file from McpHandler.fromEntry with the construct runtime settings and extra environment', () => {
    const entry = path.join(__dirname, '..', '..', 'lambda', 'mcp', 'index.ts');
    const { stack, server, template } = serverStack({
      mcpHandler: McpHandler.fromEntry(entry, { environment: { TOOLS_TABLE: 'tools' } }),
    });
    const props = template.toJSON().Resources[logicalId(stack, server.mcpFunction)].Properties;
    expect(props.Runtime).toBe('nodejs24.x');
    expect(props.Environment.Variables).toMatchObject({ TOOLS_TABLE: 'tools', MAX_BODY_BYTES: '1048576' });
  });

  it.each([
    'PUBLIC_BASE_URL',
    'RESPONSE_TRANSFER_MODE',
    'REQUEST_STATE_SECRET_ARN',
    'LISTEN_MAX_SECONDS',
    'FUNCTION_TIMEOUT_SECONDS',
  ])('fails when the entry environment tries to replace %s, which the construct sets', (name) => {
    const entry = path.join(__dirname, '..', '..', 'lambda', 'mcp', 'index.ts');
    expect(() => serverStack({ mcpHandler: McpHandler.fromEntry(entry, { environment: { [name]: 'x' } }) })).toThrow(
      new RegExp(`"mcpHandler" sets ${name}`),
    );
  });

  it('fails when the entry file does not exist', () => {
    expect(() => McpHandler.fromEntry('no/such/handler.ts')).toThrow(/cannot find "no\/such\/handler.ts"/);
  });
});

describe('AuthKitMcpServer response streaming (issue 11)', () => {
  const mcpMethods = (template: Template) =>
    routes(template).filter((r) => r.path === '/mcp' && r.method !== 'OPTIONS');
  it('streams every /mcp method by default, through the response-streaming URI, with a 5-minute integration timeout', () => {
    const { stack, server, template } = serverStack();
    const fnId = logicalId(stack, server.mcpFunction);
    const methods = mcpMethods(template);
    expect(methods.map((m) => m.method).sort()).toEqual(['DELETE', 'GET', 'POST']);
    for (const route of methods) {
      const integration = route.properties.Integration as Record<string, unknown>;
      expect(integration).toMatchObject({
        Type: 'AWS_PROXY',
        IntegrationHttpMethod: 'POST',
        ResponseTransferMode: 'STREAM',
        TimeoutInMillis: 300_000,
      });
      expect(integration.Uri).toEqual({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':apigateway:',
            { Ref: 'AWS::Region' },
            ':lambda:path/2021-11-15/functions/',
            { 'Fn::GetAtt': [fnId, 'Arn'] },
            '/response-streaming-invocations',
          ],
        ],
      });
    }
    // The function's own deadline falls one second before the gateway's.
    expect(template.toJSON().Resources[fnId].Properties.Timeout).toBe(299);
  });

  it('keeps the buffered Invoke URI and a 29-second integration timeout in buffered mode', () => {
    const { stack, server, template } = serverStack({ responseTransferMode: 'buffered' });
    const fnId = logicalId(stack, server.mcpFunction);
    for (const route of mcpMethods(template)) {
      const integration = route.properties.Integration as Record<string, unknown>;
      expect(integration).toMatchObject({
        Type: 'AWS_PROXY',
        ResponseTransferMode: 'BUFFERED',
        TimeoutInMillis: 29_000,
      });
      expect(integration.Uri).toEqual({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':apigateway:',
            { Ref: 'AWS::Region' },
            ':lambda:path/2015-03-31/functions/',
            { 'Fn::GetAtt': [fnId, 'Arn'] },
            '/invocations',
          ],
        ],
      });
    }
    expect(template.toJSON().Resources[fnId].Properties.Timeout).toBe(28);
  });

  it.each<[string, Partial<AuthKitMcpServerProps>, number, number, string | undefined]>([
    ['streaming, 60 s', { mcpTimeout: Duration.seconds(60) }, 60_000, 59, '59'],
    [
      'streaming, 10 min, listen 2 min',
      { mcpTimeout: Duration.minutes(10), subscriptionMaxDuration: Duration.minutes(2) },
      600_000,
      599,
      '120',
    ],
    ['buffered, 10 s', { responseTransferMode: 'buffered', mcpTimeout: Duration.seconds(10) }, 10_000, 9, undefined],
  ])(
    'sets TimeoutInMillis to mcpTimeout and the function one second shorter (%s)',
    (_case, props, timeoutMs, functionSeconds, listen) => {
      const { stack, server, template } = serverStack(props);
      for (const route of mcpMethods(template))
        expect((route.properties.Integration as Record<string, unknown>).TimeoutInMillis).toBe(timeoutMs);
      const fn = template.toJSON().Resources[logicalId(stack, server.mcpFunction)].Properties;
      expect(fn.Timeout).toBe(functionSeconds);
      expect(fn.Environment.Variables.LISTEN_MAX_SECONDS).toBe(listen);
    },
  );

  it('leaves the authorizer and metadata integrations buffered', () => {
    const { template } = serverStack();
    for (const route of routes(template).filter((r) => r.path.startsWith('/.well-known'))) {
      expect((route.properties.Integration as Record<string, unknown>).ResponseTransferMode).toBeUndefined();
    }
    expect(JSON.stringify(template.findResources('AWS::ApiGateway::Authorizer'))).toContain('/2015-03-31/functions/');
  });
});

describe('AuthKitMcpServer held streams and concurrency (issue 12)', () => {
  it('reserves no concurrency by default, so a first deploy works on an account whose concurrency quota is 10', () => {
    const { stack, server, template } = serverStack();
    const resources = template.toJSON().Resources;
    for (const fn of [server.mcpFunction, server.authorizerFunction, server.metadataFunction]) {
      expect(resources[logicalId(stack, fn)].Properties.ReservedConcurrentExecutions).toBeUndefined();
    }
  });

  it('takes the reservation from props, for the MCP function only, and reserves nothing when it is false', () => {
    const fifty = serverStack({ mcpReservedConcurrency: 50 });
    expect(
      fifty.template.toJSON().Resources[logicalId(fifty.stack, fifty.server.mcpFunction)].Properties
        .ReservedConcurrentExecutions,
    ).toBe(50);
    for (const fn of [fifty.server.authorizerFunction, fifty.server.metadataFunction]) {
      expect(
        fifty.template.toJSON().Resources[logicalId(fifty.stack, fn)].Properties.ReservedConcurrentExecutions,
      ).toBeUndefined();
    }
    const none = serverStack({ mcpReservedConcurrency: false });
    expect(
      none.template.toJSON().Resources[logicalId(none.stack, none.server.mcpFunction)].Properties
        .ReservedConcurrentExecutions,
    ).toBeUndefined();
  });

  it('uses your own requestState secret instead of generating one, and grants GetSecretValue on it alone', () => {
    const app = testApp();
    const stack = new Stack(app, 'S');
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:mcp-request-state-AbCdEf';
    const own = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Own', arn);
    const server = new AuthKitMcpServer(stack, 'McpServer', {
      authkitDomain: 'acme.authkit.app',
      requestStateSecret: own,
    });
    const template = Template.fromStack(stack);
    expect(server.requestStateSecret).toBe(own);
    expect(Object.keys(template.findResources('AWS::SecretsManager::Secret'))).toEqual([]);
    const fn = template.toJSON().Resources[logicalId(stack, server.mcpFunction)].Properties;
    expect(fn.Environment.Variables.REQUEST_STATE_SECRET_ARN).toBe(arn);
    const reads = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[])
        .filter((st) => JSON.stringify(st.Action).includes('secretsmanager'))
        .map((st) => ({ roles: p.Properties.Roles, st })),
    );
    expect(reads).toEqual([
      {
        roles: [{ Ref: fn.Role['Fn::GetAtt'][0] }],
        st: { Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: arn },
      },
    ]);
  });

  it('hands the MCP function alone the WorkOS API key secret, its cache TTL and the API origin', () => {
    const app = testApp();
    const stack = new Stack(app, 'S');
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:workos-api-key-AbCdEf';
    const key = secretsmanager.Secret.fromSecretCompleteArn(stack, 'WorkOSKey', arn);
    const server = new AuthKitMcpServer(stack, 'McpServer', {
      authkitDomain: 'acme.authkit.app',
      workosApiKeySecret: key,
      permissionsCacheTtl: Duration.seconds(5),
      workosApiBaseUrl: 'https://api.workos.example',
    });
    const template = Template.fromStack(stack);
    const fn = template.toJSON().Resources[logicalId(stack, server.mcpFunction)].Properties;
    expect(fn.Environment.Variables).toMatchObject({
      WORKOS_API_KEY_SECRET_ARN: arn,
      PERMISSIONS_CACHE_TTL_MS: '5000',
      WORKOS_API_BASE_URL: 'https://api.workos.example',
    });
    for (const other of [server.authorizerFunction, server.metadataFunction]) {
      expect(JSON.stringify(template.toJSON().Resources[logicalId(stack, other)].Properties)).not.toContain(arn);
    }
    const reads = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[])
        .filter((st) => st.Resource === arn)
        .map((st) => ({ roles: p.Properties.Roles, st })),
    );
    expect(reads).toEqual([
      {
        roles: [{ Ref: fn.Role['Fn::GetAtt'][0] }],
        st: { Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: arn },
      },
    ]);
  });

  it.each([
    ['permissionsCacheTtl', { permissionsCacheTtl: Duration.hours(2) }, /permissionsCacheTtl/],
    ['workosApiBaseUrl', { workosApiBaseUrl: 'http://api.workos.com' }, /workosApiBaseUrl/],
  ])('refuses a %s out of its rule at synth', (_prop, props, message) => {
    const stack = new Stack(testApp(), 'S');
    expect(() => new AuthKitMcpServer(stack, 'McpServer', { authkitDomain: 'acme.authkit.app', ...props })).toThrow(
      message,
    );
  });

  it('grants a secret imported by name on its ARN with the six-character suffix Secrets Manager appends', () => {
    const app = testApp();
    const stack = new Stack(app, 'S');
    const own = secretsmanager.Secret.fromSecretNameV2(stack, 'Own', 'mcp-request-state');
    new AuthKitMcpServer(stack, 'McpServer', { authkitDomain: 'acme.authkit.app', requestStateSecret: own });
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[],
    );
    const read = found(
      statements.find((st) => st.Action === 'secretsmanager:GetSecretValue'),
      'the GetSecretValue statement',
    );
    expect(
      renderCfnString(
        read.Resource,
        (ref) => ({ 'AWS::Partition': 'aws', 'AWS::Region': 'R', 'AWS::AccountId': 'A' })[ref] ?? `{Ref:${ref}}`,
      ),
    ).toBe('arn:aws:secretsmanager:R:A:secret:mcp-request-state-??????');
  });
});

describe('AuthKitMcpServer per-client-IP rate limit (issue 17)', () => {
  it('creates a regional web ACL with one rate-based rule per client IP that answers 429, and associates it with the stage', () => {
    const { template } = serverStack({
      rateLimitPerIp: 600,
      rateLimitWindow: Duration.minutes(2),
      allowedOrigins: ['https://app.example.com'],
    });
    const aclId = logicalIdOf(template, 'AWS::WAFv2::WebACL');
    expect(template.toJSON().Resources[aclId].Properties).toEqual({
      Scope: 'REGIONAL',
      Description: 'Per-client-IP rate limit of the MCP server',
      DefaultAction: { Allow: {} },
      CustomResponseBodies: {
        TooManyRequests: {
          ContentType: 'APPLICATION_JSON',
          Content:
            '{"error":"too_many_requests","error_description":"More than 600 requests from this address in 120 seconds. Retry later."}',
        },
      },
      Rules: [
        {
          Name: 'RateLimitPerIp',
          Priority: 0,
          Action: {
            Block: {
              CustomResponse: {
                ResponseCode: 429,
                CustomResponseBodyKey: 'TooManyRequests',
                ResponseHeaders: [
                  { Name: 'Retry-After', Value: '120' },
                  { Name: 'Access-Control-Allow-Origin', Value: 'https://app.example.com' },
                  { Name: 'Vary', Value: 'Origin' },
                  {
                    Name: 'Access-Control-Expose-Headers',
                    Value: 'WWW-Authenticate, Mcp-Session-Id, Mcp-Protocol-Version',
                  },
                ],
              },
            },
          },
          Statement: { RateBasedStatement: { Limit: 600, AggregateKeyType: 'IP', EvaluationWindowSec: 120 } },
          VisibilityConfig: {
            CloudWatchMetricsEnabled: true,
            MetricName: 'RateLimitPerIp',
            SampledRequestsEnabled: false,
          },
        },
      ],
      VisibilityConfig: {
        CloudWatchMetricsEnabled: true,
        MetricName: 'McpServerWebAcl',
        SampledRequestsEnabled: false,
      },
    });
    const association = Object.values(template.findResources('AWS::WAFv2::WebACLAssociation'));
    expect(association).toHaveLength(1);
    expect(association[0].Properties.WebACLArn).toEqual({ 'Fn::GetAtt': [aclId, 'Arn'] });
    const stageId = logicalIdOf(template, 'AWS::ApiGateway::Stage');
    expect(JSON.stringify(association[0].Properties.ResourceArn)).toContain(`{"Ref":"${stageId}"}`);
  });

  it('counts over 5 minutes by default, and creates no web ACL without rateLimitPerIp', () => {
    const limited = serverStack({ rateLimitPerIp: 100 }).template;
    limited.hasResourceProperties('AWS::WAFv2::WebACL', {
      Rules: [
        Match.objectLike({
          Statement: { RateBasedStatement: { Limit: 100, AggregateKeyType: 'IP', EvaluationWindowSec: 300 } },
        }),
      ],
    });
    const plain = serverStack().template;
    expect(Object.keys(plain.findResources('AWS::WAFv2::WebACL'))).toEqual([]);
    expect(Object.keys(plain.findResources('AWS::WAFv2::WebACLAssociation'))).toEqual([]);
  });
});

describe('AuthKitMcpServer execute-api endpoint behind CloudFront (issue 17)', () => {
  it('disables the execute-api endpoint behind CloudFront (publicBaseUrl) when the custom domain is the origin, keeping the public URL', () => {
    const app = testApp();
    const stack = new Stack(app, 'S');
    const server = new AuthKitMcpServer(stack, 'McpServer', {
      authkitDomain: 'acme.authkit.app',
      customDomain: customDomainProps(stack),
      publicBaseUrl: 'https://mcp.example.org',
      disableExecuteApiEndpoint: true,
    });
    expect(server.resourceUrl).toBe('https://mcp.example.org/mcp');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { DisableExecuteApiEndpoint: true });
    template.hasResourceProperties('AWS::ApiGateway::DomainName', { DomainName: 'mcp.example.com' });
  });

  it('fails behind CloudFront without a custom domain, saying CloudFront needs it as its origin', () => {
    expect(() => serverStack({ publicBaseUrl: 'https://mcp.example.org', disableExecuteApiEndpoint: true })).toThrow(
      /"disableExecuteApiEndpoint" is true without a customDomain.*CloudFront needs the custom domain as its origin/,
    );
  });
});
