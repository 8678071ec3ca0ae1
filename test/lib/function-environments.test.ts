/**
 * What the construct writes to each function's environment is what that function's config reads
 * back: the same values, and with nothing set, the defaults the props document.
 */
import { loadAuthorizerConfig } from '../../lambda/authorizer/config';
import { loadMetadataConfig } from '../../lambda/metadata/config';
import { readRuntimeSettings } from '../../lambda/runtime/config';
import { authorizerEnvironment, mcpEnvironment, metadataEnvironment } from '../../lib/function-environments';
import { resolveServerSettings } from '../../lib/server-settings';

const base = 'https://mcp.example.com';
const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:key-AbCdEf';

describe('the environments the construct writes', () => {
  it('read back in the authorizer as the documented defaults', () => {
    // Arrange
    const settings = resolveServerSettings({ authkitDomain: 'acme.authkit.app' });

    // Act
    const config = loadAuthorizerConfig(authorizerEnvironment(settings, base));

    // Assess
    expect(config).toMatchObject({
      issuer: 'https://acme.authkit.app',
      serviceName: 'mcp-server-authorizer',
      metricsNamespace: 'McpServer',
      logLevel: 'INFO',
      clockToleranceSeconds: 30,
      jwksTimeoutMs: 2000,
      jwksCooldownMs: 30000,
    });
  });

  it('carry every prop the functions read', () => {
    // Arrange
    const settings = resolveServerSettings({
      authkitDomain: 'acme.authkit.app',
      requiredScopes: ['mcp:tools'],
      acceptedAudiences: ['client_01ABC'],
      metricsNamespace: 'Acme/Mcp',
      serviceName: 'acme',
      logLevel: 'DEBUG',
      allowedOrigins: ['https://app.example.com'],
      resourceDocumentation: 'https://docs.example.com/mcp',
      responseTransferMode: 'buffered',
    });

    // Act
    const authorizer = loadAuthorizerConfig(authorizerEnvironment(settings, base));
    const metadata = loadMetadataConfig(metadataEnvironment(settings, base));
    const runtime = readRuntimeSettings({}, mcpEnvironment(settings, base, arn));

    // Assess
    expect(authorizer).toMatchObject({
      audiences: ['https://mcp.example.com/mcp', 'client_01ABC'],
      requiredScopes: ['mcp:tools'],
      metricsNamespace: 'Acme/Mcp',
      serviceName: 'acme-authorizer',
      logLevel: 'DEBUG',
    });
    expect(metadata).toMatchObject({
      scopesSupported: ['openid', 'profile', 'email', 'mcp:tools'],
      resourceName: 'MCP server',
      resourceDocumentation: 'https://docs.example.com/mcp',
    });
    expect(runtime).toMatchObject({ responseTransferMode: 'buffered', maxBodyBytes: 1_048_576 });
    expect(runtime.urls.resource).toBe('https://mcp.example.com/mcp');
  });
});
