import { InvalidBaseUrlError, serverUrls } from '../../../lambda/shared/urls';

describe('serverUrls', () => {
  it.each([
    ['https://mcp.example.com', 'https://mcp.example.com/mcp'],
    ['https://mcp.example.com/', 'https://mcp.example.com/mcp'],
    ['HTTPS://MCP.Example.COM', 'https://mcp.example.com/mcp'],
    [
      'https://abc123.execute-api.us-east-1.amazonaws.com/prod',
      'https://abc123.execute-api.us-east-1.amazonaws.com/prod/mcp',
    ],
    [
      'https://abc123.execute-api.us-east-1.amazonaws.com/prod/',
      'https://abc123.execute-api.us-east-1.amazonaws.com/prod/mcp',
    ],
    ['https://example.com/Tenant/', 'https://example.com/Tenant/mcp'],
    ['http://localhost:8787', 'http://localhost:8787/mcp'],
    ['http://127.0.0.1:8787/local', 'http://127.0.0.1:8787/local/mcp'],
  ])('derives the resource of %s as %s', (base, resource) => {
    expect(serverUrls(base).resource).toBe(resource);
  });

  it('derives both metadata locations and the metadata copies from the same base', () => {
    const urls = serverUrls('https://abc.execute-api.eu-west-1.amazonaws.com/prod');
    expect(urls).toEqual({
      base: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod',
      resource: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/mcp',
      protectedResourceMetadata:
        'https://abc.execute-api.eu-west-1.amazonaws.com/prod/.well-known/oauth-protected-resource/mcp',
      protectedResourceMetadataRoot:
        'https://abc.execute-api.eu-west-1.amazonaws.com/prod/.well-known/oauth-protected-resource',
      authorizationServerMetadata:
        'https://abc.execute-api.eu-west-1.amazonaws.com/prod/.well-known/oauth-authorization-server',
      openidConfiguration: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/.well-known/openid-configuration',
    });
  });

  it('keeps unresolved CDK tokens intact while lower-casing the rest of the host', () => {
    const urls = serverUrls(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal text of unresolved CDK tokens, not a template
      'https://${Token[TOKEN.123]}.execute-api.${Token[AWS.Region.7]}.${Token[AWS.URLSuffix.9]}/Prod',
    );
    expect(urls.resource).toBe(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal text of unresolved CDK tokens, not a template
      'https://${Token[TOKEN.123]}.execute-api.${Token[AWS.Region.7]}.${Token[AWS.URLSuffix.9]}/Prod/mcp',
    );
  });

  it.each([
    ['mcp.example.com', 'not an absolute URL'],
    ['http://mcp.example.com', 'https'],
    ['ftp://mcp.example.com', 'https'],
    ['https://mcp.example.com/?x=1', 'query or fragment'],
    ['https://mcp.example.com/#top', 'query or fragment'],
    ['https://user:pw@mcp.example.com', 'credentials'],
  ])('rejects %s', (base, reason) => {
    expect(() => serverUrls(base)).toThrow(InvalidBaseUrlError);
    expect(() => serverUrls(base)).toThrow(reason);
  });
});
