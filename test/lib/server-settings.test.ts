import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AuthKitMcpServer, type AuthKitMcpServerProps } from '../../lib/authkit-mcp-server';
import { DEFAULT_SCOPES_SUPPORTED, resolveServerSettings } from '../../lib/server-settings';
import { FUNCTION_TIMEOUT_SECONDS } from '../../lambda/shared/settings/mcp';
import { testApp } from './fixtures';

const base: AuthKitMcpServerProps = { authkitDomain: 'acme.authkit.app' };

describe('resolveServerSettings defaults', () => {
  it('applies the documented defaults', () => {
    const settings = resolveServerSettings(base);
    expect(settings).toMatchObject({
      issuer: 'https://acme.authkit.app',
      jwksUrl: 'https://acme.authkit.app/oauth2/jwks',
      requiredScopes: [],
      scopesSupported: DEFAULT_SCOPES_SUPPORTED,
      acceptedAudiences: [],
      allowMultipleAudiences: false,
      allowedOrganizations: [],
      requireOrganization: false,
      tokenAlgorithms: ['RS256'],
      clockToleranceSeconds: 30,
      jwksTimeoutMs: 2000,
      jwksCooldownMs: 30000,
      resourceName: 'MCP server',
      asMetadataTtlSeconds: 3600,
      disableExecuteApiEndpoint: false,
      stageName: 'prod',
      throttlingRateLimit: 100,
      throttlingBurstLimit: 200,
      logRetention: logs.RetentionDays.ONE_MONTH,
      allowedOrigins: [],
      maxBodyBytes: 1048576,
      responseTransferMode: 'stream',
      maxConcurrentRequestsPerCaller: 10,
      listenMaxSeconds: 240,
      rateLimitWindowSeconds: 300,
      tracing: false,
      monitoring: true,
      alarmActions: [],
      logLevel: 'INFO',
      apiGatewayCloudWatchRole: true,
    });
    expect(settings.authorizerCacheTtl.toSeconds()).toBe(300);
    expect(settings.mcpTimeout.toSeconds()).toBe(300);
    expect(settings.mcpFunctionTimeout.toSeconds()).toBe(FUNCTION_TIMEOUT_SECONDS.fallback);
    expect(settings.rateLimitPerIp).toBeUndefined();
  });

  it('defaults to a 29-second integration timeout when buffered, without a listen hold', () => {
    const settings = resolveServerSettings({ ...base, responseTransferMode: 'buffered' });
    expect(settings.mcpTimeout.toSeconds()).toBe(29);
    expect(settings.mcpFunctionTimeout.toSeconds()).toBe(28);
    expect(settings.listenMaxSeconds).toBeUndefined();
  });

  it('shortens the default listen hold to the function timeout when mcpTimeout is short', () => {
    expect(resolveServerSettings({ ...base, mcpTimeout: Duration.seconds(30) }).listenMaxSeconds).toBe(29);
  });

  it('reserves no concurrency when mcpReservedConcurrency is false', () => {
    expect(resolveServerSettings({ ...base, mcpReservedConcurrency: false })).not.toHaveProperty(
      'mcpReservedConcurrency',
    );
  });

  it('turns the per-caller limit off when maxConcurrentRequestsPerCaller is false', () => {
    expect(
      resolveServerSettings({ ...base, maxConcurrentRequestsPerCaller: false }).maxConcurrentRequestsPerCaller,
    ).toBe(false);
    expect(
      resolveServerSettings({ ...base, maxConcurrentRequestsPerCaller: 1000 }).maxConcurrentRequestsPerCaller,
    ).toBe(1000);
  });

  it('accepts an explicit empty origin list and ["*"]', () => {
    expect(resolveServerSettings({ ...base, allowedOrigins: [] }).allowedOrigins).toEqual([]);
    expect(resolveServerSettings({ ...base, allowedOrigins: ['*'] }).allowedOrigins).toEqual(['*']);
  });

  it('advertises the required scopes beside the default ones', () => {
    expect(resolveServerSettings({ ...base, requiredScopes: ['mcp:read', 'mcp:read'] }).scopesSupported).toEqual([
      'openid',
      'profile',
      'email',
      'mcp:read',
    ]);
  });

  it('adds the required scopes to explicitly advertised ones', () => {
    expect(
      resolveServerSettings({ ...base, requiredScopes: ['mcp:write'], scopesSupported: ['openid', 'mcp:read'] })
        .scopesSupported,
    ).toEqual(['openid', 'mcp:read', 'mcp:write']);
  });

  it('requires an organization when organizations are listed, and only requireOrganization otherwise', () => {
    const org = 'org_01EHZNVPK3SFK441A1RGBFSHRT';
    expect(resolveServerSettings({ ...base, allowedOrganizations: [` ${org}`, org] })).toMatchObject({
      allowedOrganizations: [org],
      requireOrganization: true,
    });
    expect(resolveServerSettings({ ...base, requireOrganization: true })).toMatchObject({
      allowedOrganizations: [],
      requireOrganization: true,
    });
    expect(resolveServerSettings({ ...base, allowedOrganizations: [] })).toMatchObject({ requireOrganization: false });
  });

  it('normalises publicBaseUrl and log level', () => {
    const settings = resolveServerSettings({
      ...base,
      publicBaseUrl: 'HTTP://LOCALHOST:8787/',
      logLevel: 'debug' as never,
    });
    expect(settings.publicBaseUrl).toBe('http://localhost:8787');
    expect(settings.logLevel).toBe('DEBUG');
  });
});

