/**
 * The SDK's own client talking to the sample server through the adapter, in process: each
 * request the client makes becomes the proxy event API Gateway would deliver (with the token
 * authorizer's context), goes through the Lambda handler, and comes back as a web Response.
 */
import { Client, InsufficientScopeError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Logger } from '@aws-lambda-powertools/logger';
import { proxyEventFromRequest, publicBaseOf, responseFromProxyResult } from '../../../lambda/runtime/adapter';
import { createMcpLambdaHandler, type McpLambdaHandler } from '../../../lambda/runtime/handler';
import { defineTool } from '../../../lambda/runtime/tool-definition';
import { createSampleServer, SAMPLE_TOOLS } from '../../../lambda/mcp/server';
import { callerContext, PUBLIC_BASE_URL, RESOURCE, TOKEN } from '../runtime/fixtures';

const base = publicBaseOf(PUBLIC_BASE_URL);

/** A fetch that goes through API Gateway's proxy event shape instead of the network. */
function fetchThrough(handler: McpLambdaHandler, seen: { methods: string[]; statuses: number[] }) {
  return async (url: string | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(url, init);
    const event = await proxyEventFromRequest(request, base, {
      authorizer: callerContext({ scopes: ['openid', 'profile'] }),
    });
    const result = await handler(event);
    seen.methods.push(request.method);
    seen.statuses.push(result.statusCode);
    return responseFromProxyResult(result);
  };
}

async function connect(handler: McpLambdaHandler, mode: 'legacy' | 'auto') {
  const seen = { methods: [] as string[], statuses: [] as number[] };
  const client = new Client({ name: 'in-process-client', version: '1.0.0' }, { versionNegotiation: { mode } });
  const transport = new StreamableHTTPClientTransport(new URL(RESOURCE), {
    fetch: fetchThrough(handler, seen),
    requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
    onInsufficientScope: 'throw',
  });
  await client.connect(transport);
  return { client, seen };
}

const logger = new Logger({ serviceName: 'mcp-client-test', logLevel: 'SILENT' });
const sample = createMcpLambdaHandler(createSampleServer, {
  tools: SAMPLE_TOOLS,
  publicBaseUrl: PUBLIC_BASE_URL,
  serverInfo: { name: 'sample', version: '0.1.0' },
  logger,
});

describe.each([
  ['2025-11-25', 'legacy'],
  ['2026-07-28', 'auto'],
] as const)('an SDK client negotiating %s', (revision, mode) => {
  let session: Awaited<ReturnType<typeof connect>>;

  beforeAll(async () => {
    session = await connect(sample, mode);
  });
  afterAll(async () => {
    await session.client.close();
  });

  it('negotiates the revision and sees the server', () => {
    expect(session.client.getNegotiatedProtocolVersion()).toBe(revision);
    expect(session.client.getServerVersion()).toMatchObject({ name: 'sample', version: '0.1.0' });
    expect(session.seen.statuses.every((s) => s < 500)).toBe(true);
  });

  it('lists the sample tools with their schemas', async () => {
    const { tools } = await session.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['config_audit', 'confirm', 'format_json', 'long_task', 'whoami']);
    expect(tools.find((t) => t.name === 'format_json')?.inputSchema).toMatchObject({
      type: 'object',
      required: ['json'],
    });
  });

  it('calls whoami and gets the identity of the authorizer context', async () => {
    const result = await session.client.callTool({ name: 'whoami', arguments: {} });
    expect(result.structuredContent).toEqual({
      kind: 'user',
      permissions: [],
      accessNote: expect.stringMatching(/workosApiKeySecret/),
      sub: 'user_01H',
      organization: 'org_01O',
      client: 'client_01C',
      scopes: ['openid', 'profile'],
      tokenExpiresAt: '2030-03-17T17:46:40.000Z',
    });
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });

  it('formats JSON with sorted keys', async () => {
    const result = await session.client.callTool({
      name: 'format_json',
      arguments: { json: '{"b":[1,{"d":0,"c":1}],"a":true}', indent: 0, sortKeys: true },
    });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({
      formatted: '{"a":true,"b":[1,{"c":1,"d":0}]}',
      valueType: 'object',
    });
  });

  it('reports invalid JSON as a tool error', async () => {
    const result = await session.client.callTool({ name: 'format_json', arguments: { json: '{"a":' } });
    expect(result.isError).toBe(true);
    expect((result.content as { text: string }[])[0].text).toMatch(/not valid JSON/);
  });
});

describe('per-tool scopes seen by an SDK client', () => {
  it.each(['legacy', 'auto'] as const)(
    'surfaces insufficient_scope as the SDK error with the required scope (%s)',
    async (mode) => {
      const scoped = createMcpLambdaHandler(createSampleServer, {
        publicBaseUrl: PUBLIC_BASE_URL,
        tools: [
          ...SAMPLE_TOOLS,
          defineTool('scoped_echo', { policy: { scopes: ['tools:format'] } }, async () => ({ content: [] })),
        ],
        logger,
      });
      const { client } = await connect(scoped, mode);
      try {
        const call = client.callTool({ name: 'scoped_echo', arguments: {} });
        await expect(call).rejects.toBeInstanceOf(InsufficientScopeError);
        await expect(call).rejects.toMatchObject({ requiredScope: 'tools:format' });
        const whoami = await client.callTool({ name: 'whoami', arguments: {} });
        expect(whoami.isError).toBeFalsy();
      } finally {
        await client.close();
      }
    },
  );
});
