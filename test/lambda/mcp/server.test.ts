import * as fc from 'fast-check';
import {
  formattedJsonBytes,
  type JsonValue,
  longTaskMaxSeconds,
  MAX_JSON_DEPTH,
  MAX_JSON_OUTPUT_BYTES,
} from '../../../lambda/mcp/server';
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

  it('reports a personal token (no organization) without an organization and with no role', async () => {
    const reply = replyOf(await callTool(handler, 'whoami', {}, callerContext({ orgId: undefined })));
    expect(reply.result?.structuredContent).toMatchObject({
      permissions: [],
      accessNote: expect.stringMatching(/no organization/),
      tokenExpiresAt: '2030-03-17T17:46:40.000Z',
    });
    expect(reply.result?.structuredContent).not.toHaveProperty('organization');
    expect(reply.result?.structuredContent).not.toHaveProperty('role');
  });

  it('describes its output without type unions, which the Inspector --strict check warns about', async () => {
    const { body, headers } = legacyRequest('tools/list', {});
    const tools = replyOf(await handler(mcpEvent(body, { headers, authorizer: authorizerContext() }))).result
      ?.tools as { outputSchema?: unknown }[];
    const schemas = tools.map((tool) => JSON.stringify(tool.outputSchema ?? {}));
    expect(schemas.length).toBeGreaterThan(3);
    for (const schema of schemas) expect(schema).not.toMatch(/"type":\[/);
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

  const nested = (depth: number, inner = ''): string => '['.repeat(depth) + inner + ']'.repeat(depth);

  it.each([
    ['8 KB of nested arrays (4096 levels)', nested(4096)],
    ['one level more than the bound', nested(MAX_JSON_DEPTH + 1)],
    [
      'objects one level more than the bound',
      `${'{"a":'.repeat(MAX_JSON_DEPTH + 1)}1${'}'.repeat(MAX_JSON_DEPTH + 1)}`,
    ],
  ])(
    'refuses the nested-array amplification attack: %s at indent 8 is a tool error naming the depth bound',
    async (_case, json) => {
      const result = await callTool(handler, 'format_json', { json, indent: 8 });
      expect(result.statusCode).toBe(200);
      const reply = replyOf(result).result;
      expect(reply?.isError).toBe(true);
      expect(reply?.content?.[0].text).toBe(
        'The input nests arrays and objects more than 64 levels deep; format_json accepts at most 64.',
      );
      expect(result.body.length).toBeLessThan(1024);
    },
  );

  it('formats input nested exactly 64 levels deep, and does not count brackets inside strings', async () => {
    const json = nested(MAX_JSON_DEPTH, `"${'['.repeat(100)}\\\\"`);
    const result = await format({ json, indent: 1 });
    expect(result?.isError).toBeUndefined();
    expect(result?.structuredContent).toMatchObject({ formatted: JSON.stringify(JSON.parse(json), null, 1) });
  });

  it('refuses the wide amplification attack (64 levels, 60 000 leaves at indent 8) before building an answer over 1 MiB', async () => {
    const json = nested(MAX_JSON_DEPTH - 1, `[${Array(60_000).fill(0).join(',')}]`);
    const expected = Buffer.byteLength(JSON.stringify(JSON.parse(json), null, 8), 'utf8');
    const result = await callTool(handler, 'format_json', { json, indent: 8 });
    const reply = replyOf(result).result;
    expect(reply?.isError).toBe(true);
    expect(reply?.content?.[0].text).toBe(
      `The formatted JSON would be ${expected} bytes; format_json returns at most 1048576 (1 MiB). Use a smaller indent (0 is compact) or a smaller input.`,
    );
    expect(result.body.length).toBeLessThan(1024);
    const compact = replyOf(await callTool(handler, 'format_json', { json, indent: 0 })).result;
    expect(compact?.isError).toBeUndefined();
  });

  it('measures the formatted size exactly as JSON.stringify would write it, at every indent', () => {
    const sizeIsExact: fc.IProperty<[unknown, number]> = fc.property(
      fc.jsonValue({ maxDepth: 6 }),
      fc.integer({ min: 0, max: 8 }),
      (value, indent) => {
        const expected = Buffer.byteLength(JSON.stringify(value, null, indent), 'utf8');
        expect(formattedJsonBytes(value as JsonValue, indent)).toBe(expected);
      },
    );
    expect(() => fc.assert(sizeIsExact, { numRuns: 500 })).not.toThrow();
    expect(MAX_JSON_OUTPUT_BYTES).toBe(1024 * 1024);
  });
});

describe('long_task', () => {
  const secondsSchema = async (handler: McpLambdaHandler) => {
    const { body, headers } = legacyRequest('tools/list', {});
    const tools = replyOf(await handler(mcpEvent(body, { headers, authorizer: authorizerContext() }))).result
      ?.tools as { name: string; inputSchema: { properties: { seconds: { maximum: number } } } }[];
    return tools.find((tool) => tool.name === 'long_task')?.inputSchema.properties.seconds;
  };

  it('refuses to hold a request for 900 s: the default maximum is what the default 5-minute timeout can finish', async () => {
    const handler = loadEntry({ PUBLIC_BASE_URL, FUNCTION_TIMEOUT_SECONDS: '299' });
    expect((await secondsSchema(handler))?.maximum).toBe(295);
    for (const seconds of [296, 900]) {
      const result = await callTool(handler, 'long_task', { seconds, steps: 1 });
      expect(result.statusCode).toBe(200);
      expect(replyOf(result).result?.isError).toBe(true);
      expect(replyOf(result).result?.content?.[0].text).toMatch(/seconds/);
    }
  });

  it('takes the same maximum when the function was not told its timeout (the construct default, 299 s)', async () => {
    expect((await secondsSchema(loadEntry({ PUBLIC_BASE_URL, FUNCTION_TIMEOUT_SECONDS: undefined })))?.maximum).toBe(
      295,
    );
  });

  it.each([
    ['899', 895],
    ['28', 24],
    ['3', 1],
  ])('follows a function timeout of %s s (a stage that sets mcpTimeout) with a maximum of %i s', (timeout, max) => {
    expect(longTaskMaxSeconds({ FUNCTION_TIMEOUT_SECONDS: timeout })).toBe(max);
  });

  it('refuses a malformed FUNCTION_TIMEOUT_SECONDS, naming it', () => {
    expect(() => longTaskMaxSeconds({ FUNCTION_TIMEOUT_SECONDS: '15m' })).toThrow(
      /^FUNCTION_TIMEOUT_SECONDS: "15m" is not a whole number from 1 to 899/,
    );
  });

  it('runs a short task to the end and says how many steps it took', async () => {
    const handler = loadEntry({ PUBLIC_BASE_URL, FUNCTION_TIMEOUT_SECONDS: '899' });
    expect((await secondsSchema(handler))?.maximum).toBe(895);
    const result = replyOf(await callTool(handler, 'long_task', { seconds: 1, steps: 2 })).result;
    expect(result?.isError).toBeUndefined();
    expect(result?.content?.[0].text).toMatch(/^Finished 2 step\(s\) in 1\.\d s\.$/);
  });
});