describe('AuthKitMcpServer props validation', () => {
  const construct =
    (props: Partial<AuthKitMcpServerProps>, withDomain = false) =>
    () => {
      const stack = new Stack(testApp(), 'S');
      const customDomain = withDomain
        ? {
            customDomain: {
              domainName: 'mcp.example.com',
              certificate: acm.Certificate.fromCertificateArn(
                stack,
                'C',
                'arn:aws:acm:us-east-1:123456789012:certificate/x',
              ),
            },
          }
        : {};
      new AuthKitMcpServer(stack, 'McpServer', { ...base, ...customDomain, ...props } as AuthKitMcpServerProps);
    };

  it.each<[string, Partial<AuthKitMcpServerProps>, RegExp]>([
    ['the AuthKit domain is missing', { authkitDomain: '' }, /"authkitDomain" is missing/],
    [
      'the AuthKit domain uses http for a public host',
      { authkitDomain: 'http://acme.authkit.app' },
      /"authkitDomain" is invalid: .*https/,
    ],
    ['the AuthKit domain has a path', { authkitDomain: 'https://acme.authkit.app/oauth2' }, /without a path/],
    [
      'the AuthKit domain is a deploy-time token',
      { authkitDomain: Token.asString({ Ref: 'Domain' }) },
      /"authkitDomain" must be a literal/,
    ],
    ['a required scope contains a space', { requiredScopes: ['mcp read'] }, /"requiredScopes" contains "mcp read"/],
    ['a required scope contains a single quote', { requiredScopes: ["mcp'read"] }, /not a valid OAuth scope/],
    [
      'offline_access is required',
      { requiredScopes: ['offline_access'] },
      /"requiredScopes" contains "offline_access"/,
    ],
    [
      'an advertised scope contains a backslash',
      { scopesSupported: ['mcp\\read'] },
      /"scopesSupported" contains "mcp\\\\read"/,
    ],
    ['an accepted audience contains a comma', { acceptedAudiences: ['a,b'] }, /"acceptedAudiences" contains "a,b"/],
    [
      'an allowed organization is not an organization id',
      { allowedOrganizations: ['acme'] },
      /"allowedOrganizations" contains "acme"; an organization id is "org_" followed by 26 upper-case letters and digits/,
    ],
    [
      'an allowed organization id is lower-case',
      { allowedOrganizations: ['org_01ehznvpk3sfk441a1rgbfshrt'] },
      /"allowedOrganizations" contains "org_01ehznvpk3sfk441a1rgbfshrt"; an organization id is/,
    ],
    [
      'an allowed organization id is cut short',
      { allowedOrganizations: ['org_01EHZNVPK3'] },
      /"allowedOrganizations" contains "org_01EHZNVPK3"/,
    ],
    [
      'organizations are listed while requireOrganization is false',
      { allowedOrganizations: ['org_01EHZNVPK3SFK441A1RGBFSHRT'], requireOrganization: false },
      /"requireOrganization" is false while allowedOrganizations lists organizations/,
    ],
    ['a token algorithm is symmetric', { tokenAlgorithms: ['HS256' as never] }, /"tokenAlgorithms" contains "HS256"/],
    ['no token algorithm is allowed', { tokenAlgorithms: [] }, /"tokenAlgorithms" is empty/],
    [
      'the clock tolerance is above 5 minutes',
      { clockTolerance: Duration.minutes(10) },
      /"clockTolerance" is 10 minutes; it must be a whole number of seconds from 0 to 300/,
    ],
    [
      'the JWKS timeout is above 3 seconds',
      { jwksTimeout: Duration.seconds(5) },
      /"jwksTimeout" is 5 seconds; it must be from 1 ms to 3000 ms/,
    ],
    [
      'the authorizer cache TTL is above 1 hour',
      { authorizerCacheTtl: Duration.hours(2) },
      /"authorizerCacheTtl" is 2 hours/,
    ],
    [
      'the authorizer cache TTL has a fraction of a second',
      { authorizerCacheTtl: Duration.millis(1500) },
      /"authorizerCacheTtl"/,
    ],
    [
      'the resource documentation is not https',
      { resourceDocumentation: 'http://docs.example.com' },
      /"resourceDocumentation" is "http:\/\/docs.example.com"; it must be an absolute https URL/,
    ],
    ['the resource name spans lines', { resourceName: 'a\nb' }, /"resourceName" must be a non-empty, single-line name/],
    [
      'publicBaseUrl is http for a public host',
      { publicBaseUrl: 'http://mcp.example.com' },
      /"publicBaseUrl" is invalid: .*https/,
    ],
    ['publicBaseUrl carries a query', { publicBaseUrl: 'https://mcp.example.com/?x=1' }, /"publicBaseUrl" is invalid/],
    [
      'the execute-api endpoint is disabled without a custom domain',
      { disableExecuteApiEndpoint: true },
      /"disableExecuteApiEndpoint" is true without a customDomain/,
    ],
    ['the stage name has a slash', { stageName: 'v1/beta' }, /"stageName" is "v1\/beta"/],
    ['the rate limit is zero', { throttlingRateLimit: 0 }, /"throttlingRateLimit" is 0; it must be a positive number/],
    ['the burst limit is fractional', { throttlingBurstLimit: 1.5 }, /"throttlingBurstLimit" is 1.5/],
    ['the log retention is not a CloudWatch value', { logRetention: 42 as logs.RetentionDays }, /"logRetention" is 42/],
    [
      'allowed origins mix * and a host',
      { allowedOrigins: ['*', 'https://a.example.com'] },
      /mixes "\*" with specific origins/,
    ],
    [
      'an allowed origin has a path',
      { allowedOrigins: ['https://a.example.com/app'] },
      /"allowedOrigins" contains "https:\/\/a.example.com\/app", which is not an origin/,
    ],
    [
      'the body limit exceeds the Lambda payload limit',
      { maxRequestBodyBytes: 10 * 1024 * 1024 },
      /"maxRequestBodyBytes" is 10485760/,
    ],
    [
      'a memory size is below 128 MB',
      { mcpMemorySize: 64 },
      /"mcpMemorySize" is 64; it must be a whole number from 128 to 10240/,
    ],
    [
      'a buffered MCP timeout exceeds the 29-second integration timeout',
      { responseTransferMode: 'buffered', mcpTimeout: Duration.seconds(60) },
      /"mcpTimeout" is 1 minute; with responseTransferMode 'buffered' it must be a whole number of seconds from 2 to 29\. A buffered integration times out after 29 seconds: shorten mcpTimeout, or leave responseTransferMode at 'stream'\./,
    ],
    [
      'a streaming MCP timeout exceeds 15 minutes',
      { mcpTimeout: Duration.minutes(16) },
      /"mcpTimeout" is 16 minutes; with responseTransferMode 'stream' it must be a whole number of seconds from 2 to 900\./,
    ],
    [
      'the MCP timeout leaves no room for the function',
      { mcpTimeout: Duration.seconds(1) },
      /"mcpTimeout" is 1 second; .* from 2 to 900/,
    ],
    [
      'the MCP timeout has a fraction of a second',
      { mcpTimeout: Duration.millis(2500) },
      /"mcpTimeout" is 2 seconds 500 millis; with responseTransferMode 'stream' it must be a whole number of seconds/,
    ],
    [
      'the transfer mode is unknown',
      { responseTransferMode: 'chunked' as never },
      /"responseTransferMode" is "chunked"; use 'stream' \(the default\) or 'buffered'/,
    ],
    [
      'a listen hold is set in buffered mode',
      { responseTransferMode: 'buffered', subscriptionMaxDuration: Duration.minutes(1) },
      /"subscriptionMaxDuration" is set with responseTransferMode 'buffered'/,
    ],
    [
      'the listen hold outlasts the function',
      { mcpTimeout: Duration.minutes(2), subscriptionMaxDuration: Duration.minutes(2) },
      /"subscriptionMaxDuration" is 2 minutes; it must be a whole number of seconds from 1 to 119, the MCP function's timeout \(mcpTimeout 2 minutes minus 1 s\)/,
    ],
    [
      'the per-caller limit is zero (false turns it off)',
      { maxConcurrentRequestsPerCaller: 0 },
      /"maxConcurrentRequestsPerCaller" is 0; it must be a whole number from 1 to 1000, or false for no per-caller limit/,
    ],
    [
      'the per-caller limit is fractional',
      { maxConcurrentRequestsPerCaller: 2.5 },
      /"maxConcurrentRequestsPerCaller" is 2.5/,
    ],
    [
      'the roles cache outlasts an hour',
      { permissionsCacheTtl: Duration.hours(2) },
      /"permissionsCacheTtl" is 2 hours; it must be from 0 ms to 3600000 ms/,
    ],
    [
      'the reserved concurrency is zero',
      { mcpReservedConcurrency: 0 },
      /"mcpReservedConcurrency" is 0; it must be a whole number from 1 to 900 .*or false to reserve nothing/,
    ],
    [
      'the reserved concurrency leaves Lambda less than 100 unreserved',
      { mcpReservedConcurrency: 950 },
      /"mcpReservedConcurrency" is 950/,
    ],
    ["the per-IP rate limit is below WAF's minimum", { rateLimitPerIp: 5 }, /"rateLimitPerIp" is 5; .*at least 10/],
    [
      'the per-IP rate limit comes with your own web ACL',
      { rateLimitPerIp: 100, webAclArn: 'arn:aws:wafv2:us-east-1:123456789012:regional/webacl/mcp/1' },
      /"rateLimitPerIp" is set together with webAclArn/,
    ],
    [
      'the rate limit window is not one WAF offers',
      { rateLimitPerIp: 100, rateLimitWindow: Duration.minutes(3) },
      /"rateLimitWindow" is 3 minutes; AWS WAF counts over 1, 2, 5 or 10 minutes/,
    ],
    [
      'a rate limit window comes without a rate limit',
      { rateLimitWindow: Duration.minutes(1) },
      /"rateLimitWindow" is set without rateLimitPerIp/,
    ],
    ['the log level is unknown', { logLevel: 'VERBOSE' as never }, /"logLevel" is "VERBOSE"/],
    ['the metrics namespace is an AWS one', { metricsNamespace: 'AWS/Lambda' }, /"metricsNamespace" is "AWS\/Lambda"/],
    ['the service name has spaces', { serviceName: 'my service' }, /"serviceName" is "my service"/],
  ])('fails when %s', (_case, props, message) => {
    expect(construct(props)).toThrow(message);
  });

  it('fails when the custom domain name is a URL instead of a DNS name', () => {
    expect(() => {
      const stack = new Stack(testApp(), 'S');
      new AuthKitMcpServer(stack, 'McpServer', {
        ...base,
        customDomain: {
          domainName: 'https://mcp.example.com',
          certificate: acm.Certificate.fromCertificateArn(
            stack,
            'C',
            'arn:aws:acm:us-east-1:123456789012:certificate/x',
          ),
        },
      });
    }).toThrow(/"customDomain.domainName" is "https:\/\/mcp.example.com"; write a lower-case DNS name/);
  });

  it('accepts disableExecuteApiEndpoint together with a custom domain', () => {
    expect(construct({ disableExecuteApiEndpoint: true }, true)).not.toThrow();
  });
});
