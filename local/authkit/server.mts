/**
 * The local AuthKit stand-in: an HTTP server on loopback that hosts oidc-provider (configured in
 * provider.mts), the sign-in page, the RFC 8414 metadata route, optional test controls, and one
 * log line per request.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client, Interaction, InteractionResults, KoaContext, Middleware, Provider } from 'oidc-provider';
import { AUTHKIT_STANDARD_SCOPES, DEFAULT_AUTHKIT_PORT, DEV_USER, TEST_CONTROLS_PATH } from './contract.js';
import { AUTHKIT_ROUTES, INTERACTION_PATH_PREFIX, createAuthKitProvider } from './provider.mjs';
import { isLoopbackOrigin, isLoopbackUrl } from './loopback.js';
import { SharedMemoryStore } from './memory-adapter.mjs';
import { renderSignInPage } from './sign-in-page.mjs';
import { SigningKeyRing, generateSigningKey, type SigningJwk } from './signing-keys.mjs';
import { JwksFailureSwitch, handleTestControl } from './test-controls.mjs';
import { LocalWorkOSApi } from './workos-api.js';

export interface AuthKitServerOptions {
  /** Interface to listen on. @default '127.0.0.1' */
  readonly host?: string;
  /** Port; 0 picks a free one. @default 8788 */
  readonly port?: number;
  /**
   * Complete sign-ins without showing the page (tests), when the code goes to a loopback redirect
   * URI and the browser did not come from another site; any other sign-in shows the page.
   * @default false
   */
  readonly autoApprove?: boolean;
  /** Fetch `https://<loopback>` Client ID Metadata Documents over http (tests). @default false */
  readonly cimdLoopback?: boolean;
  /** A JSON file that keeps registered clients across restarts. @default - clients live in memory only */
  readonly clientsFile?: string;
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
  /**
   * The API key the WorkOS API routes (workos-api.ts) accept as `Authorization: Bearer <key>`.
   * @default - a new `sk_test_...` key
   */
  readonly workosApiKey?: string;
}

export interface RunningAuthKitServer {
  /** `http://<host>:<port>`, no trailing slash: the `iss` of every token. */
  readonly issuer: string;
  /** The API key its WorkOS API accepts; that API's base URL is the issuer. */
  readonly workosApiKey: string;
  close(): Promise<void>;
}

export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 300;
const RFC8414_PATH = '/.well-known/oauth-authorization-server';
const OPENID_CONFIGURATION_PATH = '/.well-known/openid-configuration';

function hostForUrl(address: AddressInfo, requestedHost: string): string {
  // Keep a name such as "localhost" as given: the issuer must be the URL people and clients use.
  const host =
    requestedHost === '' || requestedHost === '0.0.0.0' || requestedHost === '::' ? address.address : requestedHost;
  return host.includes(':') ? `[${host}]` : host;
}

/** Serves RFC 8414 metadata from the provider's own discovery document (same issuer, same endpoints). */
const authorizationServerMetadataRoute: Middleware = async (ctx, next) => {
  if (ctx.path === RFC8414_PATH) ctx.path = OPENID_CONFIGURATION_PATH;
  await next();
};

const CORS_RESPONSE_HEADERS = [
  'Access-Control-Allow-Origin',
  'Access-Control-Allow-Credentials',
  'Access-Control-Expose-Headers',
  'Access-Control-Allow-Methods',
  'Access-Control-Allow-Headers',
  'Access-Control-Max-Age',
];

/**
 * oidc-provider answers CORS for any origin on its public endpoints (metadata, JWKS) and on every
 * preflight (the client is not known yet). A page on another site gets no CORS answer at all: an
 * empty preflight, so that its browser stops before sending the request, and no CORS headers on
 * anything else, so that it cannot read what comes back.
 */
const loopbackCorsOnly: Middleware = async (ctx, next) => {
  const origin = ctx.get('origin');
  if (origin === '' || isLoopbackOrigin(origin)) return next();
  if (ctx.method === 'OPTIONS') {
    ctx.status = 204;
    return;
  }
  await next();
  for (const name of CORS_RESPONSE_HEADERS) ctx.remove(name);
};

/**
 * oidc-provider answers CORS on its token and discovery endpoints but not on registration;
 * browser-based MCP clients on this machine (MCP Inspector) register from the page, so the stand-in
 * adds it for loopback origins. A page elsewhere gets no CORS answer and cannot read a client id.
 */
