/** Generators of valid settings for each function's contract, for the round-trip properties. */
import fc from 'fast-check';
import type { AuthorizerSettings } from '../../../../lambda/shared/settings/authorizer';
import { LOG_LEVELS } from '../../../../lambda/shared/settings/common';
import type { McpSettings } from '../../../../lambda/shared/settings/mcp';
import type { MetadataSettings } from '../../../../lambda/shared/settings/metadata';
import { TOKEN_ALGORITHMS } from '../../../../lambda/shared/token-policy';

const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?$/);
// An alphabetic top-level label: a numeric one would make the host read as an IPv4 address.
const topLabel = fc.stringMatching(/^[a-z]{2,6}$/);
export const dnsName = fc
  .tuple(fc.array(label, { minLength: 1, maxLength: 3 }), topLabel)
  .map(([labels, top]) => [...labels, top].join('.'));
const port = fc.integer({ min: 1, max: 65535 });
const pathSegment = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);

/** A normalised origin: https on a DNS name, or http on a loopback host with a port. */
export const origin = fc.oneof(
  dnsName.map((host) => `https://${host}`),
  fc.tuple(fc.constantFrom('localhost', '127.0.0.1'), port).map(([host, p]) => `http://${host}:${p}`),
);

/** A normalised public base URL: an origin with an optional path (an execute-api stage). */
export const publicBaseUrl = fc
  .tuple(origin, fc.array(pathSegment, { maxLength: 2 }))
  .map(([base, path]) => [base, ...path].join('/'));

/** Text as a variable carries it: no leading or trailing white space, not blank. */
const trimmedText = fc
  .string({ minLength: 1, maxLength: 40 })
  .map((text) => text.trim())
  .filter((text) => text !== '');

const scope = fc.stringMatching(/^[\x21\x23-\x5B\x5D-\x7E]{1,16}$/);
const scopes = fc.uniqueArray(scope, { maxLength: 5 });
const serviceName = fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/);
const logLevel = fc.constantFrom(...LOG_LEVELS);
const httpsUrl = fc.tuple(dnsName, pathSegment).map(([host, path]) => `https://${host}/${path}`);

/** A WorkOS organization id (`org_` and a ULID). */
export const organizationId = fc.stringMatching(/^org_[0-9A-Z]{26}$/);

export const authorizerSettings: fc.Arbitrary<AuthorizerSettings> = fc.record({
  publicBaseUrl,
  issuer: origin,
  jwksUrl: fc.option(httpsUrl, { nil: undefined }),
  acceptedAudiences: fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9_:./-]{1,24}$/), { maxLength: 3 }),
  allowMultipleAudiences: fc.boolean(),
  tokenAlgorithms: fc.uniqueArray(fc.constantFrom(...TOKEN_ALGORITHMS), { minLength: 1 }),
  clockToleranceSeconds: fc.integer({ min: 0, max: 300 }),
  allowedOrganizations: fc.uniqueArray(organizationId, { maxLength: 3 }),
  requireOrganization: fc.boolean(),
  requiredScopes: scopes,
  stepUpToolScopes: fc.dictionary(
    fc.stringMatching(/^[a-z_]{1,16}$/),
    fc.uniqueArray(scope, { minLength: 1, maxLength: 3 }),
  ),
  jwksTimeoutMs: fc.integer({ min: 1, max: 3000 }),
  jwksCooldownMs: fc.integer({ min: 0, max: 3_600_000 }),
  serviceName,
  metricsNamespace: fc.stringMatching(/^[A-Za-z0-9._/#:-][A-Za-z0-9 ._/#:-]{0,30}[A-Za-z0-9._/#:-]$/),
  logLevel,
});

export const metadataSettings: fc.Arbitrary<MetadataSettings> = fc.record({
  publicBaseUrl,
  issuer: origin,
  serviceName,
  logLevel,
  scopesSupported: scopes,
  resourceName: fc.option(trimmedText, { nil: undefined }),
  resourceDocumentation: fc.option(httpsUrl, { nil: undefined }),
  asMetadataTtlSeconds: fc.integer({ min: 1, max: 86_400 }),
  asMetadataTimeoutMs: fc.integer({ min: 1, max: 3000 }),
});

export const mcpSettings: fc.Arbitrary<McpSettings> = fc.record({
  publicBaseUrl,
  serviceName,
  logLevel,
  allowedOrigins: fc.oneof(fc.constant(['*']), fc.uniqueArray(origin, { maxLength: 3 })),
  maxBodyBytes: fc.integer({ min: 1, max: 6 * 1024 * 1024 }),
  clockToleranceSeconds: fc.integer({ min: 0, max: 300 }),
  responseTransferMode: fc.constantFrom('stream', 'buffered'),
  requestStateSecretArn: fc.option(
    fc.stringMatching(/^arn:aws:secretsmanager:us-east-1:\d{12}:secret:[A-Za-z0-9-]{1,20}$/),
    { nil: undefined },
  ),
  functionTimeoutSeconds: fc.option(fc.integer({ min: 1, max: 899 }), { nil: undefined }),
  listenMaxSeconds: fc.option(fc.integer({ min: 1, max: 900 }), { nil: undefined }),
  stateTableName: fc.option(fc.stringMatching(/^[A-Za-z0-9_.-]{3,255}$/), { nil: undefined }),
  maxConcurrentRequestsPerCaller: fc.oneof(fc.constant(false as const), fc.integer({ min: 1, max: 1000 })),
  workosApiKeySecretArn: fc.option(
    fc.stringMatching(/^arn:aws:secretsmanager:us-east-1:\d{12}:secret:[A-Za-z0-9-]{1,20}$/),
    { nil: undefined },
  ),
  workosApiBaseUrl: fc.option(origin, { nil: undefined }),
  permissionsCacheTtlMs: fc.option(fc.integer({ min: 0, max: 3_600_000 }), { nil: undefined }),
});
