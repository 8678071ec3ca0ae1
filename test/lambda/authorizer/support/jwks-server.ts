/**
 * A real JWKS endpoint on 127.0.0.1 for tests and benchmarks, switchable between healthy, slow,
 * failing, garbage, oversized, redirecting and rotated-key behaviour, counting every request it receives.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type JwksServerMode = 'ok' | 'error500' | 'html' | 'not-a-jwks' | 'empty-keys' | 'hang' | 'huge' | 'redirect';

/** What `huge` mode streams: a 10 MB JSON document, without Content-Length, 64 KB at a time. */
export const HUGE_JWKS_BYTES = 10 * 1024 * 1024;

export interface JwksServer {
  /** The JWKS URL, `http://127.0.0.1:<port>/oauth2/jwks`. */
  readonly url: string;
  /** Requests received since start or the last `resetHits()`. */
  readonly hits: number;
  /** Requests for the path `redirect` mode points to. */
  readonly redirectTargetHits: number;
  /** Body bytes `huge` mode managed to write before the client hung up. */
  readonly hugeBytesSent: number;
  resetHits(): void;
  /** The key set served in `ok` mode. */
  setKeys(keys: readonly object[]): void;
  setMode(mode: JwksServerMode): void;
  /** Delay before answering, in ms (0 = immediate). */
  setDelay(ms: number): void;
  close(): Promise<void>;
}

export async function startJwksServer(keys: readonly object[]): Promise<JwksServer> {
  let served = [...keys];
  let mode: JwksServerMode = 'ok';
  let delayMs = 0;
  let hits = 0;
  let redirectTargetHits = 0;
  let hugeBytesSent = 0;
  const timers = new Set<NodeJS.Timeout>();

  const server: Server = createServer((request, response) => {
    hits++;
    const answer = () => {
      if (mode === 'hang') return; // never answers; only the client's timeout ends the request
      if (request.url === '/moved/jwks') {
        redirectTargetHits++;
        return void response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ keys: served }));
      }
      if (request.url !== '/oauth2/jwks') return void response.writeHead(404).end();
      if (mode === 'error500')
        return void response.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"server_error"}');
      if (mode === 'html')
        return void response
          .writeHead(200, { 'content-type': 'text/html' })
          .end('<html><body>Service temporarily unavailable</body></html>');
      if (mode === 'not-a-jwks')
        return void response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      if (mode === 'redirect') return void response.writeHead(302, { location: '/moved/jwks' }).end();
      if (mode === 'huge') return void streamHuge(response, (bytes) => void (hugeBytesSent = bytes));
      if (mode === 'empty-keys')
        return void response.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: served }));
    };
    if (delayMs > 0) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, delayMs);
      timers.add(timer);
    } else {
      answer();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/oauth2/jwks`,
    get hits() {
      return hits;
    },
    get redirectTargetHits() {
      return redirectTargetHits;
    },
    get hugeBytesSent() {
      return hugeBytesSent;
    },
    resetHits: () => void (hits = redirectTargetHits = hugeBytesSent = 0),
    setKeys: (next) => void (served = [...next]),
    setMode: (next) => void (mode = next),
    setDelay: (ms) => void (delayMs = ms),
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes a JSON document of HUGE_JWKS_BYTES in 64 KB chunks, waiting for the client to read each, until it is done or the client hangs up. */
function streamHuge(response: ServerResponse, report: (bytes: number) => void): void {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let sent = 0;
  response.writeHead(200, { 'content-type': 'application/json' });
  response.write('{"keys":[],"padding":"');
  const next = (): void => {
    while (sent < HUGE_JWKS_BYTES && !response.destroyed) {
      sent += chunk.length;
      report(sent);
      if (!response.write(chunk)) return void response.once('drain', next);
    }
    if (!response.destroyed) response.end('"}');
  };
  response.on('close', () => report(sent));
  next();
}

/** A loopback URL on which nothing listens: the port of a server that was started and closed. */
export async function unusedLoopbackUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/oauth2/jwks`;
}
