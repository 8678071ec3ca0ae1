/**
 * The local AuthKit stand-in: an HTTP server on loopback that hosts oidc-provider (configured in
 * provider.mts), the sign-in page, the RFC 8414 metadata route, optional test controls, and one
 * log line per request.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Interaction, InteractionResults, KoaContext, Middleware, Provider } from 'oidc-provider';
import { AUTHKIT_STANDARD_SCOPES, DEFAULT_AUTHKIT_PORT, DEV_USER, TEST_CONTROLS_PATH } from './contract.js';
import { AUTHKIT_ROUTES, INTERACTION_PATH_PREFIX, createAuthKitProvider } from './provider.mjs';
import { SharedMemoryStore } from './memory-adapter.mjs';
import { renderSignInPage } from './sign-in-page.mjs';
import { SigningKeyRing, generateSigningKey, type SigningJwk } from './signing-keys.mjs';
import { JwksFailureSwitch, handleTestControl } from './test-controls.mjs';

export interface AuthKitServerOptions {
  /** Interface to listen on. @default '127.0.0.1' */
  readonly host?: string;
  /** Port; 0 picks a free one. @default 8788 */
  readonly port?: number;
  /** Complete every sign-in without showing the page (tests). @default false */
  readonly autoApprove?: boolean;
  /** Serve the `/__test/*` endpoints (mint tokens, rotate keys, break the JWKS). @default false */
  readonly testControls?: boolean;
  /** Scopes to support beyond AuthKit's email, offline_access, openid, profile. @default none */
  readonly extraScopes?: readonly string[];
  /** Lifetime of issued access tokens. @default 300 (short, so that clients exercise refresh) */
  readonly accessTokenTtlSeconds?: number;
  /** A fixed signing key instead of one generated at start. @default - a new RS256 key */
  readonly signingKey?: SigningJwk;
  /** Receives one line per request and the server's notices. @default - written to stdout */
  readonly log?: (line: string) => void;
}

export interface RunningAuthKitServer {
  /** `http://<host>:<port>`, no trailing slash: the `iss` of every token. */
  readonly issuer: string;
  close(): Promise<void>;
}

export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 300;
const RFC8414_PATH = '/.well-known/oauth-authorization-server';
const OPENID_CONFIGURATION_PATH = '/.well-known/openid-configuration';

function hostForUrl(address: AddressInfo, requestedHost: string): string {
  // Keep a name such as "localhost" as given: the issuer must be the URL people and clients use.
  const host = requestedHost === '' || requestedHost === '0.0.0.0' || requestedHost === '::' ? address.address : requestedHost;
  return host.includes(':') ? `[${host}]` : host;
}

/** Serves RFC 8414 metadata from the provider's own discovery document (same issuer, same endpoints). */
const authorizationServerMetadataRoute: Middleware = async (ctx, next) => {
  if (ctx.path === RFC8414_PATH) ctx.path = OPENID_CONFIGURATION_PATH;
  await next();
};

/**
 * oidc-provider answers CORS on its token and discovery endpoints but not on registration;
 * browser-based MCP clients (MCP Inspector) register from the page, so the stand-in adds it.
 */
const registrationCors: Middleware = async (ctx, next) => {
  const origin = ctx.get('origin');
  if (ctx.path !== AUTHKIT_ROUTES.registration || origin === '') return next();
  ctx.set('Access-Control-Allow-Origin', origin);
  ctx.set('Vary', 'Origin');
  if (ctx.method !== 'OPTIONS') return next();
  ctx.set('Access-Control-Allow-Methods', 'POST');
  ctx.set('Access-Control-Allow-Headers', ctx.get('access-control-request-headers') || 'content-type');
  ctx.set('Access-Control-Max-Age', '3600');
  ctx.status = 204;
};

function requestedList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string' && value !== '') return value.split(' ');
  return [];
}