const registrationCors: Middleware = async (ctx, next) => {
  const origin = ctx.get('origin');
  if (ctx.path !== AUTHKIT_ROUTES.registration || !isLoopbackOrigin(origin)) return next();
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

/** The redirect URI a sign-in will send its code to: the one requested, or the client's only one. */
function redirectUriOf(details: Interaction, client: Client | undefined): string | undefined {
  const requested = details.params.redirect_uri;
  if (typeof requested === 'string' && requested !== '') return requested;
  return client?.redirectUris.length === 1 ? client.redirectUris[0] : undefined;
}

/**
 * Why auto-approve must show the page instead, or undefined when it may complete. A page on another
 * site can navigate the browser here (GETs follow redirects with the stand-in's cookies), so
 * completing without a click is allowed only when the code stays on this machine and the browser
 * does not report the navigation as started by another site. Non-browser callers (tests, the CLI)
 * send neither Referer nor Sec-Fetch-Site.
 */
function autoApproveRefusal(ctx: KoaContext, redirectUri: string | undefined): string | undefined {
  if (!isLoopbackUrl(redirectUri)) return 'the code would leave this machine';
  const referer = ctx.get('referer');
  if (referer !== '' && !isLoopbackUrl(referer)) return 'the sign-in was started by a page on another site';
  if (referer === '' && ctx.get('sec-fetch-site') === 'cross-site')
    return 'the sign-in was started by a page on another site';
  return undefined;
}

/** A form post that a page on another origin sent: browsers mark it with Origin or Sec-Fetch-Site. */
function isCrossOriginPost(ctx: KoaContext): boolean {
  const origin = ctx.get('origin');
  if (origin !== '' && origin !== `http://${ctx.get('host')}`) return true;
  const site = ctx.get('sec-fetch-site');
  return site !== '' && site !== 'same-origin';
}

function interactionRoutes(provider: Provider, autoApprove: boolean): Middleware {
  const complete = async (ctx: KoaContext, result: InteractionResults) => {
    const location = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(location);
  };
  // Signing in also grants consent: the dev user approves whatever the client asked for.
  const signIn: InteractionResults = { login: { accountId: DEV_USER.sub }, consent: {} };

  const open = async (ctx: KoaContext, details: Interaction) => {
    const clientId = String(details.params.client_id);
    const client = await provider.Client.find(clientId);
    const redirectUri = redirectUriOf(details, client);
    const refusal = autoApprove ? autoApproveRefusal(ctx, redirectUri) : undefined;
    if (autoApprove && refusal === undefined) return complete(ctx, signIn);
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    // No other page may frame the button and trick a click on it.
    ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
    ctx.set('X-Frame-Options', 'DENY');
    ctx.body = renderSignInPage({
      uid: details.uid,
      clientName: client?.clientName ?? clientId,
      redirectUri: redirectUri ?? 'not named',
      scopes: requestedList(details.params.scope),
      resources: requestedList(details.params.resource),
      autoApproveRefusal: refusal,
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
      if (ctx.method === 'GET' && action === undefined) return await open(ctx, details);
      if (ctx.method === 'POST' && isCrossOriginPost(ctx)) {
        throw Object.assign(new Error('the sign-in form was sent from another site'), { status: 403 });
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
  const workosApi = new LocalWorkOSApi({ apiKey: options.workosApiKey });
  const store = new SharedMemoryStore({ clientsFile: options.clientsFile });

  let providerCallback: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  let issuer = '';

  // Key rotation builds a fresh provider around the new key ring; clients, grants and sessions
  // stay in the shared store, and the cookie keys stay the same.
  const buildProvider = () => {
    const provider = createAuthKitProvider({
      issuer,
      signingKeys: keyRing.keys,
      cookieKeys,
      scopes,
      accessTokenTtlSeconds,
      store,
      cimdLoopback: options.cimdLoopback ?? false,
    });
    provider.use(authorizationServerMetadataRoute);
    provider.use(loopbackCorsOnly);
    provider.use(registrationCors);
    provider.use(interactionRoutes(provider, autoApprove));
    providerCallback = provider.callback();
  };

  const onRequest = logRequests(log);
  const server = createServer((req, res) => {
    onRequest(req, res);
    const path = (req.url ?? '/').split('?')[0];
    if (options.testControls && (path === TEST_CONTROLS_PATH || path.startsWith(`${TEST_CONTROLS_PATH}/`))) {
      handleTestControl(req, res, path, {
        issuer,
        keyRing,
        scopes,
        accessTokenTtlSeconds,
        jwksFailure,
        workosApi,
        rebuildProvider: buildProvider,
      }).catch((error: unknown) => {
        log(`test control ${path} failed: ${(error as Error).message}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'server_error' }));
      });
      return;
    }
    if (workosApi.serves(path)) return workosApi.handle(req, res);
    if (path === AUTHKIT_ROUTES.jwks) {
      jwksFailure.countRequest();
      void jwksFailure.apply(req, res).then((handled) => {
        if (!handled) providerCallback?.(req, res);
      });
      return;
    }
    if (!providerCallback) return answerStarting(res);
    providerCallback(req, res);
  });

  const host = options.host ?? '127.0.0.1';
  await listen(server, options.port ?? DEFAULT_AUTHKIT_PORT, host);
  issuer = `http://${hostForUrl(server.address() as AddressInfo, host)}:${(server.address() as AddressInfo).port}`;
  buildProvider();

  return { issuer, workosApiKey: workosApi.apiKey, close: () => closeServer(server) };
}

/** Requests that arrive before the issuer is known, and so before the provider exists. */
function answerStarting(res: ServerResponse): void {
  res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
  res.end(JSON.stringify({ error: 'temporarily_unavailable', error_description: 'the server is starting' }));
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
