import type { ProxyResult } from '../../../lambda/runtime/adapter';
import type { McpLambdaHandler } from '../../../lambda/runtime/handler';
import {
  authorizerContext,
  callerContext,
  legacyRequest,
  mcpEvent,
  PUBLIC_BASE_URL,
  replyOf,
  TOKEN,
} from '../runtime/fixtures';

/** Loads the Lambda entry as Lambda would: a fresh module with the construct's environment. */
function loadEntry(env: Record<string, string | undefined>): McpLambdaHandler {
  const saved = { ...process.env };
  Object.assign(process.env, { POWERTOOLS_LOG_LEVEL: 'SILENT', ...env });
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete process.env[key];
  try {
    let handler: McpLambdaHandler | undefined;
    jest.isolateModules(() => {
      handler = (require('../../../lambda/mcp/index') as { handler: McpLambdaHandler }).handler;
    });
    return handler as McpLambdaHandler;
  } finally {
    process.env = saved;
  }
}

async function callTool(
  handler: McpLambdaHandler,
  name: string,
  args: Record<string, unknown>,
  authorizer = authorizerContext(),
): Promise<ProxyResult> {
  const { body, headers } = legacyRequest('tools/call', { name, arguments: args });
  return handler(mcpEvent(body, { headers, authorizer }));
}

describe('the sample MCP Lambda entry', () => {
  it('refuses to start without PUBLIC_BASE_URL, naming the variable', () => {
    expect(() => loadEntry({ PUBLIC_BASE_URL: undefined })).toThrow(/PUBLIC_BASE_URL is not set/);
  });

  it('reports its own name and version', async () => {
    const handler = loadEntry({ PUBLIC_BASE_URL });
    const { body } = legacyRequest('initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 't', version: '1' },
    });
    const reply = replyOf(await handler(mcpEvent(body)));
    expect(reply.result?.serverInfo).toMatchObject({ name: 'mcp-authkit-apigateway-sample', version: '0.1.0' });
    expect(reply.result?.instructions).toEqual(expect.stringContaining('whoami'));
  });
});

describe('whoami', () => {
  const handler = loadEntry({ PUBLIC_BASE_URL });

  it('returns kind, sub, organization, client, scopes and expiry, never the token, and says why no role is known without a WorkOS key', async () => {
    const result = await callTool(handler, 'whoami', {});
    const reply = replyOf(result);
    expect(reply.result?.structuredContent).toEqual({
      kind: 'user',
      permissions: [],
      accessNote: expect.stringMatching(/no WorkOS API key is configured.*workosApiKeySecret/),
      sub: 'user_01H',
      organization: 'org_01O',
      client: 'client_01C',
      scopes: ['openid', 'profile', 'email'],
      tokenExpiresAt: '2030-03-17T17:46:40.000Z',
    });
    expect(JSON.parse(reply.result?.content?.[0].text ?? '{}')).toEqual(reply.result?.structuredContent);
    expect(result.body).not.toContain(TOKEN);
  });

  it('reports a personal token (no organization) with a null organization and no role', async () => {
    const reply = replyOf(await callTool(handler, 'whoami', {}, callerContext({ orgId: undefined })));
    expect(reply.result?.structuredContent).toMatchObject({
      organization: null,
      permissions: [],
      accessNote: expect.stringMatching(/no organization/),
      tokenExpiresAt: '2030-03-17T17:46:40.000Z',
    });
  });
});

describe('policies of the sample tools', () => {
  const handler = loadEntry({ PUBLIC_BASE_URL });
  const machine = callerContext({ sub: 'client_01M', clientId: 'client_01M', sid: undefined, scopes: ['mcp:admin'] });

  it('tells a machine it is one', async () => {
    const reply = replyOf(await callTool(handler, 'whoami', {}, machine));
    expect(reply.result?.structuredContent).toMatchObject({
      kind: 'machine',
      accessNote: expect.stringMatching(/machine/),
    });
  });

  it.each(['confirm', 'server_config'])('refuses a machine %s, whatever its scopes', async (tool) => {
    const result = await callTool(handler, tool, { question: 'sure?' }, machine);
    expect(result.statusCode).toBe(403);
    expect(replyOf(result).error?.data).toMatchObject({ requirement: 'callers', requiredCallers: 'users' });
  });

  it('refuses server_config to a person without the mcp:admin scope, and serves it with the scope', async () => {
    const refused = await callTool(handler, 'server_config', {});
    expect(refused.statusCode).toBe(403);
    expect(replyOf(refused).error?.data).toMatchObject({ error: 'insufficient_scope', missingScopes: ['mcp:admin'] });
    const served = replyOf(await callTool(handler, 'server_config', {}, callerContext({ scopes: ['mcp:admin'] })));
    expect(served.result?.structuredContent).toMatchObject({
      resource: `${PUBLIC_BASE_URL}/mcp`,
      rolesFromWorkOS: false,
      protocolVersions: expect.arrayContaining(['2026-07-28']),
    });
  });
});

describe('format_json', () => {
  const handler = loadEntry({ PUBLIC_BASE_URL });
  const format = async (args: Record<string, unknown>) => replyOf(await callTool(handler, 'format_json', args)).result;

  it('pretty-prints with two spaces by default and keeps key order', async () => {
    const result = await format({ json: '{"b":1,"a":[true,null]}' });
    expect(result?.structuredContent).toEqual({
      formatted: '{\n  "b": 1,\n  "a": [\n    true,\n    null\n  ]\n}',
      valueType: 'object',
      inputBytes: 23,
      outputBytes: 45,
    });
  });

  it('sorts keys at every depth and compacts with indent 0', async () => {
    const result = await format({ json: '[{"z":{"y":1,"x":2},"a":"é"}]', indent: 0, sortKeys: true });
    expect(result?.structuredContent).toMatchObject({ formatted: '[{"a":"é","z":{"x":2,"y":1}}]', valueType: 'array' });
  });

  it.each([
    ['"text"', 'string'],
    ['42', 'number'],
    ['false', 'boolean'],
    ['null', 'null'],
  ])('names the type of %s', async (json, valueType) => {
    expect((await format({ json }))?.structuredContent).toMatchObject({ formatted: json, valueType });
  });

  it('reports invalid JSON as a tool error with the parser message', async () => {
    const result = await format({ json: '{"a":1,}' });
    expect(result?.isError).toBe(true);
    expect(result?.content?.[0].text).toMatch(/^The input is not valid JSON: /);
  });

  it.each([
    ['an indent above 8', { json: '{}', indent: 9 }],
    ['a fractional indent', { json: '{}', indent: 1.5 }],
    ['a missing json argument', {}],
  ])('reports %s as a tool error, not an HTTP error', async (_case, args) => {
    const result = await callTool(handler, 'format_json', args);
    expect(result.statusCode).toBe(200);
    expect(replyOf(result).result?.isError).toBe(true);
  });
});
