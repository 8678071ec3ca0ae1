/**
 * A real JWKS endpoint on 127.0.0.1 for tests and benchmarks, switchable between healthy, slow,
 * failing, garbage and rotated-key behaviour, counting every request it receives.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type JwksServerMode = 'ok' | 'error500' | 'html' | 'not-a-jwks' | 'empty-keys' | 'hang';

export interface JwksServer {
  /** The JWKS URL, `http://127.0.0.1:<port>/oauth2/jwks`. */
  readonly url: string;
  /** Requests received since start or the last `resetHits()`. */
  readonly hits: number;
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
  const timers = new Set<NodeJS.Timeout>();

  const server: Server = createServer((request, response) => {
    hits++;
    const answer = () => {
      if (mode === 'hang') return; // never answers; only the client's timeout ends the request
      if (request.url !== '/oauth2/jwks') return void response.writeHead(404).end();
      if (mode === 'error500') return void response.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"server_error"}');
      if (mode === 'html') return void response.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Service temporarily unavailable</body></html>');
      if (mode === 'not-a-jwks') return void response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      if (mode === 'empty-keys') return void response.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
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
    resetHits: () => void (hits = 0),
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

/** A loopback URL on which nothing listens: the port of a server that was started and closed. */
export async function unusedLoopbackUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/oauth2/jwks`;
}