function interactionRoutes(provider: Provider, autoApprove: boolean): Middleware {
  const complete = async (ctx: KoaContext, result: InteractionResults) => {
    const location = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(location);
  };
  // Signing in also grants consent: the dev user approves whatever the client asked for.
  const signIn: InteractionResults = { login: { accountId: DEV_USER.sub }, consent: {} };

  const showPage = async (ctx: KoaContext, details: Interaction) => {
    const clientId = String(details.params.client_id);
    const client = await provider.Client.find(clientId);
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = renderSignInPage({
      uid: details.uid,
      clientName: client?.clientName ?? clientId,
      scopes: requestedList(details.params.scope),
      resources: requestedList(details.params.resource),
    });
  };

  return async (ctx, next) => {
    if (!ctx.path.startsWith(INTERACTION_PATH_PREFIX)) return next();
    const [uid, action, ...rest] = ctx.path.slice(INTERACTION_PATH_PREFIX.length).split('/');
    try {
      const details = await provider.interactionDetails(ctx.req, ctx.res);
      if (details.uid !== uid || rest.length > 0) {
        throw Object.assign(new Error('this sign-in page belongs to another authorization request'), { status: 400 });
      }
      if (ctx.method === 'GET' && action === undefined) {
        return await (autoApprove ? complete(ctx, signIn) : showPage(ctx, details));
      }
      if (ctx.method === 'POST' && action === 'confirm') return await complete(ctx, signIn);
      if (ctx.method === 'POST' && action === 'cancel') {
        return await complete(ctx, { error: 'access_denied', error_description: 'The person cancelled the sign-in.' });
      }
      ctx.status = 404;
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = 'No such sign-in step.';
    } catch (error) {
      const status = (error as { status?: number }).status ?? 500;
      if (status >= 500) throw error;
      // The library reports a missing or expired interaction cookie as SessionNotFound (400).
      ctx.status = status;
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = `Sign-in cannot continue: ${(error as Error).message}. Start again from your MCP client.`;
    }
  };
}

function logRequests(log: (line: string) => void) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    // The path only: query strings carry codes, states and challenges.
    const path = (req.url ?? '/').split('?')[0];
    let logged = false;
    const write = (status: string) => {
      if (logged) return;
      logged = true;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      log(`${new Date().toISOString()} ${req.method} ${path} ${status} ${ms.toFixed(1)}ms`);
    };
    res.on('finish', () => write(String(res.statusCode)));
    res.on('close', () => write('dropped'));
  };
}

export async function startAuthKitServer(options: AuthKitServerOptions = {}): Promise<RunningAuthKitServer> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const keyRing = new SigningKeyRing(options.signingKey ?? (await generateSigningKey()));
  const cookieKeys = [randomBytes(32).toString('base64url')];
  const scopes = [...new Set([...AUTHKIT_STANDARD_SCOPES, ...(options.extraScopes ?? [])])];
  const accessTokenTtlSeconds = options.accessTokenTtlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS;
  const autoApprove = options.autoApprove ?? false;
  const jwksFailure = new JwksFailureSwitch();
  const store = new SharedMemoryStore();

  let providerCallback: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  let issuer = '';

  // Key rotation builds a fresh provider around the new key ring; clients, grants and sessions
  // stay in the shared store, and the cookie keys stay the same.
  const buildProvider = () => {
    const provider = createAuthKitProvider({ issuer, signingKeys: keyRing.keys, cookieKeys, scopes, accessTokenTtlSeconds, store });
    provider.use(authorizationServerMetadataRoute);
    provider.use(registrationCors);
    provider.use(interactionRoutes(provider, autoApprove));
    providerCallback = provider.callback();
  };

  const onRequest = logRequests(log);
  const server = createServer((req, res) => {
    onRequest(req, res);
    const path = (req.url ?? '/').split('?')[0];
    if (options.testControls && (path === TEST_CONTROLS_PATH || path.startsWith(`${TEST_CONTROLS_PATH}/`))) {
      handleTestControl(req, res, path, { issuer, keyRing, scopes, accessTokenTtlSeconds, jwksFailure, rebuildProvider: buildProvider })
        .catch((error: unknown) => {
          log(`test control ${path} failed: ${(error as Error).message}`);
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: 'server_error' }));
        });
      return;
    }
    if (path === AUTHKIT_ROUTES.jwks) {
      jwksFailure.countRequest();
      void jwksFailure.apply(req, res).then((handled) => {
        if (!handled) providerCallback?.(req, res);
      });
      return;
    }
    if (!providerCallback) {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
      res.end(JSON.stringify({ error: 'temporarily_unavailable', error_description: 'the server is starting' }));
      return;
    }
    providerCallback(req, res);
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_AUTHKIT_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  issuer = `http://${hostForUrl(server.address() as AddressInfo, host)}:${(server.address() as AddressInfo).port}`;
  buildProvider();

  return {
    issuer,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
