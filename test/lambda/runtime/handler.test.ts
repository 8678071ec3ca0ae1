import { McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { Logger } from '@aws-lambda-powertools/logger';
import type { ProxyResult } from '../../../lambda/runtime/adapter';
import { callerOf } from '../../../lambda/runtime/caller';
import { defineTool } from '../../../lambda/runtime/tool-definition';
import {
  createMcpLambdaHandler,
  type McpLambdaHandlerOptions,
  type McpLambdaRequestContext,
} from '../../../lambda/runtime/handler';
import { RuntimeConfigError } from '../../../lambda/runtime/errors';
import {
  authorizerContext,
  captureLogs,
  initialize,
  legacyRequest,
  mcpEvent,
  type McpEventOptions,
  MODERN,
  modernRequest,
  PUBLIC_BASE_URL,
  replyOf,
  RESOURCE,
  TOKEN,
} from './fixtures';

/** What the tools of the test server did, so tests can prove a refused tool never ran. */
const sideEffects: string[] = [];
const factoryCalls: McpLambdaRequestContext[] = [];

function testServer(ctx: McpLambdaRequestContext): McpServer {
  factoryCalls.push(ctx);
  const server = new McpServer(ctx.serverInfo);
  server.registerTool('whoami', { description: 'caller identity' }, async (toolCtx) => {
    const caller = callerOf(toolCtx.http?.authInfo);
    return { content: [{ type: 'text', text: JSON.stringify(caller) }], structuredContent: { ...caller } };
  });
  server.registerTool('explode', { description: 'always fails' }, async () => {
    throw new Error('the backend is on fire');
  });
  return server;
}

/** `delete_note`, needing `scopes`, defined with its policy. */
function deleteNote(scopes: readonly string[] = ['notes:write']) {
  return defineTool(
    'delete_note',
    { inputSchema: z.object({ id: z.string() }), policy: { scopes } },
    async ({ id }) => {
      sideEffects.push(`deleted ${id}`);
      return { content: [{ type: 'text', text: `deleted ${id}` }] };
    },
  );
}

const silentLogger = () => new Logger({ serviceName: 'mcp-test', logLevel: 'SILENT' });

function handlerWith(options: McpLambdaHandlerOptions = {}) {
  return createMcpLambdaHandler(testServer, {
    publicBaseUrl: PUBLIC_BASE_URL,
    serverInfo: { name: 'runtime-test', version: '9.9.9' },
    tools: [deleteNote()],
    logger: silentLogger(),
    ...options,
  });
}

beforeEach(() => {
  sideEffects.length = 0;
  factoryCalls.length = 0;
});

describe('initialize and discovery', () => {
  const handler = handlerWith();

  it.each(['2025-06-18', '2025-11-25'])('answers a %s initialize with that revision, as JSON', async (version) => {
    const result = await handler(mcpEvent(initialize(version)));
    expect(result.statusCode).toBe(200);
    expect(result.multiValueHeaders['content-type']).toEqual(['application/json']);
    const reply = replyOf(result);
    expect(reply.id).toBe(1);
    expect(reply.result).toMatchObject({
      protocolVersion: version,
      serverInfo: { name: 'runtime-test', version: '9.9.9' },
      capabilities: { tools: {} },
    });
    expect(result.multiValueHeaders['mcp-session-id']).toBeUndefined();
  });

  it('answers a 2026-07-28 client that sends the 2025 handshake with the newest 2025 revision', async () => {
    const reply = replyOf(await handler(mcpEvent(initialize(MODERN))));
    expect(reply.result?.protocolVersion).toBe('2025-11-25');
  });

  it('answers a 2026-07-28 server/discover probe with the modern revision', async () => {
    const { body, headers } = modernRequest('server/discover');
    const result = await handler(mcpEvent(body, { headers }));
    expect(result.statusCode).toBe(200);
    const reply = replyOf(result);
    expect(reply.result).toMatchObject({ supportedVersions: [MODERN], capabilities: { tools: {} } });
    expect(reply.result?._meta).toMatchObject({ 'io.modelcontextprotocol/serverInfo': { name: 'runtime-test' } });
  });

  it('acknowledges notifications/initialized with 202 and no body', async () => {
    const result = await handler(
      mcpEvent(
        { jsonrpc: '2.0', method: 'notifications/initialized' },
        { headers: { 'MCP-Protocol-Version': '2025-06-18' } },
      ),
    );
    expect(result.statusCode).toBe(202);
    expect(result.body).toBe('');
  });

  it('hands the factory the era, the caller and the server info', async () => {
    await handler(mcpEvent(initialize('2025-06-18')));
    const { body, headers } = modernRequest('server/discover');
    await handler(mcpEvent(body, { headers }));
    expect(factoryCalls.map((c) => c.era)).toEqual(['legacy', 'modern']);
    expect(factoryCalls[0].caller).toMatchObject({
      kind: 'user',
      sub: 'user_01H',
      organizationId: 'org_01O',
      clientId: 'client_01C',
    });
    expect(factoryCalls[0].serverInfo).toEqual({ name: 'runtime-test', version: '9.9.9' });
  });
});

describe('tools', () => {
  const handler = handlerWith();

  it.each([
    ['2025-06-18', () => legacyRequest('tools/list', undefined, '2025-06-18')],
    ['2026-07-28', () => modernRequest('tools/list')],
  ])('lists the tools for a %s client, less those its token can never call', async (_era, build) => {
    const { body, headers } = build();
    const listed = async (h: typeof handler, scope?: string) => {
      const authorizer = scope === undefined ? undefined : authorizerContext({ scope });
      const reply = replyOf(await h(mcpEvent(body, { headers, authorizer })));
      return ((reply.result?.tools ?? []) as { name: string }[]).map((t) => t.name).sort();
    };
    expect(await listed(handler)).toEqual(['explode', 'whoami']);
    expect(await listed(handler, 'openid notes:write')).toEqual(['delete_note', 'explode', 'whoami']);
    expect(await listed(handlerWith({ listAllTools: true }))).toEqual(['delete_note', 'explode', 'whoami']);
  });

  it.each([
    ['2025-11-25', () => legacyRequest('tools/call', { name: 'whoami', arguments: {} })],
    ['2026-07-28', () => modernRequest('tools/call', { name: 'whoami', arguments: {} })],
  ])('shows whoami the identity from the authorizer context (%s)', async (_era, build) => {
    const { body, headers } = build();
    const result = await handler(mcpEvent(body, { headers }));
    expect(result.statusCode).toBe(200);
    const reply = replyOf(result);
    expect(reply.result?.structuredContent).toEqual({
      kind: 'user',
      sub: 'user_01H',
      organizationId: 'org_01O',
      audience: RESOURCE,
      clientId: 'client_01C',
      scopes: ['openid', 'profile', 'email'],
      expiresAt: 1900000000,
      sessionId: 'session_01S',
    });
    expect(result.body).not.toContain(TOKEN);
  });

  it('gives tools the token, resource and metadata URL in AuthInfo', async () => {
    let seen: unknown;
    const handler2 = createMcpLambdaHandler(
      ({ serverInfo }) => {
        const server = new McpServer(serverInfo);
        server.registerTool('peek', {}, async (ctx) => {
          seen = ctx.http?.authInfo;
          return { content: [] };
        });
        return server;
      },
      { publicBaseUrl: PUBLIC_BASE_URL, logger: silentLogger() },
    );
    const { body, headers } = legacyRequest('tools/call', { name: 'peek', arguments: {} });
    await handler2(mcpEvent(body, { headers: { ...headers, Authorization: `bEaReR ${TOKEN}` } }));
    expect(seen).toEqual({
      token: TOKEN,
      clientId: 'client_01C',
      scopes: ['openid', 'profile', 'email'],
      expiresAt: 1900000000,
      resource: new URL(RESOURCE),
      resourceMetadataUrl: `${PUBLIC_BASE_URL}/.well-known/oauth-protected-resource/mcp`,
      extra: { sub: 'user_01H', orgId: 'org_01O', sid: 'session_01S', jti: 'jti-1', aud: RESOURCE },
    });
  });

  it('turns a throwing tool into a tool error, not an HTTP error', async () => {
    const { body, headers } = legacyRequest('tools/call', { name: 'explode', arguments: {} });
    const result = await handler(mcpEvent(body, { headers }));
    expect(result.statusCode).toBe(200);
    const reply = replyOf(result);
    expect(reply.result?.isError).toBe(true);
    expect(reply.result?.content?.[0].text).toContain('the backend is on fire');
  });
});

describe('per-tool scopes', () => {
  const handler = handlerWith();

  it.each([
    [
      '2025-11-25',
      () => legacyRequest('tools/call', { name: 'delete_note', arguments: { id: 'n1' } }, '2025-11-25', 41),
    ],
    ['2026-07-28', () => modernRequest('tools/call', { name: 'delete_note', arguments: { id: 'n1' } }, 41)],
  ])('refuses a tool whose scopes the caller lacks, before it runs (%s)', async (_era, build) => {
    const { body, headers } = build();
    const result = await handler(mcpEvent(body, { headers }));
    expect(result.statusCode).toBe(403);
    expect(result.multiValueHeaders['www-authenticate']).toEqual([
      `Bearer error="insufficient_scope", scope="notes:write", resource_metadata="${PUBLIC_BASE_URL}/.well-known/oauth-protected-resource/mcp"`,
    ]);
    const reply = replyOf(result);
    expect(reply.id).toBe(41);
    expect(reply.error?.message).toContain('insufficient_scope');
    expect(reply.error?.data).toEqual({
      error: 'insufficient_scope',
      tool: 'delete_note',
      requiredScopes: ['notes:write'],
      missingScopes: ['notes:write'],
    });
    expect(sideEffects).toEqual([]);
    expect(factoryCalls).toEqual([]);
  });

  it('runs the tool when the caller holds the scopes', async () => {
    const { body, headers } = legacyRequest('tools/call', { name: 'delete_note', arguments: { id: 'n2' } });
    const result = await handler(
      mcpEvent(body, { headers, authorizer: authorizerContext({ scope: 'openid notes:write' }) }),
    );
    expect(result.statusCode).toBe(200);
    expect(replyOf(result).result?.content?.[0].text).toBe('deleted n2');
    expect(sideEffects).toEqual(['deleted n2']);
  });

  it('names only the missing scopes', async () => {
    const scoped = handlerWith({ tools: [deleteNote(['notes:read', 'notes:write'])] });
    const { body, headers } = legacyRequest('tools/call', { name: 'delete_note', arguments: { id: 'n3' } });
    const reply = replyOf(
      await scoped(mcpEvent(body, { headers, authorizer: authorizerContext({ scope: 'notes:read' }) })),
    );
    expect(reply.error?.data?.missingScopes).toEqual(['notes:write']);
    expect(sideEffects).toEqual([]);
  });

  it('refuses at definition a policy scope that is not a scope token', () => {
    expect(() => deleteNote(['has space'])).toThrow(RuntimeConfigError);
  });

  it('fails at start when toolScopes is still passed, saying how to move it to defineTool', () => {
    expect(() => handlerWith({ toolScopes: { delete_note: ['notes:write'] } })).toThrow(
      expect.objectContaining({ setting: 'toolScopes', message: expect.stringMatching(/defineTool.*policy.*tools/) }),
    );
  });
});

describe('identity', () => {
  const handler = handlerWith();

  it.each<[string, McpEventOptions]>([
    ['no authorizer context at all', { authorizer: null }],
    ['an authorizer context without sub', { authorizer: authorizerContext({ sub: undefined }) }],
    ['no Authorization header', { headers: { Authorization: undefined } }],
  ])('answers 401 and serves nothing for %s', async (_case, options) => {
    const { body, headers } = legacyRequest('tools/call', { name: 'delete_note', arguments: { id: 'n4' } });
    const result = await handler(mcpEvent(body, { ...options, headers: { ...headers, ...options.headers } }));
    expect(result.statusCode).toBe(401);
    expect(result.multiValueHeaders['content-type']).toEqual(['application/json']);
    expect(result.multiValueHeaders['www-authenticate']).toEqual([
      `Bearer resource_metadata="${PUBLIC_BASE_URL}/.well-known/oauth-protected-resource/mcp"`,
    ]);
    expect(replyOf(result).error?.code).toBe(-32000);
    expect(sideEffects).toEqual([]);
    expect(factoryCalls).toEqual([]);
  });

  it('answers 401 invalid_token for a token that expired while its authorizer decision was cached, and logs why without the token', async () => {
    // Prepare: expired 4 minutes ago, still inside API Gateway's default 5-minute authorizer cache.
    const expiredAt = Math.floor(Date.now() / 1000) - 240;
    const logs = captureLogs();
    const logged = createMcpLambdaHandler(testServer, {
      publicBaseUrl: PUBLIC_BASE_URL,
      tools: [deleteNote()],
      logger: new Logger({ serviceName: 'mcp-test' }),
    });
    const { body, headers } = legacyRequest('tools/call', { name: 'delete_note', arguments: { id: 'n5' } });

    // Act
    let result: ProxyResult;
    try {
      result = await logged(
        mcpEvent(body, { headers, authorizer: authorizerContext({ exp: String(expiredAt), scope: 'notes:write' }) }),
      );
    } finally {
      logs.restore();
    }

    // Assess
    expect(result.statusCode).toBe(401);
    expect(result.multiValueHeaders['content-type']).toEqual(['application/json']);
    expect(result.multiValueHeaders['www-authenticate']).toEqual([
      `Bearer error="invalid_token", error_description="The access token has expired", resource_metadata="${PUBLIC_BASE_URL}/.well-known/oauth-protected-resource/mcp"`,
    ]);
    expect(replyOf(result).error).toEqual({
      code: -32000,
      message: 'Unauthorized: The access token has expired',
      data: { error: 'invalid_token', error_description: 'The access token has expired' },
    });
    expect(sideEffects).toEqual([]);
    expect(factoryCalls).toEqual([]);
    const line = logs.lines().find((l) => l.message === 'mcp request');
    expect(line).toMatchObject({ status: 401, sub: 'user_01H' });
    expect(line?.reason).toContain(`expired at ${new Date(expiredAt * 1000).toISOString()}`);
    expect(logs.raw()).not.toContain(TOKEN);
  });

  it('serves a token within the clock tolerance of its expiry', async () => {
    const { body, headers } = legacyRequest('tools/call', { name: 'whoami', arguments: {} });
    const justExpired = Math.floor(Date.now() / 1000) - 5;
    const result = await handler(
      mcpEvent(body, { headers, authorizer: authorizerContext({ exp: String(justExpired) }) }),
    );
    expect(result.statusCode).toBe(200);
    expect(replyOf(result).result?.structuredContent).toMatchObject({ sub: 'user_01H', expiresAt: justExpired });
  });
});

describe('bad input never yields a 5xx', () => {
  const handler = handlerWith({ maxBodyBytes: 2048 });

  it.each([
    ['malformed JSON', mcpEvent(undefined, { rawBody: '{"jsonrpc":"2.0",' }), 400, -32700],
    ['an empty body', mcpEvent(undefined, { rawBody: '' }), 400, -32700],
    [
      'a non-JSON Content-Type',
      mcpEvent(initialize('2025-06-18'), { headers: { 'Content-Type': 'text/plain' } }),
      415,
      -32000,
    ],
    [
      'a missing Content-Type',
      mcpEvent(initialize('2025-06-18'), { headers: { 'Content-Type': undefined } }),
      415,
      -32000,
    ],
    ['a missing Accept', mcpEvent(initialize('2025-06-18'), { headers: { Accept: undefined } }), 406, -32000],
    [
      'an Accept without text/event-stream',
      mcpEvent(initialize('2025-06-18'), { headers: { Accept: 'application/json' } }),
      406,
      -32000,
    ],
    [
      'an oversized body',
      mcpEvent({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(4096) } }),
      413,
      -32000,
    ],
    ['a JSON-RPC batch', mcpEvent([initialize('2025-06-18', 1), initialize('2025-06-18', 2)]), 400, -32600],
    ['a JSON value that is not a JSON-RPC message', mcpEvent({ hello: 'world' }), 400, -32600],
    [
      'an unsupported MCP-Protocol-Version (2025 era)',
      mcpEvent(legacyRequest('tools/list', undefined, '1999-01-01').body, {
        headers: { 'MCP-Protocol-Version': '1999-01-01' },
      }),
      400,
      -32000,
    ],
    [
      'a modern revision header without the envelope',
      mcpEvent(legacyRequest('tools/list', undefined).body, { headers: { 'MCP-Protocol-Version': MODERN } }),
      400,
      -32602,
    ],
    ['a GET', mcpEvent(undefined, { httpMethod: 'GET', headers: { Accept: 'text/event-stream' } }), 405, -32000],
    ['a DELETE', mcpEvent(undefined, { httpMethod: 'DELETE' }), 405, -32000],
    ['a PUT', mcpEvent(initialize('2025-06-18'), { httpMethod: 'PUT' }), 405, -32000],
    [
      'a header value HTTP does not allow',
      mcpEvent(initialize('2025-06-18'), { headers: { 'X-Bad': 'a\u0100b' } }),
      400,
      -32600,
    ],
  ])('answers %s with %i and JSON-RPC code %i', async (_case, event, status, code) => {
    const result = await handler(event);
    expect(result.statusCode).toBe(status);
    expect(result.multiValueHeaders['content-type']).toEqual(['application/json']);
    const reply = replyOf(result);
    expect(reply.jsonrpc).toBe('2.0');
    expect(reply.error?.code).toBe(code);
    if (status === 405) expect(result.multiValueHeaders.allow).toEqual(['POST, OPTIONS']);
  });

  // The SDK receives the parsed message, never the body: a parsed `null` or primitive must still reach it as the message.
  it.each(['null', '42', '"text"', 'true'])(
    'answers the JSON value %s, which is no JSON-RPC message, with 400 and -32600 in both eras',
    async (rawBody) => {
      for (const { headers } of [legacyRequest('ping', undefined), modernRequest('ping')]) {
        const result = await handler(mcpEvent(undefined, { rawBody, headers }));
        expect(result.statusCode).toBe(400);
        expect(replyOf(result)).toMatchObject({ id: null, error: { code: -32600 } });
      }
    },
  );

  it('answers an unsupported revision in the modern envelope with 400 and -32022 naming the supported ones', async () => {
    const { body, headers } = modernRequest('tools/list');
    const envelope = (body as { params: { _meta: Record<string, unknown> } }).params._meta;
    envelope['io.modelcontextprotocol/protocolVersion'] = '2099-01-01';
    const result = await handler(mcpEvent(body, { headers: { ...headers, 'MCP-Protocol-Version': '2099-01-01' } }));
    expect(result.statusCode).toBe(400);
    expect(replyOf(result).error).toMatchObject({
      code: -32022,
      data: { supported: [MODERN], requested: '2099-01-01' },
    });
  });

  it('answers an unknown method of a 2025 client in-band with -32601', async () => {
    const { body, headers } = legacyRequest('notes/frobnicate', {});
    const result = await handler(mcpEvent(body, { headers }));
    expect(result.statusCode).toBe(200);
    expect(replyOf(result).error?.code).toBe(-32601);
  });

  it('answers an unknown method of a 2026-07-28 client with 404 and -32601', async () => {
    const { body, headers } = modernRequest('notes/frobnicate');
    const result = await handler(mcpEvent(body, { headers }));
    expect(result.statusCode).toBe(404);
    expect(replyOf(result).error?.code).toBe(-32601);
  });

  it.each([
    ['a 2026-07-28 client', modernRequest('subscriptions/listen', { notifications: { toolsListChanged: true } }, 7)],
    [
      'a 2025 client',
      legacyRequest('subscriptions/listen', { notifications: { toolsListChanged: true } }, '2025-11-25', 7),
    ],
  ])(
    'refuses subscriptions/listen from %s at once with 404 and -32601: the stream it opens would never end',
    async (_case, { body, headers }) => {
      // Act
      const started = Date.now();
      const result = await handler(mcpEvent(body, { headers }));

      // Assess
      expect(Date.now() - started).toBeLessThan(2000);
      expect(result.statusCode).toBe(404);
      expect(result.multiValueHeaders['content-type']).toEqual(['application/json']);
      expect(replyOf(result)).toMatchObject({
        id: 7,
        error: { code: -32601, message: expect.stringContaining('subscriptions/listen') },
      });
      expect(factoryCalls).toEqual([]);
    },
  );

  it('answers invalid params of a protocol method with -32602', async () => {
    const { body, headers } = legacyRequest('tools/call', { arguments: {} });
    const result = await handler(mcpEvent(body, { headers }));
    expect(result.statusCode).toBe(200);
    expect(replyOf(result).error?.code).toBe(-32602);
  });

  it('answers tool arguments that fail the input schema with a tool error the model can read', async () => {
    const { body, headers } = legacyRequest('tools/call', { name: 'delete_note', arguments: { id: 42 } });
    const result = await handler(mcpEvent(body, { headers, authorizer: authorizerContext({ scope: 'notes:write' }) }));
    expect(result.statusCode).toBe(200);
    const reply = replyOf(result);
    expect(reply.result?.isError).toBe(true);
    expect(reply.result?.content?.[0].text).toMatch(/Input validation error/);
    expect(sideEffects).toEqual([]);
  });

  it('answers an unknown tool without running anything', async () => {
    const { body, headers } = legacyRequest('tools/call', { name: 'no_such_tool', arguments: {} });
    const result = await handler(mcpEvent(body, { headers }));
    expect(result.statusCode).toBeLessThan(500);
    const reply = replyOf(result);
    expect(reply.error?.code ?? (reply.result?.isError ? 'tool error' : undefined)).toBeDefined();
  });

  it('accepts a base64-encoded body', async () => {
    const result = await handler(mcpEvent(initialize('2025-06-18'), { base64: true }));
    expect(result.statusCode).toBe(200);
    expect(replyOf(result).result?.protocolVersion).toBe('2025-06-18');
  });
});

