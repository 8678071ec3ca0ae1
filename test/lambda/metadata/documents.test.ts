import { loadMetadataConfig } from '../../../lambda/metadata/config';
import { protectedResourceMetadata } from '../../../lambda/metadata/documents';
import { serverUrls } from '../../../lambda/shared/urls';

describe('protectedResourceMetadata', () => {
  it.each([
    ['https://mcp.example.com', 'https://mcp.example.com/mcp'],
    ['https://mcp.example.com/', 'https://mcp.example.com/mcp'],
    [
      'https://abc123.execute-api.us-east-1.amazonaws.com/prod',
      'https://abc123.execute-api.us-east-1.amazonaws.com/prod/mcp',
    ],
    [
      'https://ABC123.execute-api.us-east-1.amazonaws.com/prod/',
      'https://abc123.execute-api.us-east-1.amazonaws.com/prod/mcp',
    ],
    ['http://localhost:8787', 'http://localhost:8787/mcp'],
  ])('publishes the resource of PUBLIC_BASE_URL=%s as exactly %s', (baseUrl, resource) => {
    // Prepare
    const config = loadMetadataConfig({ PUBLIC_BASE_URL: baseUrl, AUTHKIT_ISSUER: 'https://acme.authkit.app' });

    // Act
    const document = protectedResourceMetadata(config);

    // Assess
    expect(document.resource).toBe(resource);
    expect(document.resource).toBe(serverUrls(baseUrl).resource);
  });

  it('publishes every configured field with the exact issuer and header-only bearer tokens', () => {
    const config = loadMetadataConfig({
      PUBLIC_BASE_URL: 'https://mcp.example.com',
      AUTHKIT_ISSUER: 'https://acme.authkit.app',
      SCOPES_SUPPORTED: 'mcp:read mcp:write',
      RESOURCE_NAME: 'Acme MCP',
      RESOURCE_DOCUMENTATION: 'https://docs.example.com/mcp',
    });

    expect(protectedResourceMetadata(config)).toStrictEqual({
      resource: 'https://mcp.example.com/mcp',
      authorization_servers: ['https://acme.authkit.app'],
      bearer_methods_supported: ['header'],
      scopes_supported: ['mcp:read', 'mcp:write'],
      resource_name: 'Acme MCP',
      resource_documentation: 'https://docs.example.com/mcp',
    });
  });

  it('omits the optional fields when they are unset, rather than sending null or empty values', () => {
    const config = loadMetadataConfig({
      PUBLIC_BASE_URL: 'https://mcp.example.com',
      AUTHKIT_ISSUER: 'https://acme.authkit.app',
    });

    expect(protectedResourceMetadata(config)).toStrictEqual({
      resource: 'https://mcp.example.com/mcp',
      authorization_servers: ['https://acme.authkit.app'],
      bearer_methods_supported: ['header'],
    });
  });

  it.each([
    [['offline_access'], undefined],
    [['openid', 'offline_access', 'openid'], ['openid']],
    [['mcp:read'], ['mcp:read']],
  ])('never advertises offline_access, even when handed %j directly', (scopesSupported, expected) => {
    const document = protectedResourceMetadata({
      urls: serverUrls('https://mcp.example.com'),
      issuer: 'https://acme.authkit.app',
      scopesSupported,
    });

    expect(document.scopes_supported).toEqual(expected);
  });
});
