/**
 * The construct path end to end, without a CDK app: valid props → resolveServerSettings → each
 * function's environment → that function's config reader gives back what the props asked for.
 */
import { Duration } from 'aws-cdk-lib';
import fc from 'fast-check';
import { loadAuthorizerConfig } from '../../lambda/authorizer/config';
import { loadMetadataConfig } from '../../lambda/metadata/config';
import { readRuntimeSettings } from '../../lambda/runtime/config';
import { LOG_LEVELS } from '../../lambda/shared/settings/common';
import { MCP_SETTINGS } from '../../lambda/shared/settings/mcp';
import { fromEnvironment } from '../../lambda/shared/settings/setting';
import { TOKEN_ALGORITHMS } from '../../lambda/shared/token-policy';
import type { AuthKitMcpServerProps } from '../../lib/authkit-mcp-server-props';
import { authorizerEnvironment, mcpEnvironment, metadataEnvironment } from '../../lib/function-environments';
import { resolveServerSettings } from '../../lib/server-settings';
import { dnsName, organizationId } from '../lambda/shared/settings/arbitraries';

const base = 'https://mcp.example.com';
const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:key-AbCdEf';

const word = fc.stringMatching(/^[A-Za-z0-9:._-]{1,16}$/);
// A scope the gateway can carry (no single quote) that a resource may require (not offline_access).
const scope = fc.stringMatching(/^[\x21\x23-\x26\x28-\x5B\x5D-\x7E]{1,16}$/).filter((s) => s !== 'offline_access');

/** Valid props that set every setting the functions read, in either transfer mode. */
const props = fc
  .record({
    authkitDomain: dnsName,
    requiredScopes: fc.uniqueArray(scope, { maxLength: 3 }),
    scopesSupported: fc.uniqueArray(scope, { maxLength: 3 }),
    acceptedAudiences: fc.uniqueArray(word, { maxLength: 3 }),
    allowMultipleAudiences: fc.boolean(),
    allowedOrganizations: fc.uniqueArray(organizationId, { maxLength: 3 }),
    tokenAlgorithms: fc.uniqueArray(fc.constantFrom(...TOKEN_ALGORITHMS), { minLength: 1 }),
    clockTolerance: fc.integer({ min: 0, max: 300 }).map(Duration.seconds),
    jwksTimeout: fc.integer({ min: 1, max: 3000 }).map(Duration.millis),
    jwksCooldown: fc.integer({ min: 0, max: 3_600_000 }).map(Duration.millis),
    authorizationServerMetadataCacheTtl: fc.integer({ min: 1, max: 86_400 }).map(Duration.seconds),
    resourceName: word,
    resourceDocumentation: dnsName.map((host) => `https://${host}/docs`),
    allowedOrigins: fc.oneof(
      fc.constant(['*']),
      fc.uniqueArray(
        dnsName.map((host) => `https://${host}`),
        { maxLength: 3 },
      ),
    ),
    maxRequestBodyBytes: fc.integer({ min: 1, max: 6 * 1024 * 1024 }),
    maxConcurrentRequestsPerCaller: fc.oneof(fc.constant(false as const), fc.integer({ min: 1, max: 1000 })),
    logLevel: fc.constantFrom(...LOG_LEVELS),
    serviceName: fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/),
    metricsNamespace: fc.stringMatching(/^[A-Za-z0-9._#:-](?:[A-Za-z0-9 ._#:-]{0,30}[A-Za-z0-9._#:-])?$/),
    streaming: fc.option(fc.integer({ min: 1, max: 899 }).map(Duration.seconds)),
  })
  .map(
    ({ streaming, ...rest }): AuthKitMcpServerProps =>
      streaming === null
        ? { ...rest, responseTransferMode: 'buffered' }
        : // A hold of up to 899 s needs the longest timeout (the default is 5 minutes).
          {
            ...rest,
            responseTransferMode: 'stream',
            mcpTimeout: Duration.minutes(15),
            subscriptionMaxDuration: streaming,
          },
  );

describe('props, through the environments the construct writes, read back in each function', () => {
  it('give the authorizer the token policy, JWKS bounds and telemetry the props set', () => {
    fc.assert(
      fc.property(props, (p) => {
        // Act
        const config = loadAuthorizerConfig(authorizerEnvironment(resolveServerSettings(p), base));

        // Assess
        expect(config).toMatchObject({
          issuer: `https://${p.authkitDomain}`,
          audiences: [`${base}/mcp`, ...(p.acceptedAudiences ?? [])],
          allowMultipleAudiences: p.allowMultipleAudiences,
          allowedOrganizations: p.allowedOrganizations,
          requireOrganization: (p.allowedOrganizations ?? []).length > 0,
          algorithms: p.tokenAlgorithms,
          clockToleranceSeconds: p.clockTolerance?.toSeconds(),
          requiredScopes: p.requiredScopes,
          jwksTimeoutMs: p.jwksTimeout?.toMilliseconds(),
          jwksCooldownMs: p.jwksCooldown?.toMilliseconds(),
          serviceName: `${p.serviceName}-authorizer`,
          metricsNamespace: p.metricsNamespace,
          logLevel: p.logLevel,
        });
      }),
      { numRuns: 50 },
    );
  });

  it('give the metadata function the advertised scopes, resource and metadata cache the props set', () => {
    fc.assert(
      fc.property(props, (p) => {
        const config = loadMetadataConfig(metadataEnvironment(resolveServerSettings(p), base));

        expect(config).toMatchObject({
          issuer: `https://${p.authkitDomain}`,
          scopesSupported: [...new Set([...(p.scopesSupported ?? []), ...(p.requiredScopes ?? [])])],
          resourceName: p.resourceName,
          resourceDocumentation: p.resourceDocumentation,
          asMetadataTtlSeconds: p.authorizationServerMetadataCacheTtl?.toSeconds(),
        });
      }),
      { numRuns: 50 },
    );
  });

  it('give the MCP runtime the origins, body limit, tolerance and transfer mode the props set', () => {
    fc.assert(
      fc.property(props, (p) => {
        const runtime = readRuntimeSettings({}, mcpEnvironment(resolveServerSettings(p), base, arn));

        expect(runtime).toMatchObject({
          maxBodyBytes: p.maxRequestBodyBytes,
          clockToleranceSeconds: p.clockTolerance?.toSeconds(),
          responseTransferMode: p.responseTransferMode,
        });
        if (p.subscriptionMaxDuration !== undefined)
          expect(runtime.listenMaxSeconds).toBe(p.subscriptionMaxDuration.toSeconds());
        const origins = p.allowedOrigins ?? [];
        expect(runtime.origins).toEqual(
          origins.includes('*') ? { any: true } : { any: false, origins: new Set(origins), hostnames: new Set() },
        );
      }),
      { numRuns: 50 },
    );
  });

  it('give the MCP function the per-caller limit the props set, and the state table it counts in', () => {
    fc.assert(
      fc.property(props, (p) => {
        const env = mcpEnvironment(resolveServerSettings(p), base, arn, 'McpServer-StateTable-ABC');

        const settings = fromEnvironment(MCP_SETTINGS, env, (problem) => new Error(problem.message));

        expect(settings.maxConcurrentRequestsPerCaller).toBe(p.maxConcurrentRequestsPerCaller);
        expect(settings.stateTableName).toBe('McpServer-StateTable-ABC');
      }),
      { numRuns: 50 },
    );
  });
});
