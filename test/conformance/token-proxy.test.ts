import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTokenProxy, type RunningTokenProxy } from './token-proxy';

interface Seen {
  method?: string;
  url?: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A loopback upstream that records what reached it and answers with a fixed MCP-like response. */
async function startUpstream(): Promise<{ origin: string; seen: Seen[]; stop: () => Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      seen.push({ method: request.method, url: request.url, headers: request.headers, body });
      response.writeHead(201, { 'content-type': 'application/json', 'mcp-session-id': 'upstream-session' });
      response.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('token proxy', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let proxy: RunningTokenProxy;

  beforeAll(async () => {
    upstream = await startUpstream();
  });

  afterEach(async () => {
    await proxy?.stop();
  });

  afterAll(async () => {
    await upstream.stop();
  });

  it("adds the bearer token, replacing the caller's, and forwards method, path, query, headers and body", async () => {
    // Prepare
    proxy = await startTokenProxy({ target: upstream.origin, token: 'minted-token' });

    // Act
    const response = await fetch(`${proxy.url}/mcp?probe=1`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer caller-token',
        'content-type': 'application/json',
        'mcp-protocol-version': '2025-06-18',
        origin: 'http://127.0.0.1:9',
      },
      body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    });

    // Assess
    expect(response.status).toBe(201);
    expect(response.headers.get('mcp-session-id')).toBe('upstream-session');
    expect(await response.json()).toEqual({ ok: true });
    const [request] = upstream.seen.slice(-1);
    expect(request).toMatchObject({
      method: 'POST',
      url: '/mcp?probe=1',
      body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    });
    expect(request.headers).toMatchObject({
      authorization: 'Bearer minted-token',
      'mcp-protocol-version': '2025-06-18',
      origin: 'http://127.0.0.1:9',
    });
    expect(proxy.forwardedRequests()).toBe(1);
  });

  it('answers 503 until it is routed, then forwards', async () => {
    // Prepare
    proxy = await startTokenProxy();

    // Act
    const before = await fetch(`${proxy.url}/mcp`, { method: 'POST', body: '{}' });
    proxy.route({ target: upstream.origin, token: 'late-token' });
    const after = await fetch(`${proxy.url}/mcp`, { method: 'POST', body: '{}' });

    // Assess
    expect(before.status).toBe(503);
    expect(await before.json()).toMatchObject({ error: 'not_routed' });
    expect(after.status).toBe(201);
    expect(upstream.seen.slice(-1)[0].headers.authorization).toBe('Bearer late-token');
  });

  it('answers 502 JSON when the target does not answer', async () => {
    // Prepare: a port that was free a moment ago and is now closed.
    const closed = await startUpstream();
    await closed.stop();
    proxy = await startTokenProxy({ target: closed.origin, token: 'minted-token' });

    // Act
    const response = await fetch(`${proxy.url}/mcp`);

    // Assess
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: 'bad_gateway' });
  });

  it.each([
    ['a remote host', { target: 'http://example.com', token: 't' }, /loopback http servers only/],
    ['https', { target: 'https://127.0.0.1:8787', token: 't' }, /loopback http servers only/],
    ['an empty token', { target: 'http://127.0.0.1:8787', token: '' }, /needs a token/],
  ])('refuses %s', async (_case, route, message) => {
    await expect(startTokenProxy(route)).rejects.toThrow(message);
  });
});
