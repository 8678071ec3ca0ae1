import { AUTHORIZER_SETTINGS, tokenAlgorithmRefusal } from '../../../../lambda/shared/settings/authorizer';
import { MCP_SETTINGS, parseAllowedOrigin } from '../../../../lambda/shared/settings/mcp';
import { deploymentServiceName, metricsNamespace, serviceName } from '../../../../lambda/shared/settings/common';
import { SettingValueError } from '../../../../lambda/shared/settings/setting';

// The rules the construct checks its props with are the rows the functions read: each is tested here once.
describe('the rules shared by the construct and the functions', () => {
  it.each([
    ['a metrics namespace under AWS/', () => metricsNamespace.read('AWS/Lambda')],
    ['a metrics namespace with a comma', () => metricsNamespace.read('a,b')],
    ['a service name with a space', () => deploymentServiceName.read('my service')],
    ['a 65-character deployment service name', () => deploymentServiceName.read('s'.repeat(65))],
    ['an unknown token algorithm', () => AUTHORIZER_SETTINGS.tokenAlgorithms.read('RS256 HS256')],
  ])('refuses %s with advice that leaves the value out', (_case, read) => {
    expect(read).toThrow(SettingValueError);
    try {
      read();
    } catch (error) {
      expect((error as SettingValueError).advice).toMatch(/^use /);
    }
  });

  it("lets a function's service name be the longest deployment name plus the function's suffix", () => {
    const name = `${'s'.repeat(64)}-authorizer`;
    expect(serviceName('authorizer').read(name)).toBe(name);
    expect(() => serviceName('metadata').read(name)).toThrow(SettingValueError);
  });

  it('accepts the defaults and a custom namespace', () => {
    expect(metricsNamespace.read(undefined)).toBe('McpServer');
    expect(metricsNamespace.read('Acme/Mcp')).toBe('Acme/Mcp');
    expect(deploymentServiceName.read(undefined)).toBe('mcp-server');
  });

  it.each(['a,b', 'a b', '', "it's", '"q"'])('refuses the accepted audience item %j', (item) => {
    expect(AUTHORIZER_SETTINGS.acceptedAudiences.checkItem(item)).toMatch(/an audience is one non-empty value/);
  });

  it('refuses a quoted audience in the environment too', () => {
    expect(() => AUTHORIZER_SETTINGS.acceptedAudiences.read('client_1 "x"')).toThrow(/""x"" is not an audience/);
  });
});

describe('the one allowed-origin rule', () => {
  it.each([
    ['https://app.example.com', { origin: 'https://app.example.com' }],
    ['http://localhost:6274', { origin: 'http://localhost:6274' }],
    ['http://[::1]:8080', { origin: 'http://[::1]:8080' }],
    ['https://APP.example.com/', { origin: 'https://app.example.com' }],
    ['Inspector.Local', { hostname: 'inspector.local' }],
  ])('reads %j as %j', (entry, expected) => {
    expect(parseAllowedOrigin(entry)).toEqual(expected);
  });

  it.each(['https://a.example/app', 'https://a.example?x=1', 'ftp://a.example', 'https://u@a.example', 'not a host'])(
    'refuses %j, in the contract and in the environment',
    (entry) => {
      expect(parseAllowedOrigin(entry)).toBeUndefined();
      expect(() => MCP_SETTINGS.allowedOrigins.read(entry)).toThrow(/is neither an origin nor a hostname/);
    },
  );
});

describe('the metrics namespace rule', () => {
  it.each([' ', ' Acme', 'Acme '])('refuses %j, which the trimmed environment could not carry', (name) => {
    expect(() => metricsNamespace.read(name)).toThrow(/spaces only inside/);
  });

  it('accepts a space inside', () => {
    expect(metricsNamespace.read('Acme Mcp')).toBe('Acme Mcp');
  });
});

describe('the token algorithm rule', () => {
  it.each(['RS256,PS256', 'HS256', 'none', ''])('refuses %j as one algorithm name', (name) => {
    expect(tokenAlgorithmRefusal(name)?.advice).toMatch(/^use asymmetric algorithms from /);
  });

  it('accepts RS256', () => {
    expect(tokenAlgorithmRefusal('RS256')).toBeUndefined();
  });
});

describe('the WorkOS API base URL rule', () => {
  it.each([
    ['https://api.workos.com', 'https://api.workos.com'],
    ['HTTPS://API.WORKOS.COM/', 'https://api.workos.com'],
    ['http://127.0.0.1:8788', 'http://127.0.0.1:8788'],
    ['http://localhost:8788/', 'http://localhost:8788'],
  ])('accepts %j as %j', (raw, origin) => {
    expect(MCP_SETTINGS.workosApiBaseUrl.read(raw)).toBe(origin);
  });

  it.each([
    ['plain http on a public host', 'http://api.workos.com'],
    ['a path, which the WorkOS SDK cannot carry', 'https://proxy.example.com/workos'],
    ['a query', 'https://api.workos.com/?x=1'],
    ['no URL at all', 'api.workos.com'],
  ])('refuses %s', (_case, raw) => {
    expect(() => MCP_SETTINGS.workosApiBaseUrl.read(raw)).toThrow(/is not a WorkOS API base URL/);
  });

  it('leaves the default to the runtime when unset', () => {
    expect(MCP_SETTINGS.workosApiBaseUrl.read(undefined)).toBeUndefined();
  });
});

describe('the permissions cache TTL rule', () => {
  it.each(['0', '60000', '3600000'])('accepts %s ms', (raw) => {
    expect(MCP_SETTINGS.permissionsCacheTtlMs.read(raw)).toBe(Number(raw));
  });

  it.each(['3600001', '-1', '1.5', '60s'])('refuses %j', (raw) => {
    expect(() => MCP_SETTINGS.permissionsCacheTtlMs.read(raw)).toThrow(/from 0 to 3600000/);
  });
});
