/**
 * Fuzzing of the MCP endpoint (fast-check, fixed seed): the sample server's Lambda handler, built
 * with the public runtime API and the real MCP SDK, receives random JSON-RPC bodies, random
 * headers and random identities. Whatever the client sends, the handler answers (it never
 * throws), never with a 5xx, always readable by a browser (CORS), and never serves a request
 * that carries no identity from the authorizer.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import fc from 'fast-check';
import { authorizerIdentityContext, restProxyEvent } from '../../fixtures/events';
import { createSampleServer, SAMPLE_TOOLS } from '../../lambda/mcp/server';
import type { ProxyEvent, ProxyResult } from '../../lambda/runtime/adapter';
import { createMcpLambdaHandler, type McpLambdaHandler } from '../../lambda/runtime/handler';
import { bearerAuthorization } from '../../lambda/shared/bearer-token';
import { AUTHORIZER_CONTEXT_KEYS as K } from '../../lambda/shared/identity-context';
import { MCP_PATH } from '../../lambda/shared/urls';

const SEED = 20260707;
const PUBLIC_BASE_URL = 'https://mcp.example.com';
const ALLOWED_ORIGIN = 'https://app.example.com';
const MAX_BODY_BYTES = 64 * 1024;

let handler: McpLambdaHandler;

beforeAll(() => {
  handler = createMcpLambdaHandler(createSampleServer, {
    tools: SAMPLE_TOOLS,
    publicBaseUrl: PUBLIC_BASE_URL,
    allowedOrigins: [ALLOWED_ORIGIN],
    maxBodyBytes: MAX_BODY_BYTES,
    serverInfo: { name: 'fuzz', version: '1.0.0' },
    logger: new Logger({ serviceName: 'fuzz', logLevel: 'SILENT' }),
  });
});

const VERSIONS = ['2025-03-26', '2025-06-18', '2025-11-25', '2026-07-28'];

const smallJson = fc.json({ maxDepth: 2 }).map((text) => JSON.parse(text) as unknown);
const rpcId = fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constant(null), fc.double(), smallJson);
const rpcMethod = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      'initialize',
      'tools/list',
      'tools/call',
      'ping',
      'notifications/initialized',
      'notifications/cancelled',
      'resources/list',
      'prompts/get',
      'logging/setLevel',
      'completion/complete',
      'server/discover',
    ),
    weight: 4,
  },
  fc.string({ maxLength: 20 }),
  smallJson,
);
const envelope = fc.record(
  {
    'io.modelcontextprotocol/protocolVersion': fc.oneof(
      fc.constantFrom(...VERSIONS),
      fc.string({ maxLength: 12 }),
      smallJson,
    ),
    'io.modelcontextprotocol/clientInfo': fc.oneof(fc.constant({ name: 'fuzz', version: '1' }), smallJson),
    'io.modelcontextprotocol/clientCapabilities': fc.oneof(fc.constant({}), smallJson),
  },
  { requiredKeys: [] },
);
const toolArguments = fc.oneof(
  fc.record(
    {
      json: fc.oneof(fc.json({ maxDepth: 3 }), fc.string({ maxLength: 40 })),
      indent: fc.oneof(fc.integer({ min: -2, max: 10 }), fc.string({ maxLength: 3 })),
      sortKeys: fc.oneof(fc.boolean(), smallJson),
    },
    { requiredKeys: [] },
  ),
  smallJson,
);
const params = fc.oneof(
  fc.record(
    {
      name: fc.oneof(fc.constantFrom('whoami', 'format_json'), fc.string({ maxLength: 12 }), smallJson),
      arguments: toolArguments,
      protocolVersion: fc.oneof(fc.constantFrom(...VERSIONS), fc.string({ maxLength: 12 })),
      capabilities: smallJson,
      clientInfo: fc.oneof(fc.constant({ name: 'fuzz', version: '1' }), smallJson),
      cursor: fc.string({ maxLength: 8 }),
      _meta: fc.oneof(envelope, smallJson),
    },
    { requiredKeys: [] },
  ),
  smallJson,
);
const message = fc.record(
  { jsonrpc: fc.oneof(fc.constant('2.0'), fc.string({ maxLength: 4 })), id: rpcId, method: rpcMethod, params },
  { requiredKeys: [] },
);

/** Bodies: mostly JSON-RPC-shaped, then batches, arbitrary JSON, arbitrary text and oversized ones. */
const body = fc.oneof(
  { arbitrary: message.map((m) => JSON.stringify(m)), weight: 6 },
  fc.array(message, { maxLength: 3 }).map((batch) => JSON.stringify(batch)),
  fc.json({ maxDepth: 3 }),
  fc.string({ maxLength: 200 }),
  fc.constant(''),
  fc.constant(
    JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'format_json', arguments: { json: 'x'.repeat(MAX_BODY_BYTES) } },
    }),
  ),
);

