/**
 * A faulty upstream in front of AuthKit's public endpoints, whose failures the soak run switches on
 * and off: the authorization-server metadata (issuer = this server's own URL) and a JWKS that passes
 * the AuthKit stand-in's keys through. The stand-in can break its JWKS in three ways; this upstream
 * adds the answers it cannot give (an HTML page with status 200) and a breakable metadata upstream.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { authKitMetadata, authKitOpenIdConfiguration } from '../fixtures/metadata-origin';

/** `html`: 200 with an HTML page, as a captive portal or a misrouted proxy answers. */
export type UpstreamMode = 'normal' | 'down' | 'slow' | 'error' | 'html';

export interface FaultyUpstream {
  /** e.g. http://127.0.0.1:41234 (also the issuer its metadata names). */
  readonly url: string;
  readonly jwksUrl: string;
  mode: UpstreamMode;
  /** How long `slow` waits before answering. */
  slowDelayMs: number;
  /** Requests seen, by path. */
  readonly requests: Map<string, number>;
  close(): Promise<void>;
}

const metadataDocuments = new Map<string, (issuer: string) => Record<string, unknown>>([
  ['/.well-known/oauth-authorization-server', authKitMetadata],
  ['/.well-known/openid-configuration', authKitOpenIdConfiguration],
]);

/** Starts the upstream on 127.0.0.1 (ephemeral port); `realJwksUrl` is where `normal` JWKS answers come from. */
export async function startFaultyUpstream(realJwksUrl: string): Promise<FaultyUpstream> {
  const requests = new Map<string, number>();
  let url = '';
  const state = { mode: 'normal' as UpstreamMode, slowDelayMs: 10_000 };

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    requests.set(path, (requests.get(path) ?? 0) + 1);
    switch (state.mode) {
      case 'down':
        req.socket.destroy();
        return;
      case 'error':
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"error":"server_error"}');
        return;
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(
          '<!doctype html><html><head><title>Sign in to the network</title></head><body><h1>Sign in</h1></body></html>',
        );
        return;
      case 'slow':
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, state.slowDelayMs);
          res.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
        });
        if (res.destroyed) return;
        break;
      case 'normal':
        break;
    }
    const metadata = metadataDocuments.get(path);
    if (metadata) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(metadata(url)));
    } else if (path === '/oauth2/jwks') {
      const upstream = await fetch(realJwksUrl, { signal: AbortSignal.timeout(5000) });
      res.writeHead(upstream.status, { 'content-type': 'application/json' });
      res.end(await upstream.text());
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"not_found"}');
    }
  }

  const server = createServer((req, res) => {
    answer(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    jwksUrl: `${url}/oauth2/jwks`,
    get mode() {
      return state.mode;
    },
    set mode(mode: UpstreamMode) {
      state.mode = mode;
    },
    get slowDelayMs() {
      return state.slowDelayMs;
    },
    set slowDelayMs(ms: number) {
      state.slowDelayMs = ms;
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
