/**
 * A stand-in for AuthKit's public endpoints whose failures the soak run switches on and off: the
 * authorization-server metadata (issuer = this server's own URL) and a JWKS that passes the real
 * stand-in's keys through. The AuthKit stand-in can break its JWKS in three ways; this one adds the
 * answers it cannot give (an HTML page with status 200) and a breakable metadata upstream.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

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

/** Starts the upstream on 127.0.0.1 (ephemeral port); `realJwksUrl` is where `normal` JWKS answers come from. */
export async function startFaultyUpstream(realJwksUrl: string): Promise<FaultyUpstream> {
  const requests = new Map<string, number>();
  let url = '';
  const state = { mode: 'normal' as UpstreamMode, slowDelayMs: 10_000 };

  const metadata = () => ({
    issuer: url,
    authorization_endpoint: `${url}/oauth2/authorize`,
    token_endpoint: `${url}/oauth2/token`,
    registration_endpoint: `${url}/oauth2/register`,
    jwks_uri: `${url}/oauth2/jwks`,
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none', 'client_secret_post', 'client_secret_basic'],
    scopes_supported: ['email', 'offline_access', 'openid', 'profile'],
  });

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
    if (path === '/.well-known/oauth-authorization-server' || path === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(metadata()));
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