/** A header that is left out once in `freq` times; well-formed requests must stay common enough to reach the tools. */
const optional = <T>(arbitrary: fc.Arbitrary<T>, freq = 2) => fc.option(arbitrary, { nil: undefined, freq });
const headers = fc.record({
  accept: optional(
    fc.oneof(
      { arbitrary: fc.constant('application/json, text/event-stream'), weight: 5 },
      fc.constantFrom('application/json', 'text/event-stream', '*/*'),
      fc.string({ maxLength: 30 }),
    ),
    8,
  ),
  'content-type': optional(
    fc.oneof(
      { arbitrary: fc.constant('application/json'), weight: 5 },
      fc.constantFrom('application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded'),
      fc.string({ maxLength: 30 }),
    ),
    8,
  ),
  'mcp-protocol-version': optional(
    fc.oneof(
      { arbitrary: fc.constantFrom(...VERSIONS), weight: 4 },
      fc.constantFrom('2099-01-01', ''),
      fc.string({ maxLength: 12 }),
    ),
  ),
  'mcp-method': optional(
    fc.oneof(fc.constantFrom('tools/call', 'tools/list', 'initialize'), fc.string({ maxLength: 12 })),
  ),
  'mcp-name': optional(fc.oneof(fc.constantFrom('whoami', 'format_json'), fc.string({ maxLength: 12 }))),
  origin: optional(
    fc.oneof(
      { arbitrary: fc.constant(ALLOWED_ORIGIN), weight: 3 },
      fc.constantFrom(ALLOWED_ORIGIN, 'https://evil.example.com', 'null', 'http://app.example.com'),
      fc.string({ maxLength: 30 }),
    ),
  ),
  'mcp-session-id': optional(fc.string({ maxLength: 20 })),
});

/** A context under the contract's keys with random values: present, garbled or missing. */
const identity = fc.record(
  {
    principalId: fc.string({ maxLength: 12 }),
    [K.sub]: fc.oneof({ arbitrary: fc.constant('user_01FUZZ'), weight: 4 }, fc.string({ maxLength: 12 })),
    [K.clientId]: fc.string({ maxLength: 12 }),
    [K.orgId]: fc.string({ maxLength: 12 }),
    [K.scopes]: fc.oneof(fc.constant('openid profile email'), fc.string({ maxLength: 20 })),
    [K.exp]: fc.oneof(fc.constant('1900000000'), fc.string({ maxLength: 12 })),
    [K.aud]: fc.oneof(fc.constant(`${PUBLIC_BASE_URL}/mcp`), fc.string({ maxLength: 20 })),
  },
  { requiredKeys: [K.sub] },
);

const VALID_IDENTITY: Record<string, string> = authorizerIdentityContext({
  sub: 'user_01FUZZ',
  clientId: 'client_01FUZZ',
  orgId: 'org_01FUZZ',
  scopes: ['openid', 'profile', 'email'],
  exp: 1900000000,
  aud: `${PUBLIC_BASE_URL}/mcp`,
});

interface FuzzRequest {
  readonly httpMethod: string;
  readonly body: string;
  readonly base64: boolean;
  readonly headers: Record<string, string | undefined>;
  readonly authorizer: Record<string, string> | null;
  readonly authorization: boolean;
}

const request: fc.Arbitrary<FuzzRequest> = fc.record({
  httpMethod: fc.oneof(
    { arbitrary: fc.constant('POST'), weight: 8 },
    fc.constantFrom('GET', 'DELETE', 'OPTIONS', 'PUT', 'HEAD'),
  ),
  body,
  base64: fc.boolean(),
  headers,
  // Mostly the context a real authorizer produces, sometimes a garbled or missing one.
  authorizer: fc.oneof(
    { arbitrary: fc.constant(VALID_IDENTITY), weight: 6 },
    { arbitrary: identity, weight: 3 },
    fc.constant(null),
  ),
  authorization: fc.oneof({ arbitrary: fc.constant(true), weight: 6 }, fc.constant(false)),
});

function eventOf(input: FuzzRequest): ProxyEvent {
  const hasBody = input.body !== '' && input.httpMethod !== 'GET' && input.httpMethod !== 'HEAD';
  return restProxyEvent({
    httpMethod: input.httpMethod,
    path: MCP_PATH,
    headers: {
      ...input.headers,
      ...(input.authorization
        ? { Authorization: bearerAuthorization('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyXzAxRlVaWiJ9.c2lnbmF0dXJl') }
        : {}),
    },
    body: hasBody ? input.body : null,
    base64: hasBody && input.base64,
    authorizer: input.authorizer,
    requestId: 'fuzz-request',
  });
}

function bodyText(result: ProxyResult): string {
  return result.isBase64Encoded ? Buffer.from(result.body, 'base64').toString('utf8') : result.body;
}

