/**
 * The step-up challenge's REQUEST authorizer: the same verification as the TOKEN authorizer, plus a
 * Deny naming the missing scopes for a 2026-07-28 `tools/call` of a tool the token may not call.
 * Tokens signed by jose, keys served over HTTP, the handler invoked as API Gateway would.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { loadAuthorizerConfig } from '../../../lambda/authorizer/config';
import { createAuthorizerHandler, type TokenAuthorizer } from '../../../lambda/authorizer/index';
import { headerOf, stepUpShortfall } from '../../../lambda/authorizer/step-up';
import { STEP_UP_CONTEXT_KEY } from '../../../lambda/shared/challenges';
import { requestAuthorizerEvent, tokenAuthorizerEvent } from '../../../fixtures/events';
import { startJwksServer, type JwksServer } from '../../../fixtures/jwks-server';
import { captureOutput, emfCounts, type CapturedOutput } from './support/output-capture';
import {
  accessTokenClaims,
  createTestKey,
  ISSUER,
  PUBLIC_BASE_URL,
  signAccessToken,
  type TestKey,
} from './support/tokens';

const TOOL_SCOPES = { server_config: ['mcp:admin'], report: ['reports:read', 'mcp:admin'] };

describe('stepUpShortfall', () => {
  const call = (name?: string, method = 'tools/call') => ({
    'Mcp-Method': method,
    ...(name === undefined ? {} : { 'Mcp-Name': name }),
  });

  it.each([
    ['a tool the token has the scopes of', call('server_config'), ['mcp:admin']],
    ['a tool without required scopes', call('whoami'), []],
    ['another method', call('server_config', 'tools/list'), []],
    ['a call without Mcp-Name (a 2025-era client)', call(undefined), []],
    ['no headers at all', {}, []],
    ['a tool named like an object property', call('constructor'), []],
    ['a tool named __proto__', call('__proto__'), []],
  ])('finds nothing missing for %s', (_case, headers, granted) => {
    expect(stepUpShortfall(headers, TOOL_SCOPES, granted)).toBeUndefined();
  });

  it('names the tool and only the scopes the token lacks, whatever the header case', () => {
    const headers = { 'mcp-method': 'tools/call', 'MCP-NAME': 'report' };

    expect(stepUpShortfall(headers, TOOL_SCOPES, ['mcp:admin'])).toEqual({
      tool: 'report',
      missingScopes: ['reports:read'],
    });
  });

  it('reads a header whatever its case, and nothing from a request without headers', () => {
    expect(headerOf({ authorization: 'Bearer x' }, 'Authorization')).toBe('Bearer x');
    expect(headerOf(null, 'Authorization')).toBeUndefined();
  });
});

describe('the authorizer answering REQUEST events (step-up challenge)', () => {
  let server: JwksServer;
  let key: TestKey;
  let output: CapturedOutput;

  beforeAll(async () => {
    key = await createTestKey('key-step-up');
    server = await startJwksServer([key.jwk]);
    output = captureOutput();
  });
  afterAll(async () => {
    await server.close();
  });
  afterEach(() => output.stop());

  function authorizer(env: Record<string, string> = {}): TokenAuthorizer {
    const config = loadAuthorizerConfig({
      PUBLIC_BASE_URL,
      AUTHKIT_ISSUER: ISSUER,
      AUTHKIT_JWKS_URL: server.url,
      POWERTOOLS_SERVICE_NAME: 'mcp-authorizer',
      POWERTOOLS_METRICS_NAMESPACE: 'McpAuthKit',
      STEP_UP_TOOL_SCOPES: JSON.stringify(TOOL_SCOPES),
      ...env,
    });
    return createAuthorizerHandler({
      config,
      logger: new Logger({ serviceName: config.serviceName, logLevel: 'INFO' }),
      metrics: new Metrics({ namespace: config.metricsNamespace, serviceName: config.serviceName }),
    });
  }

  async function bearer(scope: string): Promise<string> {
    return `Bearer ${await signAccessToken(key, accessTokenClaims({ scope }))}`;
  }

  async function run(authorize: TokenAuthorizer, event: Parameters<TokenAuthorizer>[0]) {
    output.clear();
    output.start();
    try {
      return await authorize(event);
    } finally {
      output.stop();
    }
  }

  it('denies a tools/call of a tool whose scopes the token lacks, naming them in the context', async () => {
    const authorization = await bearer('openid mcp:tools');
    const event = requestAuthorizerEvent({
      Authorization: authorization,
      'Mcp-Method': 'tools/call',
      'Mcp-Name': 'report',
    });

    const result = await run(authorizer(), event);

    expect(result.policyDocument.Statement[0].Effect).toBe('Deny');
    expect(result.context).toEqual({ [STEP_UP_CONTEXT_KEY]: 'reports:read mcp:admin' });
    expect(output.logs()).toEqual([
      expect.objectContaining({
        reason: 'insufficient_scope',
        tool: 'report',
        missing_scopes: 'reports:read mcp:admin',
      }),
    ]);
    expect(output.metrics().map(emfCounts)).toEqual([{ token_insufficient_scope: 1 }]);
    expect(output.lines.join('\n')).not.toContain(authorization.slice(7));
  });

  it.each([
    ['the same call with the scope', 'mcp:admin reports:read', { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'report' }],
    ['tools/list', 'openid', { 'Mcp-Method': 'tools/list' }],
    ['a 2025-era call (no Mcp-Name), judged by the runtime instead', 'openid', {}],
  ])('allows %s, with the identity in the context', async (_case, scope, headers) => {
    const result = await run(authorizer(), requestAuthorizerEvent({ authorization: await bearer(scope), ...headers }));

    expect(result.policyDocument.Statement[0].Effect).toBe('Allow');
    expect(result.context?.sub).toBe('user_01HXYZABCDEF');
    expect(result.context?.[STEP_UP_CONTEXT_KEY]).toBeUndefined();
  });

  it("names the server's own required scopes in the Deny context of a REQUEST event, not of a TOKEN event", async () => {
    const authorize = authorizer({ REQUIRED_SCOPES: 'mcp:tools' });
    const authorization = await bearer('openid');

    const request = await run(authorize, requestAuthorizerEvent({ Authorization: authorization }));
    const token = await run(authorize, tokenAuthorizerEvent(authorization));

    expect(request.context).toEqual({ [STEP_UP_CONTEXT_KEY]: 'mcp:tools' });
    expect(token.policyDocument.Statement[0].Effect).toBe('Deny');
    expect(token.context).toBeUndefined();
  });

  it('answers Unauthorized (401) for a REQUEST event without a valid Authorization header', async () => {
    await expect(run(authorizer(), requestAuthorizerEvent({ 'Mcp-Method': 'tools/call' }))).rejects.toThrow(
      /^Unauthorized$/,
    );
    await expect(run(authorizer(), requestAuthorizerEvent({ Authorization: 'Bearer nope' }))).rejects.toThrow(
      /^Unauthorized$/,
    );
  });
});
