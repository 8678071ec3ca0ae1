import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadStageConfig, type ContextSource } from '../../app/stage-config';

const cdkJsonContext = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8'))
  .context as Record<string, unknown>;

function context(values: Record<string, unknown>): ContextSource {
  return { tryGetContext: (key: string) => values[key] };
}

const stages = (dev: Record<string, unknown>, more: Record<string, unknown> = {}) => ({
  stages: { dev, ...more },
  stage: 'dev',
});

describe('loadStageConfig', () => {
  it('reads the selected stage with its name', () => {
    const config = loadStageConfig(
      context({ ...stages({ authkitDomain: 'acme.authkit.app', throttlingRateLimit: 10 }) }),
    );
    expect(config).toEqual({ name: 'dev', authkitDomain: 'acme.authkit.app', throttlingRateLimit: 10 });
  });

  it('falls back to defaultStage when no stage is passed', () => {
    const config = loadStageConfig(
      context({
        stages: { dev: { authkitDomain: 'a.authkit.app' }, prod: { authkitDomain: 'b.authkit.app' } },
        defaultStage: 'prod',
      }),
    );
    expect(config.name).toBe('prod');
  });

  it('lets -c authkitDomain and -c publicBaseUrl win over the stage values', () => {
    const config = loadStageConfig(
      context({
        ...stages({ authkitDomain: 'http://localhost:8788', publicBaseUrl: 'http://localhost:8787' }),
        authkitDomain: 'http://127.0.0.1:9999',
        publicBaseUrl: 'http://localhost:4000',
      }),
    );
    expect(config.authkitDomain).toBe('http://127.0.0.1:9999');
    expect(config.publicBaseUrl).toBe('http://localhost:4000');
  });

  it('parses -c overrides of any stage field from their command-line strings', () => {
    const config = loadStageConfig(
      context({
        ...stages({ authkitDomain: 'a.authkit.app', requiredScopes: ['x'], tracing: false }),
        requiredScopes: 'mcp:read, mcp:write',
        scopesSupported: 'openid mcp:read mcp:write',
        tracing: 'true',
        throttlingRateLimit: '12.5',
        authorizerCacheTtlSeconds: '0',
      }),
    );
    expect(config).toMatchObject({
      requiredScopes: ['mcp:read', 'mcp:write'],
      scopesSupported: ['openid', 'mcp:read', 'mcp:write'],
      tracing: true,
      throttlingRateLimit: 12.5,
      authorizerCacheTtlSeconds: 0,
    });
  });

  it('reads the streaming, concurrency and rate-limit settings from cdk.json and from -c overrides', () => {
    const fromJson = loadStageConfig(
      context({
        ...stages({
          authkitDomain: 'a.authkit.app',
          responseTransferMode: 'buffered',
          mcpTimeoutSeconds: 20,
          mcpReservedConcurrency: false,
          rateLimitPerIp: 500,
          rateLimitWindowSeconds: 60,
        }),
      }),
    );
    expect(fromJson).toMatchObject({
      responseTransferMode: 'buffered',
      mcpTimeoutSeconds: 20,
      mcpReservedConcurrency: false,
      rateLimitPerIp: 500,
      rateLimitWindowSeconds: 60,
    });
    const fromCommandLine = loadStageConfig(
      context({
        ...stages({ authkitDomain: 'a.authkit.app' }),
        responseTransferMode: 'stream',
        mcpTimeoutSeconds: '120',
        mcpReservedConcurrency: 'false',
        subscriptionMaxDurationSeconds: '60',
        rateLimitPerIp: '2000',
      }),
    );
    expect(fromCommandLine).toMatchObject({
      responseTransferMode: 'stream',
      mcpTimeoutSeconds: 120,
      mcpReservedConcurrency: false,
      subscriptionMaxDurationSeconds: 60,
      rateLimitPerIp: 2000,
    });
    expect(
      loadStageConfig(context({ ...stages({ authkitDomain: 'a.authkit.app' }), mcpReservedConcurrency: '40' }))
        .mcpReservedConcurrency,
    ).toBe(40);
  });

  it('reads the per-caller limit as a number or false, from cdk.json and from -c overrides', () => {
    const limit = (fields: Record<string, unknown>, overrides: Record<string, string> = {}) =>
      loadStageConfig(context({ ...stages({ authkitDomain: 'a.authkit.app', ...fields }), ...overrides }))
        .maxConcurrentRequestsPerCaller;
    expect(limit({ maxConcurrentRequestsPerCaller: 4 })).toBe(4);
    expect(limit({ maxConcurrentRequestsPerCaller: false })).toBe(false);
    expect(limit({}, { maxConcurrentRequestsPerCaller: '25' })).toBe(25);
    expect(limit({}, { maxConcurrentRequestsPerCaller: 'false' })).toBe(false);
  });

  it('turns the per-IP rate limit on for the shipped dev and prod stages, and off for local', () => {
    expect(loadStageConfig(context({ ...cdkJsonContext, stage: 'dev' })).rateLimitPerIp).toBe(1000);
    expect(loadStageConfig(context({ ...cdkJsonContext, stage: 'prod' })).rateLimitPerIp).toBe(3000);
    expect(loadStageConfig(context({ ...cdkJsonContext, stage: 'local' })).rateLimitPerIp).toBeUndefined();
  });

  it('fails naming the field when a -c override does not parse', () => {
    expect(() =>
      loadStageConfig(context({ ...stages({ authkitDomain: 'a.authkit.app' }), throttlingBurstLimit: 'lots' })),
    ).toThrow(
      /Stage "dev": -c throttlingBurstLimit=lots \(from the command line\): field "throttlingBurstLimit" must be a positive whole number, got "lots"/,
    );
    expect(() => loadStageConfig(context({ ...stages({ authkitDomain: 'a.authkit.app' }), tracing: 'yes' }))).toThrow(
      /field "tracing" must be true or false, got "yes"/,
    );
  });

  it('says a bad value came from cdk.json when no -c set it', () => {
    // Act
    const load = () =>
      loadStageConfig(context(stages({ authkitDomain: 'a.authkit.app', authorizerCacheTtlSeconds: -1 })));

    // Assess
    expect(load).toThrow(/^Stage "dev": field "authorizerCacheTtlSeconds" must be a whole number/);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['authorizerCacheTtlSecond', { authorizerCacheTtlSecond: 60 }, 'authorizerCacheTtlSeconds'],
    ['authkitdomain', { authkitdomain: 'a.authkit.app' }, 'authkitDomain'],
    ['trhottlingRateLimit', { trhottlingRateLimit: 5 }, 'throttlingRateLimit'],
    ['logRetentionDay', { logRetentionDays: undefined, logRetentionDay: 7 }, 'logRetentionDays'],
  ])('suggests the nearest setting for the misspelt field %s', (misspelt, fields, meant) => {
    // Act
    const load = () => loadStageConfig(context(stages({ authkitDomain: 'a.authkit.app', ...fields })));

    // Assess
    expect(load).toThrow(
      `field "${misspelt}" is not a known setting (in context.stages.dev in cdk.json). Did you mean "${meant}"?`,
    );
  });

  it('suggests the nearest custom domain setting for a misspelt one', () => {
    // Act
    const load = () =>
      loadStageConfig(
        context(
          stages({ authkitDomain: 'a.authkit.app', customDomain: { domainName: 'mcp.acme.dev', certificateARN: 'x' } }),
        ),
      );

    // Assess
    expect(load).toThrow('field "customDomain.certificateARN" is not a known setting. Did you mean "certificateArn"?');
  });

  it('suggests nothing for a field that is near no setting', () => {
    // Act
    const load = () => loadStageConfig(context(stages({ authkitDomain: 'a.authkit.app', colour: 'blue' })));

    // Assess
    expect(load).toThrow(
      /field "colour" is not a known setting \(in context.stages.dev in cdk.json\). Known settings: /,
    );
  });

  it.each(['local', 'dev', 'prod'])('loads the %s stage of cdk.json', (stage) => {
    const config = loadStageConfig(context({ ...cdkJsonContext, stage }));
    expect(config.name).toBe(stage);
  });

  it('configures the local stage for the local runner', () => {
    const config = loadStageConfig(context({ ...cdkJsonContext, stage: 'local' }));
    expect(config).toMatchObject({ authkitDomain: 'http://localhost:8788', publicBaseUrl: 'http://localhost:8787' });
    expect(config.requiredScopes ?? []).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['no stages are configured', { stage: 'dev' }, /No stages are configured. Add a "stages" map/],
    [
      'no stage is selected and there is no default',
      { stages: { dev: { authkitDomain: 'a.authkit.app' }, prod: {} } },
      /No stage selected. Pass -c stage=NAME \(known stages: dev, prod\)/,
    ],
    [
      'the stage is unknown',
      { stages: { dev: {}, prod: {} }, stage: 'qa' },
      /Unknown stage "qa". Known stages: dev, prod/,
    ],
    [
      'the stage name cannot name a stack',
      { stages: { dev_1: {} }, stage: 'dev_1' },
      /Stage name "dev_1" cannot name a stack/,
    ],
    [
      'the stage is not an object',
      { stages: { dev: 'acme' }, stage: 'dev' },
      /Stage "dev" in cdk.json must be an object/,
    ],
    ['the stage has no AuthKit domain', stages({}), /Stage "dev": field "authkitDomain" is missing/],
    [
      'the AuthKit domain is not https',
      stages({ authkitDomain: 'http://acme.authkit.app' }),
      /Stage "dev": field "authkitDomain" is invalid/,
    ],
    [
      'a field is unknown',
      stages({ authkitDomain: 'a.authkit.app', throttleRate: 5 }),
      /Stage "dev": field "throttleRate" is not a known setting/,
    ],
    [
      'a number is a string',
      stages({ authkitDomain: 'a.authkit.app', throttlingRateLimit: '10' }),
      /Stage "dev": field "throttlingRateLimit" must be a positive number, got "10"/,
    ],
    [
      'a memory size is fractional',
      stages({ authkitDomain: 'a.authkit.app', mcpMemorySize: 512.5 }),
      /field "mcpMemorySize" must be a positive whole number/,
    ],
    [
      'a boolean is a string',
      stages({ authkitDomain: 'a.authkit.app', tracing: 'yes' }),
      /Stage "dev": field "tracing" must be true or false, got "yes"/,
    ],
    [
      'a scope list is a string',
      stages({ authkitDomain: 'a.authkit.app', requiredScopes: 'mcp:read' }),
      /field "requiredScopes" must be a list of non-empty strings/,
    ],
    [
      'the account is a number',
      stages({ authkitDomain: 'a.authkit.app', account: 123456789012 }),
      /field "account" must be a 12-digit AWS account id as a string/,
    ],
    [
      'the region is misspelt',
      stages({ authkitDomain: 'a.authkit.app', region: 'us-east' }),
      /field "region" must be an AWS region/,
    ],
    [
      'the publicBaseUrl is not a URL',
      stages({ authkitDomain: 'a.authkit.app', publicBaseUrl: 'mcp.example.com' }),
      /field "publicBaseUrl" is invalid/,
    ],
    [
      'the log retention is not a CloudWatch value',
      stages({ authkitDomain: 'a.authkit.app', logRetentionDays: 10 }),
      /field "logRetentionDays" must be one of CloudWatch Logs' retention periods/,
    ],
    [
      'the authorizer cache TTL is above an hour',
      stages({ authkitDomain: 'a.authkit.app', authorizerCacheTtlSeconds: 7200 }),
      /field "authorizerCacheTtlSeconds" must be a whole number of seconds from 0 \(no cache\) to 3600/,
    ],
    [
      'a token algorithm is HMAC',
      stages({ authkitDomain: 'a.authkit.app', tokenAlgorithms: ['HS256'] }),
      /field "tokenAlgorithms" must be a non-empty list/,
    ],
    [
      'an allowed organization is a name instead of an organization id',
      stages({ authkitDomain: 'a.authkit.app', allowedOrganizations: ['org_01EHZNVPK3SFK441A1RGBFSHRT', 'Acme'] }),
      /field "allowedOrganizations" contains "Acme", which is refused: an organization id is "org_" followed by 26/,
    ],
    [
      'allowedOrganizations is one string',
      stages({ authkitDomain: 'a.authkit.app', allowedOrganizations: 'org_01EHZNVPK3SFK441A1RGBFSHRT' }),
      /field "allowedOrganizations" must be a list of strings/,
    ],
    [
      'requireOrganization is not a boolean',
      stages({ authkitDomain: 'a.authkit.app', requireOrganization: 'yes' }),
      /field "requireOrganization" must be true or false/,
    ],
    [
      'the log level is unknown',
      stages({ authkitDomain: 'a.authkit.app', logLevel: 'LOUD' }),
      /field "logLevel" must be one of/,
    ],
    [
      'the custom domain has no certificate',
      stages({ authkitDomain: 'a.authkit.app', customDomain: { domainName: 'mcp.example.com' } }),
      /field "customDomain.certificateArn" must be the ARN of an ACM certificate/,
    ],
    [
      'the custom domain has a zone id without a zone name',
      stages({
        authkitDomain: 'a.authkit.app',
        customDomain: {
          domainName: 'mcp.example.com',
          certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
          hostedZoneId: 'Z1',
        },
      }),
      /field "customDomain.hostedZoneId" and "customDomain.hostedZoneName" must be set together/,
    ],
    [
      'the custom domain has an unknown field',
      stages({ authkitDomain: 'a.authkit.app', customDomain: { domain: 'x' } }),
      /field "customDomain.domain" is not a known setting/,
    ],
    [
      'the execute-api endpoint is disabled without a custom domain',
      stages({ authkitDomain: 'a.authkit.app', disableExecuteApiEndpoint: true }),
      /field "disableExecuteApiEndpoint" is true without "customDomain"/,
    ],
    [
      'the transfer mode is unknown',
      stages({ authkitDomain: 'a.authkit.app', responseTransferMode: 'STREAM' }),
      /field "responseTransferMode" must be "stream" or "buffered", got "STREAM"/,
    ],
    [
      'the per-caller limit is above 1000',
      stages({ authkitDomain: 'a.authkit.app', maxConcurrentRequestsPerCaller: 1001 }),
      /field "maxConcurrentRequestsPerCaller" must be a whole number from 1 to 1000, or false for no per-caller limit, got 1001/,
    ],
    [
      'the reserved concurrency is true',
      stages({ authkitDomain: 'a.authkit.app', mcpReservedConcurrency: true }),
      /field "mcpReservedConcurrency" must be a positive whole number, or false to reserve none, got true/,
    ],
    [
      'the MCP timeout is fractional',
      stages({ authkitDomain: 'a.authkit.app', mcpTimeoutSeconds: 1.5 }),
      /field "mcpTimeoutSeconds" must be a positive whole number/,
    ],
    [
      'the per-IP rate limit is a string',
      stages({ authkitDomain: 'a.authkit.app', rateLimitPerIp: 'many' }),
      /field "rateLimitPerIp" must be a positive whole number, got "many"/,
    ],
    [
      'the API stage name has a slash',
      stages({ authkitDomain: 'a.authkit.app', apiStageName: 'a/b' }),
      /field "apiStageName" must be 1 to 128 letters/,
    ],
  ])('fails when %s', (_case, values, message) => {
    expect(() => loadStageConfig(context(values))).toThrow(message);
  });
});
