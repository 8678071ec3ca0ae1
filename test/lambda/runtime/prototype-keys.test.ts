/**
 * Names that are also properties of every JavaScript object (`constructor`, `__proto__`,
 * `hasOwnProperty`) as a tool name, a header name or a query key: each is an ordinary name, never
 * a lookup on Object.prototype, and never crashes the handler, the public event builder or the
 * local gateway's event builder.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { buildProxyEvent } from '../../../local/gateway/proxy-event';
import { proxyEventFromRequest, publicBaseOf } from '../../../lambda/runtime/adapter';
import { createMcpLambdaHandler } from '../../../lambda/runtime/handler';
import { defineTool } from '../../../lambda/runtime/tool-definition';
import { createSampleServer, SAMPLE_TOOLS } from '../../../lambda/mcp/server';
import { authorizerContext, legacyRequest, mcpEvent, PUBLIC_BASE_URL, replyOf, RESOURCE, TOKEN } from './fixtures';
import { defined } from '../../../fixtures/defined';

const NAMES = ['constructor', '__proto__', 'hasOwnProperty', 'toString'];
const logger = new Logger({ serviceName: 'prototype-keys', logLevel: 'SILENT' });
const handler = createMcpLambdaHandler(createSampleServer, {
  publicBaseUrl: PUBLIC_BASE_URL,
  logger,
  responseTransferMode: 'buffered',
  // A policy in force, so each name is also looked up among the tool policies.
  tools: [
    ...SAMPLE_TOOLS,
    defineTool('scoped', { policy: { scopes: ['tools:format'] } }, async () => ({ content: [] })),
  ],
});

describe.each(NAMES)('the name %s', (name) => {
  it("as a tool name gets the SDK's invalid-params answer for a tool it cannot call, not a 500", async () => {
    const { body, headers } = legacyRequest('tools/call', { name, arguments: {} });
    const result = await handler(mcpEvent(body, { headers }));
    expect(result.statusCode).toBe(200);
    expect(replyOf(result).error).toMatchObject({ code: -32602, message: expect.stringContaining(name) });
  });

  it('as a header and a query key of a request becomes an own key of the public event, and is served', async () => {
    const request = new Request(`${RESOURCE}?${name}=1&${name}=2`, {
      method: 'POST',
      headers: [
        ['authorization', `Bearer ${TOKEN}`],
        ['accept', 'application/json, text/event-stream'],
        ['content-type', 'application/json'],
        ['mcp-protocol-version', '2025-11-25'],
        [name, 'a header value'],
      ],
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    const event = await proxyEventFromRequest(request, publicBaseOf(PUBLIC_BASE_URL), {
      authorizer: authorizerContext(),
    });
    expect(Object.hasOwn(defined(event.headers, 'headers'), name.toLowerCase())).toBe(true);
    expect(defined(event.multiValueHeaders, 'multi-value headers')[name.toLowerCase()]).toEqual(['a header value']);
    expect(Object.hasOwn(defined(event.queryStringParameters, 'query parameters'), name)).toBe(true);
    expect(defined(event.multiValueQueryStringParameters, 'multi-value query parameters')[name]).toEqual(['1', '2']);
    const result = await handler(event);
    expect(result.statusCode).toBe(200);
  });

  it("as a header and a query key becomes an own key of the local gateway's event", () => {
    const event = buildProxyEvent(
      {
        method: 'POST',
        path: '/mcp',
        fullPath: '/mcp',
        rawHeaders: [
          ['Host', 'localhost'],
          [name, 'one'],
          [name, 'two'],
        ],
        rawQuery: `${name}=x`,
        body: Buffer.alloc(0),
        sourceIp: '127.0.0.1',
        localPort: 8787,
      },
      {
        resourcePath: '/mcp',
        resourceId: 'abc123',
        pathParameters: {},
        stageVariables: {},
        stage: 'local',
        apiId: 'api1',
        accountId: '123456789012',
        deploymentId: 'dep1',
        requestId: 'req1',
        extendedRequestId: 'ext1',
        traceId: 'Root=1-0-0',
        requestTimeEpoch: 0,
        binaryMediaTypes: [],
      },
    );
    expect(Object.hasOwn(event.headers, name)).toBe(true);
    expect(event.headers[name]).toBe('two');
    expect(event.multiValueHeaders[name]).toEqual(['one', 'two']);
    expect(Object.hasOwn(defined(event.queryStringParameters, 'query parameters'), name)).toBe(true);
    expect(Object.getPrototypeOf(event.headers)).toBe(Object.prototype);
  });
});
