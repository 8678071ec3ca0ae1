/**
 * `verify` against a hostile or broken endpoint that answers with a body that never ends: every
 * body is counted while it is read and cut at the cap, so the process stays bounded. The servers
 * are real loopback HTTP servers that write for as long as the socket takes data.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { bodyMeter, boundedFetch, MAX_BODY_BYTES } from '../../cli/verify/bounded-body';
import { checkMcpSession } from '../../cli/verify/checks/mcp-session';

// libuv reads a socket at most 64 KiB at a time, so one chunk past the cap is at most this much.
const ONE_CHUNK = 64 * 1024;
const CAP_MESSAGE = "the body is larger than verify's cap of 1048576 bytes (1 MiB); verify stopped reading it there";

type Endless = 'sse' | 'json';

/** Writes `piece` until the client goes away, waiting for the socket to drain (so the server stays small too). */
function writeForever(response: http.ServerResponse, piece: string): void {
  const pump = (): void => {
    while (!response.destroyed && response.write(piece));
    if (!response.destroyed) response.once('drain', pump);
  };
  pump();
}

function endlessServer(kind: Endless): http.Server {
  return http.createServer((request, response) => {
    request.resume();
    if (kind === 'sse') {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('event: message\ndata: ');
      writeForever(response, 'x'.repeat(16 * 1024));
    } else {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"jsonrpc":"2.0","id":0,"result":{"padding":[');
      writeForever(response, '0,'.repeat(8 * 1024));
    }
  });
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

describe('verify against an endless body', () => {
  it.each<Endless>(['sse', 'json'])(
    'fails initialize with the cap message when the endpoint answers an endless %s body, having read at most the cap and one chunk',
    async (kind) => {
      // Prepare
      const server = endlessServer(kind);
      const base = await listen(server);
      const meter = bodyMeter();

      try {
        // Act
        const results = await checkMcpSession(`${base}/mcp`, 'a.b.c', 'user_1', 10_000, meter);

        // Assess
        expect(results[0]).toMatchObject({ id: 'mcp.initialize', status: 'fail' });
        expect(results[0].detail).toBe(`${base}/mcp: ${CAP_MESSAGE}`);
        expect(meter.largestBodyBytes).toBeGreaterThan(MAX_BODY_BYTES);
        expect(meter.largestBodyBytes).toBeLessThanOrEqual(MAX_BODY_BYTES + ONE_CHUNK);
      } finally {
        await close(server);
      }
    },
  );

  it('cuts an endless body in the sign-in fetch too, so an OAuth answer cannot grow the process', async () => {
    // Prepare
    const server = endlessServer('json');
    const base = await listen(server);
    const meter = bodyMeter();

    try {
      // Act
      const response = await boundedFetch(10_000, meter)(`${base}/.well-known/oauth-authorization-server`);

      // Assess
      await expect(response.json()).rejects.toThrow(CAP_MESSAGE);
      expect(meter.largestBodyBytes).toBeLessThanOrEqual(MAX_BODY_BYTES + ONE_CHUNK);
    } finally {
      await close(server);
    }
  });

  it('reads an answer under the cap whole', async () => {
    // Prepare
    const body = JSON.stringify({ padding: 'y'.repeat(MAX_BODY_BYTES - 100) });
    const server = http.createServer((_request, response) => response.end(body));
    const base = await listen(server);

    try {
      // Act
      const response = await boundedFetch(10_000)(`${base}/doc`);

      // Assess
      expect(await response.text()).toBe(body);
    } finally {
      await close(server);
    }
  });
});