describe('unexpected failures', () => {
  it('answers a failing factory with a JSON 500 carrying the request id, and logs why', async () => {
    const logs = captureLogs();
    try {
      const handler = createMcpLambdaHandler(
        () => {
          throw new Error('database pool exhausted');
        },
        { publicBaseUrl: PUBLIC_BASE_URL, logger: new Logger({ serviceName: 'mcp-test', logLevel: 'INFO' }) },
      );
      const { body, headers } = legacyRequest('tools/list', undefined);
      const result = await handler(mcpEvent(body, { headers }), { awsRequestId: 'aws-req-77' });
      expect(result.statusCode).toBe(500);
      const reply = replyOf(result);
      expect(reply.error).toEqual({
        code: -32603,
        message: 'Internal error (request id aws-req-77)',
        data: { requestId: 'aws-req-77' },
      });
      expect(reply.id).toBe(2);
      const line = logs.lines().find((l) => l.message === 'mcp request');
      expect(line).toMatchObject({ level: 'ERROR', requestId: 'aws-req-77', status: 500 });
      expect(String(line?.reason)).toContain('database pool exhausted');
      expect(logs.raw()).not.toContain(TOKEN);
    } finally {
      logs.restore();
    }
  });

  it('answers a failure outside the SDK with a JSON 500 and the error on the log line', async () => {
    const logs = captureLogs();
    try {
      // A factory that returns something other than a server: a programming error in user code.
      const handler = createMcpLambdaHandler(() => ({}) as McpServer, {
        publicBaseUrl: PUBLIC_BASE_URL,
        logger: new Logger({ serviceName: 'mcp-test', logLevel: 'INFO' }),
      });
      const result = await handler(mcpEvent(initialize('2025-06-18')), { awsRequestId: 'aws-req-78' });
      expect(result.statusCode).toBe(500);
      expect(replyOf(result).error?.data).toEqual({ requestId: 'aws-req-78' });
      const line = logs.lines().find((l) => l.message === 'mcp request');
      expect(line).toMatchObject({ level: 'ERROR', status: 500 });
      expect(line?.error).toMatchObject({ name: 'TypeError' });
      expect(logs.raw()).not.toContain(TOKEN);
    } finally {
      logs.restore();
    }
  });
});