describe('MCP endpoint under fuzzing', () => {
  it('answers every request without throwing, never with a 5xx, always with CORS headers and a JSON body when there is one', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (input) => {
        const result = await handler(eventOf(input), { awsRequestId: 'fuzz' });
        statuses.set(result.statusCode, (statuses.get(result.statusCode) ?? 0) + 1);
        expect(result.statusCode).toBeGreaterThanOrEqual(200);
        expect(result.statusCode).toBeLessThan(500);
        expect(result.multiValueHeaders['access-control-expose-headers']?.[0]).toContain('WWW-Authenticate');
        const text = bodyText(result);
        if (text !== '') expect(() => JSON.parse(text)).not.toThrow();
      }),
      { seed: SEED, numRuns: 600 },
    );
    // The mix reached the MCP SDK as well as the early refusals.
    expect((statuses.get(200) ?? 0) + (statuses.get(202) ?? 0) + (statuses.get(400) ?? 0)).toBeGreaterThan(50);
  });

  it('serves well-formed requests with random parameters of either protocol era without a 5xx', async () => {
    const statuses = new Map<number, number>();
    const wellFormed = fc.record({
      version: fc.constantFrom(...VERSIONS),
      id: fc.oneof(fc.integer(), fc.string({ minLength: 1, maxLength: 8 })),
      method: fc.constantFrom(
        'initialize',
        'tools/list',
        'tools/call',
        'ping',
        'notifications/initialized',
        'resources/list',
        'prompts/list',
        'server/discover',
        'no/such-method',
      ),
      params: fc.record(
        {
          name: fc.oneof(fc.constantFrom('whoami', 'format_json'), fc.string({ maxLength: 8 })),
          arguments: toolArguments,
          protocolVersion: fc.constantFrom(...VERSIONS),
          capabilities: fc.constant({}),
          clientInfo: fc.constant({ name: 'fuzz', version: '1' }),
        },
        { requiredKeys: [] },
      ),
    });
    await fc.assert(
      fc.asyncProperty(wellFormed, async ({ version, id, method, params }) => {
        const modern = version === '2026-07-28';
        const sent = modern
          ? {
              ...params,
              _meta: {
                'io.modelcontextprotocol/protocolVersion': version,
                'io.modelcontextprotocol/clientInfo': { name: 'fuzz', version: '1' },
                'io.modelcontextprotocol/clientCapabilities': {},
              },
            }
          : params;
        const result = await handler(
          eventOf({
            httpMethod: 'POST',
            body: JSON.stringify({ jsonrpc: '2.0', id, method, params: sent }),
            base64: false,
            headers: {
              accept: 'application/json, text/event-stream',
              'content-type': 'application/json',
              'mcp-protocol-version': version,
              ...(modern
                ? { 'mcp-method': method, ...(typeof params.name === 'string' ? { 'mcp-name': params.name } : {}) }
                : {}),
            },
            authorizer: VALID_IDENTITY,
            authorization: true,
          }),
        );
        statuses.set(result.statusCode, (statuses.get(result.statusCode) ?? 0) + 1);
        expect(result.statusCode).toBeLessThan(500);
        expect(() => JSON.parse(bodyText(result) || 'null')).not.toThrow();
      }),
      { seed: SEED, numRuns: 400 },
    );
    // Most of them got an answer from the server itself, not an early refusal.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(100);
  });

  it('never serves a request that the authorizer did not vouch for', async () => {
    await fc.assert(
      fc.asyncProperty(
        request,
        fc.constantFrom(null, {}, { principalId: 'user_01FUZZ' }, { sub: '' }),
        async (input, authorizer) => {
          const result = await handler(
            eventOf({ ...input, httpMethod: 'POST', authorizer: authorizer as Record<string, string> | null }),
          );
          const origin = input.headers.origin;
          if (origin === undefined || origin === ALLOWED_ORIGIN) {
            expect(result.statusCode).toBe(401);
            expect(result.multiValueHeaders['www-authenticate']?.[0]).toBe(
              `Bearer resource_metadata="${PUBLIC_BASE_URL}/.well-known/oauth-protected-resource/mcp"`,
            );
          } else {
            // A foreign Origin is refused before anything else.
            expect(result.statusCode).toBe(403);
          }
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('refuses every foreign Origin before the request reaches a tool', async () => {
    const foreignOrigin = fc
      .oneof(
        fc.constantFrom(
          'https://evil.example.com',
          'null',
          'http://app.example.com',
          'https://app.example.com.evil.example.com',
        ),
        fc.webUrl().map((url) => new URL(url).origin),
      )
      .filter((o) => o !== ALLOWED_ORIGIN);
    await fc.assert(
      fc.asyncProperty(request, foreignOrigin, async (input, origin) => {
        const result = await handler(eventOf({ ...input, headers: { ...input.headers, origin } }));
        expect(result.statusCode).toBe(403);
        expect(result.multiValueHeaders['access-control-allow-origin']).toBeUndefined();
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});
