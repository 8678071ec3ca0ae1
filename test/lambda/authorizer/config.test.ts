import { loadAuthorizerConfig } from '../../../lambda/authorizer/config';
import { AuthorizerConfigError } from '../../../lambda/authorizer/errors';

const base = { PUBLIC_BASE_URL: 'https://mcp.example.com', AUTHKIT_ISSUER: 'https://acme.authkit.app' };

describe('loadAuthorizerConfig', () => {
  it('derives the audience and JWKS URL and applies the documented defaults', () => {
    expect(loadAuthorizerConfig(base)).toEqual({
      resource: 'https://mcp.example.com/mcp',
      issuer: 'https://acme.authkit.app',
      jwksUrl: 'https://acme.authkit.app/oauth2/jwks',
      audiences: ['https://mcp.example.com/mcp'],
      allowMultipleAudiences: false,
      algorithms: ['RS256'],
      clockToleranceSeconds: 30,
      requiredScopes: [],
      allowedOrganizations: [],
      requireOrganization: false,
      stepUpToolScopes: {},
      jwksTimeoutMs: 2000,
      jwksCooldownMs: 30000,
      // The construct's documented defaults (serviceName 'mcp-server' plus the function's suffix, metricsNamespace 'McpServer').
      serviceName: 'mcp-server-authorizer',
      metricsNamespace: 'McpServer',
      logLevel: 'INFO',
    });
  });

  it('uses the stage path of an execute-api base URL in the audience', () => {
    expect(
      loadAuthorizerConfig({ ...base, PUBLIC_BASE_URL: 'https://abc.execute-api.us-east-1.amazonaws.com/prod/' })
        .audiences,
    ).toEqual(['https://abc.execute-api.us-east-1.amazonaws.com/prod/mcp']);
  });

  it('reads every optional setting', () => {
    const config = loadAuthorizerConfig({
      ...base,
      AUTHKIT_JWKS_URL: 'https://keys.example.com/jwks',
      ACCEPTED_AUDIENCES: 'client_01HABC, https://mcp.example.com/mcp  https://old.example.com/mcp',
      ALLOW_MULTIPLE_AUDIENCES: 'true',
      TOKEN_ALGORITHMS: 'RS256,PS256 ES256',
      CLOCK_TOLERANCE_SECONDS: '5',
      REQUIRED_SCOPES: 'mcp:tools  mcp:read mcp:tools',
      ALLOWED_ORGANIZATIONS: 'org_01EHZNVPK3SFK441A1RGBFSHRT, org_01HDEVORGANIZATION0000000A',
      JWKS_TIMEOUT_MS: '3000',
      JWKS_COOLDOWN_MS: '0',
      STEP_UP_TOOL_SCOPES: '{"server_config":["mcp:admin"]}',
      POWERTOOLS_SERVICE_NAME: 'auth',
      POWERTOOLS_METRICS_NAMESPACE: 'Ns',
      POWERTOOLS_LOG_LEVEL: 'debug',
    });

    expect(config).toMatchObject({
      jwksUrl: 'https://keys.example.com/jwks',
      audiences: ['https://mcp.example.com/mcp', 'client_01HABC', 'https://old.example.com/mcp'],
      allowMultipleAudiences: true,
      algorithms: ['RS256', 'PS256', 'ES256'],
      clockToleranceSeconds: 5,
      requiredScopes: ['mcp:tools', 'mcp:read'],
      allowedOrganizations: ['org_01EHZNVPK3SFK441A1RGBFSHRT', 'org_01HDEVORGANIZATION0000000A'],
      // Implied by the list, though REQUIRE_ORGANIZATION is unset.
      requireOrganization: true,
      jwksTimeoutMs: 3000,
      jwksCooldownMs: 0,
      stepUpToolScopes: { server_config: ['mcp:admin'] },
      serviceName: 'auth',
      metricsNamespace: 'Ns',
      logLevel: 'DEBUG',
    });
  });

  it.each(['https://Acme.authkit.app/', 'acme.authkit.app', ' https://acme.authkit.app:443 '])(
    'normalises the issuer %j as the construct and the metadata function do, so that iss can match',
    (issuer) => {
      expect(loadAuthorizerConfig({ ...base, AUTHKIT_ISSUER: issuer })).toMatchObject({
        issuer: 'https://acme.authkit.app',
        jwksUrl: 'https://acme.authkit.app/oauth2/jwks',
      });
    },
  );

  it('allows an http issuer on loopback for local development', () => {
    expect(
      loadAuthorizerConfig({ PUBLIC_BASE_URL: 'http://localhost:8787', AUTHKIT_ISSUER: 'http://127.0.0.1:9000' }),
    ).toMatchObject({
      resource: 'http://localhost:8787/mcp',
      jwksUrl: 'http://127.0.0.1:9000/oauth2/jwks',
    });
  });

  it.each([
    ['PUBLIC_BASE_URL', { PUBLIC_BASE_URL: undefined }, /PUBLIC_BASE_URL: not set/],
    ['PUBLIC_BASE_URL', { PUBLIC_BASE_URL: 'http://mcp.example.com' }, /PUBLIC_BASE_URL: .*https/],
    ['AUTHKIT_ISSUER', { AUTHKIT_ISSUER: '' }, /AUTHKIT_ISSUER: not set; set it to your AuthKit issuer/],
    ['AUTHKIT_ISSUER', { AUTHKIT_ISSUER: 'https://acme.authkit.app/oauth2' }, /AUTHKIT_ISSUER: .*without a path/],
    ['AUTHKIT_ISSUER', { AUTHKIT_ISSUER: 'http://acme.authkit.app' }, /AUTHKIT_ISSUER: .*scheme must be https/],
    ['AUTHKIT_ISSUER', { AUTHKIT_ISSUER: 'https://acme.authkit.app?x=1' }, /AUTHKIT_ISSUER: .*query/],
    ['AUTHKIT_JWKS_URL', { AUTHKIT_JWKS_URL: 'http://keys.example.com/jwks' }, /AUTHKIT_JWKS_URL: .*https/],
    [
      'ALLOW_MULTIPLE_AUDIENCES',
      { ALLOW_MULTIPLE_AUDIENCES: 'yes' },
      /ALLOW_MULTIPLE_AUDIENCES: "yes" is not a boolean/,
    ],
    ['TOKEN_ALGORITHMS', { TOKEN_ALGORITHMS: 'RS256 HS256' }, /TOKEN_ALGORITHMS: "HS256" is not accepted/],
    ['TOKEN_ALGORITHMS', { TOKEN_ALGORITHMS: 'none' }, /TOKEN_ALGORITHMS: "none" is not accepted/],
    [
      'CLOCK_TOLERANCE_SECONDS',
      { CLOCK_TOLERANCE_SECONDS: '-1' },
      /CLOCK_TOLERANCE_SECONDS: "-1" is not a whole number from 0 to 300/,
    ],
    ['CLOCK_TOLERANCE_SECONDS', { CLOCK_TOLERANCE_SECONDS: '1e3' }, /CLOCK_TOLERANCE_SECONDS/],
    ['JWKS_TIMEOUT_MS', { JWKS_TIMEOUT_MS: '5000' }, /JWKS_TIMEOUT_MS: "5000" is not a whole number from 1 to 3000/],
    ['JWKS_COOLDOWN_MS', { JWKS_COOLDOWN_MS: 'soon' }, /JWKS_COOLDOWN_MS/],
    [
      'ALLOWED_ORGANIZATIONS',
      { ALLOWED_ORGANIZATIONS: 'org_01EHZNVPK3SFK441A1RGBFSHRT acme' },
      /ALLOWED_ORGANIZATIONS: "acme" is not a WorkOS organization id/,
    ],
    ['REQUIRE_ORGANIZATION', { REQUIRE_ORGANIZATION: 'yes' }, /REQUIRE_ORGANIZATION: "yes" is not a boolean/],
    ['STEP_UP_TOOL_SCOPES', { STEP_UP_TOOL_SCOPES: '["mcp:admin"]' }, /STEP_UP_TOOL_SCOPES: it is not an object/],
    [
      'STEP_UP_TOOL_SCOPES',
      { STEP_UP_TOOL_SCOPES: '{"server_config":["mcp admin"]}' },
      /STEP_UP_TOOL_SCOPES: tool "server_config" has \["mcp admin"\]/,
    ],
    ['STEP_UP_TOOL_SCOPES', { STEP_UP_TOOL_SCOPES: '{"server_config":' }, /STEP_UP_TOOL_SCOPES: it is not JSON/],
    ['POWERTOOLS_LOG_LEVEL', { POWERTOOLS_LOG_LEVEL: 'LOUD' }, /POWERTOOLS_LOG_LEVEL: "LOUD" is not a log level/],
  ])('fails naming %s when it is %j', (variable, override, message) => {
    const load = () => loadAuthorizerConfig({ ...base, ...override });

    expect(load).toThrow(AuthorizerConfigError);
    expect(load).toThrow(message);
    try {
      load();
    } catch (error) {
      expect((error as AuthorizerConfigError).variable).toBe(variable);
    }
  });
});