describe('Origin and CORS', () => {
  const handler = handlerWith({ allowedOrigins: ['https://app.example.com', 'inspector.local'] });

  it('refuses a present, disallowed Origin with 403 before doing anything', async () => {
    const { body, headers } = legacyRequest('tools/call', { name: 'whoami', arguments: {} });
    const result = await handler(mcpEvent(body, { headers: { ...headers, Origin: 'https://evil.example' } }));
    expect(result.statusCode).toBe(403);
    expect(replyOf(result).error?.code).toBe(-32000);
    expect(factoryCalls).toEqual([]);
    expect(result.multiValueHeaders['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses the opaque null origin when a list is configured', async () => {
    const result = await handler(mcpEvent(initialize('2025-06-18'), { headers: { Origin: 'null' } }));
    expect(result.statusCode).toBe(403);
  });

  it.each(['https://app.example.com', 'http://inspector.local:6274'])(
    'serves an allowed Origin %s and echoes it with the exposed headers',
    async (origin) => {
      const result = await handler(mcpEvent(initialize('2025-06-18'), { headers: { Origin: origin } }));
      expect(result.statusCode).toBe(200);
      expect(result.multiValueHeaders['access-control-allow-origin']).toEqual([origin]);
      expect(result.multiValueHeaders['access-control-expose-headers']).toEqual([
        'WWW-Authenticate, Mcp-Session-Id, Mcp-Protocol-Version',
      ]);
      expect(result.multiValueHeaders.vary).toEqual(['Origin']);
    },
  );

  it('serves requests without Origin (non-browser clients)', async () => {
    expect((await handler(mcpEvent(initialize('2025-06-18')))).statusCode).toBe(200);
  });

  it('lets the CORS error answers be read by the browser', async () => {
    const result = await handler(
      mcpEvent(initialize('2025-06-18'), { headers: { Origin: 'https://app.example.com' }, authorizer: null }),
    );
    expect(result.statusCode).toBe(401);
    expect(result.multiValueHeaders['access-control-allow-origin']).toEqual(['https://app.example.com']);
    expect(result.multiValueHeaders['access-control-expose-headers']?.[0]).toContain('WWW-Authenticate');
  });

  it('answers a preflight without identity', async () => {
    const result = await handler(
      mcpEvent(undefined, {
        httpMethod: 'OPTIONS',
        authorizer: null,
        headers: { Origin: 'https://app.example.com', Authorization: undefined },
      }),
    );
    expect(result.statusCode).toBe(204);
    expect(result.multiValueHeaders['access-control-allow-methods']).toEqual(['POST, OPTIONS']);
    expect(result.multiValueHeaders['access-control-allow-headers']?.[0]).toContain('Mcp-Protocol-Version');
  });

  it('answers * when any origin is allowed', async () => {
    const open = handlerWith({ allowedOrigins: '*' });
    const result = await open(mcpEvent(initialize('2025-06-18'), { headers: { Origin: 'https://anything.example' } }));
    expect(result.statusCode).toBe(200);
    expect(result.multiValueHeaders['access-control-allow-origin']).toEqual(['*']);
  });
});

describe('logging', () => {
  it('writes one line per request with method, tool, status, duration and sub, never the token', async () => {
    const logs = captureLogs();
    try {
      const handler = createMcpLambdaHandler(testServer, {
        publicBaseUrl: PUBLIC_BASE_URL,
        tools: [deleteNote()],
        logger: new Logger({ serviceName: 'mcp-test', logLevel: 'INFO' }),
      });
      const call = modernRequest('tools/call', { name: 'whoami', arguments: {} });
      await handler(mcpEvent(call.body, { headers: call.headers }));
      const refused = legacyRequest('tools/call', { name: 'delete_note', arguments: { id: 'x' } });
      await handler(mcpEvent(refused.body, { headers: refused.headers }));
      const lines = logs.lines();
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatchObject({
        level: 'INFO',
        message: 'mcp request',
        httpMethod: 'POST',
        rpcMethod: 'tools/call',
        tool: 'whoami',
        era: 'modern',
        status: 200,
        sub: 'user_01H',
      });
      expect(typeof lines[0].durationMs).toBe('number');
      expect(lines[1]).toMatchObject({ level: 'WARN', tool: 'delete_note', status: 403 });
      expect(String(lines[1].reason)).toContain('scopes');
      expect(logs.raw()).not.toContain(TOKEN);
      expect(logs.raw().toLowerCase()).not.toContain('bearer');
    } finally {
      logs.restore();
    }
  });
});

describe('configuration', () => {
  const env = { ...process.env };
  afterEach(() => {
    process.env = { ...env };
  });

  it('fails at creation when PUBLIC_BASE_URL is missing, naming the variable', () => {
    delete process.env.PUBLIC_BASE_URL;
    expect(() => createMcpLambdaHandler(testServer, { logger: silentLogger() })).toThrow(/PUBLIC_BASE_URL is not set/);
  });

  it('reads PUBLIC_BASE_URL, ALLOWED_ORIGINS and MAX_BODY_BYTES from the environment', async () => {
    process.env.PUBLIC_BASE_URL = 'https://mcp.example.com';
    process.env.ALLOWED_ORIGINS = 'https://app.example.com';
    process.env.MAX_BODY_BYTES = '100';
    const handler = createMcpLambdaHandler(testServer, { logger: silentLogger() });
    expect((await handler(mcpEvent(initialize('2025-06-18')))).statusCode).toBe(413);
    expect(
      (
        await handler(
          mcpEvent({ jsonrpc: '2.0', id: 1, method: 'ping' }, { headers: { Origin: 'https://other.example' } }),
        )
      ).statusCode,
    ).toBe(403);
    let resource: URL | undefined;
    const peek = createMcpLambdaHandler(
      ({ serverInfo, authInfo }) => {
        resource = authInfo.resource;
        return new McpServer(serverInfo);
      },
      { logger: silentLogger() },
    );
    await peek(mcpEvent({ jsonrpc: '2.0', id: 1, method: 'ping' }));
    expect(resource?.href).toBe('https://mcp.example.com/mcp');
  });
});
