import { loadMetadataConfig } from '../../../lambda/metadata/config';
import type { Env } from '../../../lambda/shared/settings/setting';
import { MetadataConfigError } from '../../../lambda/metadata/errors';

const validEnvironment: Env = {
  PUBLIC_BASE_URL: 'https://mcp.example.com',
  AUTHKIT_ISSUER: 'https://acme.authkit.app',
  SCOPES_SUPPORTED: 'mcp:read mcp:write',
  RESOURCE_NAME: 'Acme MCP',
};

function environment(overrides: Record<string, string | undefined>): Env {
  return { ...validEnvironment, ...overrides };
}

function configErrorOf(env: Env): MetadataConfigError {
  try {
    loadMetadataConfig(env);
  } catch (error) {
    if (error instanceof MetadataConfigError) return error;
    throw error;
  }
  throw new Error('expected loadMetadataConfig to throw');
}

describe('loadMetadataConfig', () => {
  it('reads a complete environment and applies the documented defaults', () => {
    // Act
    const config = loadMetadataConfig(validEnvironment);

    // Assess
    expect(config).toEqual({
      urls: expect.objectContaining({ resource: 'https://mcp.example.com/mcp' }),
      issuer: 'https://acme.authkit.app',
      scopesSupported: ['mcp:read', 'mcp:write'],
      ignoredScopes: [],
      resourceName: 'Acme MCP',
      asMetadataTtlSeconds: 3600,
      asMetadataTimeoutMs: 2000,
    });
  });

  it('drops offline_access from the advertised scopes and reports it as ignored', () => {
    const config = loadMetadataConfig(environment({ SCOPES_SUPPORTED: ' openid  offline_access profile openid ' }));

    expect(config.scopesSupported).toEqual(['openid', 'profile']);
    expect(config.ignoredScopes).toEqual(['offline_access']);
  });

  it('leaves optional fields out when they are unset or blank', () => {
    const config = loadMetadataConfig({
      PUBLIC_BASE_URL: 'https://mcp.example.com',
      AUTHKIT_ISSUER: 'https://acme.authkit.app',
      RESOURCE_NAME: '  ',
    });

    expect(config.scopesSupported).toEqual([]);
    expect(config).not.toHaveProperty('resourceName');
    expect(config).not.toHaveProperty('resourceDocumentation');
  });

  it.each([
    ['AS_METADATA_TTL_SECONDS', '60', 'asMetadataTtlSeconds', 60],
    ['AS_METADATA_TIMEOUT_MS', '3000', 'asMetadataTimeoutMs', 3000],
    ['AS_METADATA_TIMEOUT_MS', '250', 'asMetadataTimeoutMs', 250],
  ] as const)('reads %s=%s', (variable, value, field, expected) => {
    expect(loadMetadataConfig(environment({ [variable]: value }))[field]).toBe(expected);
  });

  it.each([
    ['http://localhost:9000', true],
    ['http://127.0.0.1:9000', true],
    ['http://[::1]:9000', true],
    ['https://auth.example.com', true],
    ['http://acme.authkit.app', false],
  ])('accepts the issuer %s only where http is local (%s)', (issuer, accepted) => {
    const load = () => loadMetadataConfig(environment({ AUTHKIT_ISSUER: issuer }));
    if (accepted) expect(load().issuer).toBe(issuer);
    else expect(load).toThrow(MetadataConfigError);
  });

  it.each([
    'https://acme.authkit.app/',
    'https://Acme.AuthKit.app',
    'https://acme.authkit.app:443',
    'acme.authkit.app',
  ])('normalises the issuer %j as the construct and the authorizer do', (issuer) => {
    expect(loadMetadataConfig(environment({ AUTHKIT_ISSUER: issuer })).issuer).toBe('https://acme.authkit.app');
  });

  it.each<[string, Record<string, string | undefined>, string, RegExp]>([
    ['the base URL is missing', { PUBLIC_BASE_URL: undefined }, 'PUBLIC_BASE_URL', /is not set/],
    [
      'the base URL is plain http on a public host',
      { PUBLIC_BASE_URL: 'http://mcp.example.com' },
      'PUBLIC_BASE_URL',
      /https/,
    ],
    ['the issuer is missing', { AUTHKIT_ISSUER: undefined }, 'AUTHKIT_ISSUER', /is not set/],
    ['the issuer is blank', { AUTHKIT_ISSUER: '   ' }, 'AUTHKIT_ISSUER', /is not set/],
    [
      'the issuer is not a host name or URL',
      { AUTHKIT_ISSUER: 'acme authkit app' },
      'AUTHKIT_ISSUER',
      /not a host name or URL/,
    ],
    [
      'the issuer has a path',
      { AUTHKIT_ISSUER: 'https://auth.example.com/tenant' },
      'AUTHKIT_ISSUER',
      /without a path/,
    ],
    [
      'the issuer carries a query',
      { AUTHKIT_ISSUER: 'https://acme.authkit.app?x=1' },
      'AUTHKIT_ISSUER',
      /query or fragment/,
    ],
    [
      'the issuer carries credentials',
      { AUTHKIT_ISSUER: 'https://user:pw@acme.authkit.app' },
      'AUTHKIT_ISSUER',
      /credentials/,
    ],
    [
      'a scope has a quote in it',
      { SCOPES_SUPPORTED: 'mcp:read "evil"' },
      'SCOPES_SUPPORTED',
      /not a valid OAuth scope/,
    ],
    [
      'the documentation is not a URL',
      { RESOURCE_DOCUMENTATION: 'docs' },
      'RESOURCE_DOCUMENTATION',
      /absolute https URL/,
    ],
    [
      'the documentation is plain http',
      { RESOURCE_DOCUMENTATION: 'http://docs.example.com' },
      'RESOURCE_DOCUMENTATION',
      /absolute https URL/,
    ],
    ['the TTL is zero', { AS_METADATA_TTL_SECONDS: '0' }, 'AS_METADATA_TTL_SECONDS', /from 1 to 86400/],
    ['the TTL is not a number', { AS_METADATA_TTL_SECONDS: '1h' }, 'AS_METADATA_TTL_SECONDS', /whole number/],
    ['the timeout exceeds 3 s', { AS_METADATA_TIMEOUT_MS: '3001' }, 'AS_METADATA_TIMEOUT_MS', /from 1 to 3000/],
    ['the timeout is negative', { AS_METADATA_TIMEOUT_MS: '-5' }, 'AS_METADATA_TIMEOUT_MS', /whole number/],
  ])('fails when %s, naming the variable', (_case, overrides, variable, reason) => {
    // Act
    const error = configErrorOf(environment(overrides));

    // Assess
    expect(error.code).toBe('INVALID_METADATA_CONFIG');
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(`${variable}: `)).toBe(true);
    expect(error.message).toMatch(reason);
  });
});
