/**
 * A loopback reverse proxy that adds `Authorization: Bearer <token>` to every request it forwards.
 *
 * The MCP conformance CLI has no option for request headers, and every MCP request to the local
 * stack must carry a token the authorizer accepts; this proxy stands between the two. Requests and
 * responses are streamed through unchanged otherwise. The token is never logged.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TokenProxyRoute {
  /** Origin of the server to forward to, e.g. `http://127.0.0.1:8787`. Must be http on loopback. */
  readonly target: string;
  /** The bearer token to add; replaces any Authorization header the caller sent. */
  readonly token: string;
}

export interface RunningTokenProxy {
  /** The proxy's origin, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /**
   * Where to forward and with which token. The proxy listens before it knows (its origin may be
   * part of the target's configuration); until then it answers 503.
   */
  route(route: TokenProxyRoute): void;
  /** How many requests have been forwarded. */
  forwardedRequests(): number;
  stop(): Promise<void>;
}

// Per RFC 9110 §7.6.1 these describe one connection, not the message: never forwarded.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

function checkedRoute(route: TokenProxyRoute): { target: URL; token: string } {
  const target = new URL(route.target);
  if (target.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname)) {
    throw new Error(`The token proxy forwards to loopback http servers only, got ${route.target}.`);
  }
  if (!route.token) throw new Error('The token proxy needs a token to add to requests.');
  return { target, token: route.token };
}

export async function startTokenProxy(initialRoute?: TokenProxyRoute): Promise<RunningTokenProxy> {
  let current = initialRoute ? checkedRoute(initialRoute) : undefined;
  let forwarded = 0;

  const server = http.createServer((incoming, outgoing) => {
    if (!current) {
      incoming.resume();
      outgoing.writeHead(503, { 'content-type': 'application/json' });
      outgoing.end(JSON.stringify({ error: 'not_routed', error_description: 'The token proxy has no target yet.' }));
      return;
    }
    const { target, token } = current;
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(incoming.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name) || name === 'host' || name === 'authorization') continue;
      headers[name] = value;
    }
    headers.authorization = `Bearer ${token}`;
    forwarded += 1;
    const upstream = http.request(
      {
        host: target.hostname.replace(/^\[|\]$/g, ''),
        port: target.port,
        method: incoming.method,
        path: incoming.url,
        headers,
      },
      (answer) => {
        const answerHeaders: http.OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(answer.headers)) {
          if (value !== undefined && !HOP_BY_HOP.has(name)) answerHeaders[name] = value;
        }
        outgoing.writeHead(answer.statusCode ?? 502, answerHeaders);
        answer.pipe(outgoing);
      },
    );
    upstream.on('error', (error) => {
      if (outgoing.headersSent) {
        outgoing.destroy(error);
        return;
      }
      outgoing.writeHead(502, { 'content-type': 'application/json' });
      outgoing.end(
        JSON.stringify({
          error: 'bad_gateway',
          error_description: `The token proxy could not reach ${target.origin}: ${error.message}`,
        }),
      );
    });
    incoming.pipe(upstream);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    route(route) {
      current = checkedRoute(route);
    },
    forwardedRequests: () => forwarded,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
