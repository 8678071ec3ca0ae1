/**
 * `verify` against an MCP endpoint whose function Lambda refuses to run: it says so plainly, with a
 * fix that names reserved concurrency and the account's quota, instead of a bare HTTP 500. The
 * loopback server answers as API Gateway does for a throttled Lambda proxy integration on this
 * stack: 500, `x-amzn-ErrorType: InternalServerErrorException` and the DEFAULT_5XX body.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkMcpSession } from '../../cli/verify/checks/mcp-session';
import { lambdaThrottlingEvidence, THROTTLED_FIX } from '../../cli/verify/checks/throttling';
import { mcpHttpRequest } from '../../fixtures/mcp-requests';
import { authKitTestControls } from '../../local/authkit/launch';
import { startLocalStack, type LocalStack } from '../../local/stack';

const SERVER_ERROR_BODY = JSON.stringify({
  error: 'server_error',
  error_description: 'The server could not answer the request. Retry later.',
});

async function answering(status: number, headers: Record<string, string>, body: string) {
  const server = http.createServer((request, response) => {
    request.resume();
    response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('verify against a throttled MCP function', () => {
  it('reports the 500 API Gateway answers for a throttled Lambda as throttling, naming reserved concurrency and the quota', async () => {
    // Prepare
    const endpoint = await answering(500, { 'x-amzn-ErrorType': 'InternalServerErrorException' }, SERVER_ERROR_BODY);

    try {
      // Act
      const [initialize] = await checkMcpSession(endpoint.url, 'a.b.c', 'user_1', 5000);

      // Assess
      expect(initialize).toMatchObject({ id: 'mcp.initialize', status: 'fail', fix: THROTTLED_FIX });
      expect(initialize.detail).toMatch(/^the MCP function is throttled: HTTP 500 from API Gateway/);
      expect(THROTTLED_FIX).toMatch(/reserved concurrency \(mcpReservedConcurrency\).*Lambda concurrency quota/);
    } finally {
      await endpoint.close();
    }
  });

  it('does not call a function that ran and failed (502) throttled', async () => {
    // Prepare
    const endpoint = await answering(502, { 'x-amzn-ErrorType': 'InternalServerErrorException' }, SERVER_ERROR_BODY);

    try {
      // Act
      const [initialize] = await checkMcpSession(endpoint.url, 'a.b.c', 'user_1', 5000);

      // Assess
      expect(initialize).toMatchObject({ id: 'mcp.initialize', status: 'fail' });
      expect(initialize.detail).not.toMatch(/throttled/);
      expect(initialize.fix).not.toBe(THROTTLED_FIX);
    } finally {
      await endpoint.close();
    }
  });
});

describe('what counts as Lambda throttling', () => {
  it.each<[string, number, Record<string, string>, string, boolean]>([
    [
      'API Gateway’s 500 for a throttled proxy integration',
      500,
      { 'x-amzn-errortype': 'InternalServerErrorException' },
      SERVER_ERROR_BODY,
      true,
    ],
    [
      'Lambda’s own 429 passed on',
      429,
      { 'x-amzn-errortype': 'TooManyRequestsException' },
      '{"message":"Rate Exceeded."}',
      true,
    ],
    ['a 503 naming the reserved limit', 503, {}, 'ReservedFunctionConcurrentInvocationLimitExceeded', true],
    ['a 502 with Rate Exceeded in the body', 502, {}, '{"Reason":"Rate Exceeded."}', true],
    [
      'a function that ran and failed (502)',
      502,
      { 'x-amzn-errortype': 'InternalServerErrorException' },
      SERVER_ERROR_BODY,
      false,
    ],
    ['the stage’s own throttling (429 too_many_requests)', 429, {}, '{"error":"too_many_requests"}', false],
    [
      'the stage’s own throttling with its TooManyRequestsException error type',
      429,
      { 'x-amzn-errortype': 'TooManyRequestsException' },
      '{"error":"too_many_requests"}',
      false,
    ],
    ['a 401 challenge', 401, {}, '{"error":"invalid_token"}', false],
    ['a 200 that mentions TooManyRequestsException', 200, {}, 'TooManyRequestsException', false],
  ])('%s (HTTP %i)', (_case, status, headers, body, throttled) => {
    expect(lambdaThrottlingEvidence(status, headers, body) !== undefined).toBe(throttled);
  });
});

describe('verify against the local stack with its one reserved MCP execution held', () => {
  let stack: LocalStack;
  let token: string;
  const held = new AbortController();

  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      authkitPort: 0,
      testControls: true,
      context: { mcpReservedConcurrency: '1', subscriptionMaxDurationSeconds: '60' },
    });
    token = (await authKitTestControls(stack.issuer).mintToken({ aud: stack.mcpUrl })).accessToken;
    const listen = mcpHttpRequest(
      'subscriptions/listen',
      { notifications: { toolsListChanged: true } },
      { era: 'modern', id: 1, token, clientName: 'verify-throttled' },
    );
    const response = await fetch(stack.mcpUrl, { method: 'POST', ...listen, signal: held.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('notifications/subscriptions/acknowledged')) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`the listen stream ended before its acknowledgement: ${text}`);
      text += new TextDecoder().decode(value);
    }
  }, 180_000);

  afterAll(async () => {
    held.abort();
    await stack?.stop();
  });

  it('says the MCP function is throttled when the emulated API Gateway answers 500 for it', async () => {
    // Act
    const [initialize] = await checkMcpSession(stack.mcpUrl, token, 'user', 10_000);

    // Assess
    expect(initialize).toMatchObject({ id: 'mcp.initialize', status: 'fail', fix: THROTTLED_FIX });
    expect(initialize.detail).toMatch(/^the MCP function is throttled: HTTP 500/);
  });
});
