/**
 * The attack of issue 17, point 1, against the local stack: anonymous `POST /mcp` from one address
 * used to spend the stage's one throttling bucket, so token holders got 429 too. With
 * `rateLimitPerIp` the stage has a WAF web ACL with a per-client-IP rate-based rule, which the
 * local gateway emulates. The stage throttling is raised so that its bucket is not what limits
 * here; the per-IP rule is.
 *
 * Client addresses are loopback addresses (127.0.0.2, 127.0.0.3 are loopback on Linux), bound as
 * the TCP source of each connection. Only what AWS promises is asserted: an address well over the
 * limit gets WAF's 429, an address under it is served (WAF counts approximately on AWS).
 */
import * as http from 'node:http';
import { authKitTestControls } from '../../../local/authkit/launch';
import { startLocalStack, type LocalStack } from '../../../local/stack';
import { defined } from '../../../fixtures/defined';

jest.setTimeout(180_000);

const LIMIT = 100; // AWS WAF's lowest is 10; the construct takes at least 10
const WINDOW_SECONDS = 60;
const FLOOD = 300;
const FLOOD_CONCURRENCY = 10;
const CLIENT_ORIGIN = 'http://localhost:6274';
const ATTACKER = '127.0.0.2';
const TOKEN_HOLDER = '127.0.0.3';

interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

function postMcp(url: string, agent: http.Agent, body: unknown, authorization?: string): Promise<Reply> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          origin: CLIENT_ORIGIN,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(payload)),
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-06-18',
          ...(authorization ? { authorization } : {}),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

describe('The local stack with rateLimitPerIp (100 per minute) and stage throttling raised out of the way', () => {
  let stack: LocalStack;
  const log: string[] = [];
  const attacker = new http.Agent({ keepAlive: true, maxSockets: FLOOD_CONCURRENCY, localAddress: ATTACKER });
  const holder = new http.Agent({ keepAlive: true, maxSockets: 2, localAddress: TOKEN_HOLDER });

  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      authkitPort: 0,
      testControls: true,
      context: { rateLimitPerIp: String(LIMIT), rateLimitWindowSeconds: String(WINDOW_SECONDS) },
      throttlingLimits: { rateLimit: 10_000, burstLimit: 5_000 },
      log: (line) => log.push(line),
    });
  });

  afterAll(async () => {
    attacker.destroy();
    holder.destroy();
    await stack?.stop();
  });

  it('says at start that the web ACL is emulated, with its per-IP rule', () => {
    // Assess
    const line = log.find((l) => l.includes('AWS WAF web ACL'));
    expect(line).toMatch(/is emulated/);
    expect(line).toMatch(
      new RegExp(
        `rule RateLimitPerIp \\(priority 0\\): more than ${LIMIT} requests per client IP \\(TCP peer address\\) in ${WINDOW_SECONDS} s → block with 429`,
      ),
    );
  });

  it('an anonymous flood from one IP does not starve a token holder on another IP', async () => {
    // Prepare
    const { accessToken } = await authKitTestControls(stack.issuer).mintToken({ aud: stack.mcpUrl });
    const call = (id: number) =>
      postMcp(
        stack.mcpUrl,
        holder,
        { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'whoami', arguments: {} } },
        `Bearer ${accessToken}`,
      );
    const anonymous = { jsonrpc: '2.0', id: 1, method: 'tools/list' };

    // Act: the flood, FLOOD_CONCURRENCY requests at a time, while the token holder calls a tool now and then
    const flood: Reply[] = [];
    let sent = 0;
    const flooding = Promise.all(
      Array.from({ length: FLOOD_CONCURRENCY }, async () => {
        while (sent < FLOOD) {
          sent++;
          flood.push(await postMcp(stack.mcpUrl, attacker, anonymous));
        }
      }),
    );
    const during: Reply[] = [];
    while (sent < FLOOD) {
      during.push(await call(during.length + 1));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await flooding;
    const attackerAfter = await postMcp(stack.mcpUrl, attacker, anonymous);
    const after = await call(1000);

    // Assess: the attacker's requests were refused by the challenge, then by WAF
    expect(new Set(flood.map((reply) => reply.status))).toEqual(new Set([401, 429]));
    expect(attackerAfter.status).toBe(429);
    const blocked = defined(
      flood.find((reply) => reply.status === 429),
      'a 429 reply in the flood',
    );
    expect(blocked.headers['retry-after']).toBe(String(WINDOW_SECONDS));
    expect(blocked.headers['content-type']).toBe('application/json');
    expect(JSON.parse(blocked.body)).toMatchObject({ error: 'too_many_requests' });
    // Several allowed origins: a static `*`, exposing the MCP headers, as the gateway's own errors do.
    expect([CLIENT_ORIGIN, '*']).toContain(blocked.headers['access-control-allow-origin']);
    expect(String(blocked.headers['access-control-expose-headers']).toLowerCase().split(/,\s*/)).toEqual(
      expect.arrayContaining(['www-authenticate', 'mcp-session-id', 'mcp-protocol-version']),
    );

    // Assess: the token holder was served throughout
    expect(during.length).toBeGreaterThan(0);
    for (const reply of [...during, after]) {
      expect(reply.status).toBe(200);
      expect(reply.body).toContain('"result"');
    }
    expect(stack.gateway.stats().throttled).toBe(0);
  });
});
