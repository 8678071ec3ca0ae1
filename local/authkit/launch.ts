/**
 * Starts the local AuthKit stand-in in a child process and talks to it over HTTP.
 *
 * oidc-provider is ESM-only, so the stand-in cannot be loaded into jest or a CommonJS program;
 * this module (plain CommonJS-compatible TypeScript) spawns it with tsx, waits until it listens,
 * and offers the two things its users need besides the issuer URL: a headless walk through the
 * sign-in redirects, and a client for the test controls.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { DEFAULT_AUTHKIT_PORT, JWKS_MODES, READY_LINE_PREFIX, TEST_CONTROLS_PATH, type JwksMode } from './contract';
import { generateWorkOSApiKey } from './workos-api';

export {
  AUTHKIT_STANDARD_SCOPES,
  DEFAULT_AUTHKIT_PORT,
  DEV_USER,
  ENVIRONMENT_CLIENT_ID,
  JWKS_MODES,
  type DevUser,
  type JwksMode,
} from './contract';
import { LocalError } from '../errors';

export interface AuthKitStandInOptions {
  /** Port to listen on; 0 picks a free one. @default 8788 */
  readonly port?: number;
  /** Interface to listen on; also the host of the issuer URL. @default '127.0.0.1' */
  readonly host?: string;
  /**
   * Complete sign-ins without showing the page, when the code goes to a loopback redirect URI and
   * the browser did not come from another site. @default false
   */
  readonly autoApprove?: boolean;
  /** Keep registered clients in this JSON file across restarts. @default - in memory only */
  readonly clientsFile?: string;
  /** Fetch `https://<loopback>` Client ID Metadata Documents over plain http (tests). @default false */
  readonly cimdLoopback?: boolean;
  /** Serve the `/__test/*` control endpoints (see {@link authKitTestControls}). @default false */
  readonly testControls?: boolean;
  /** Scopes to support beyond email, offline_access, openid, profile. @default none */
  readonly extraScopes?: readonly string[];
  /** Lifetime of issued access tokens in seconds. @default 300 */
  readonly accessTokenTtlSeconds?: number;
  /** A fixed private RSA JWK (with `kid`) to sign with. @default - a key generated at start */
  readonly signingKey?: Readonly<Record<string, unknown>>;
  /** Receives the stand-in's log lines (one per request). @default - discarded */
  readonly onLog?: (line: string) => void;
  /** How long to wait for the stand-in to listen. @default 20000 */
  readonly startTimeoutMs?: number;
  /** The API key its WorkOS API accepts. @default - a new `sk_test_...` key */
  readonly workosApiKey?: string;
}

export interface AuthKitStandIn {
  /** The issuer, e.g. `http://127.0.0.1:8788` (no trailing slash). */
  readonly issuer: string;
  /** `<issuer>/oauth2/jwks`. */
  readonly jwksUrl: string;
  /** The base URL of its WorkOS API (workos-api.ts): the issuer. */
  readonly workosApiBaseUrl: string;
  /** The API key that WorkOS API accepts. */
  readonly workosApiKey: string;
  /** Stops the child process; resolves once it has exited. */
  stop(): Promise<void>;
}

export class AuthKitStandInStartError extends LocalError {
  readonly code = 'AUTHKIT_STAND_IN_START_FAILED';
}

const REPO_ROOT = resolve(__dirname, '..', '..');
const ENTRY = resolve(__dirname, 'main.mts');
/** The stand-in's own environment variables: the launcher's options replace whatever the parent had. */
const STAND_IN_ENV = [
  'AUTHKIT_HOST',
  'AUTHKIT_PORT',
  'AUTHKIT_AUTO_APPROVE',
  'AUTHKIT_TEST_CONTROLS',
  'AUTHKIT_EXTRA_SCOPES',
  'AUTHKIT_ACCESS_TOKEN_TTL_SECONDS',
  'AUTHKIT_SIGNING_KEY',
  'AUTHKIT_CLIENTS_FILE',
  'AUTHKIT_CIMD_LOOPBACK',
  'AUTHKIT_WORKOS_API_KEY',
];

function childArguments(options: AuthKitStandInOptions): string[] {
  const args = [
    '--import',
    'tsx',
    ENTRY,
    '--port',
    String(options.port ?? DEFAULT_AUTHKIT_PORT),
    '--host',
    options.host ?? '127.0.0.1',
  ];
  if (options.autoApprove) args.push('--auto-approve');
  if (options.testControls) args.push('--test-controls');
  if (options.extraScopes?.length) args.push('--extra-scopes', options.extraScopes.join(' '));
  if (options.accessTokenTtlSeconds !== undefined)
    args.push('--access-token-ttl', String(options.accessTokenTtlSeconds));
  if (options.clientsFile !== undefined) args.push('--clients-file', resolve(options.clientsFile));
  if (options.cimdLoopback) args.push('--cimd-loopback');
  return args;
}

function waitForExit(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => {
    const force = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(force);
      resolveExit();
    });
  });
}

/** Spawns the stand-in and resolves once it listens. */
export function startAuthKitStandIn(options: AuthKitStandInOptions = {}): Promise<AuthKitStandIn> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of STAND_IN_ENV) delete env[name];
  if (options.signingKey) env.AUTHKIT_SIGNING_KEY = JSON.stringify(options.signingKey);
  const workosApiKey = options.workosApiKey ?? generateWorkOSApiKey();
  env.AUTHKIT_WORKOS_API_KEY = workosApiKey;

  const child = spawn(process.execPath, childArguments(options), {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const { stdout, stderr } = child;
  // Both are pipes by the stdio option above; a null one would be a Node.js change, not a user error.
  if (!stdout || !stderr) {
    child.kill('SIGKILL');
    throw new Error('The AuthKit stand-in was spawned without stdout and stderr pipes.');
  }
  const onLog = options.onLog ?? (() => undefined);
  const recentErrors: string[] = [];

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await waitForExit(child, 5000);
  };

  return new Promise<AuthKitStandIn>((resolveStart, rejectStart) => {
    let settled = false;
    const ready = (issuer: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolveStart({ issuer, jwksUrl: `${issuer}/oauth2/jwks`, workosApiBaseUrl: issuer, workosApiKey, stop });
    };
    const fail = (message: string, cause?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stop();
      const detail = recentErrors.length ? `\n${recentErrors.join('\n')}` : '';
      rejectStart(new AuthKitStandInStartError(`${message}${detail}`, { cause }));
    };
    const timeoutMs = options.startTimeoutMs ?? 20_000;
    const timer = setTimeout(() => fail(`The AuthKit stand-in did not start within ${timeoutMs} ms.`), timeoutMs);

    createInterface({ input: stdout }).on('line', (line) => {
      if (line.startsWith(READY_LINE_PREFIX)) ready(line.slice(READY_LINE_PREFIX.length).trim());
      else onLog(line);
    });
    createInterface({ input: stderr }).on('line', (line) => {
      recentErrors.push(line);
      if (recentErrors.length > 20) recentErrors.shift();
      onLog(line);
    });
    child.on('message', (message: { type?: string; issuer?: string }) => {
      if (message?.type === 'authkit-ready' && typeof message.issuer === 'string') ready(message.issuer);
    });
    child.once('error', (error) => fail(`The AuthKit stand-in could not be spawned: ${error.message}.`, error));
    child.once('exit', (code, signal) =>
      fail(`The AuthKit stand-in exited before it was ready (code ${code}, signal ${signal}).`),
    );
  });
}

/** A minimal cookie jar: the sign-in redirects carry the library's interaction and session cookies. */
class CookieJar {
  readonly #cookies = new Map<string, { name: string; value: string; path: string }>();

  store(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attributes] = header.split(';');
      const separator = pair.indexOf('=');
      if (separator < 1) continue;
      const name = pair.slice(0, separator).trim();
      const value = pair.slice(separator + 1).trim();
      let path = '/';
      let expired = value === '';
      for (const attribute of attributes) {
        const [key, attributeValue = ''] = attribute.split('=');
        const lower = key.trim().toLowerCase();
        if (lower === 'path') path = attributeValue.trim() || '/';
        if (lower === 'max-age' && Number(attributeValue) <= 0) expired = true;
        if (lower === 'expires' && Date.parse(attributeValue) < Date.now()) expired = true;
      }
      const key = `${name};${path}`;
      if (expired) this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, path });
    }
  }

  headerFor(url: URL): string | undefined {
    const matching = [...this.#cookies.values()].filter(
      (cookie) =>
        cookie.path === '/' ||
        url.pathname === cookie.path ||
        url.pathname.startsWith(`${cookie.path.replace(/\/$/, '')}/`),
    );
    return matching.length ? matching.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ') : undefined;
  }
}

const CONFIRM_FORM = /<form method="post" action="(\/interaction\/[^"]+\/confirm)">/;

/**
 * Walks an authorization URL of the stand-in the way a browser would, without a browser: follows
 * its redirects with cookies and, when the sign-in page is shown (auto-approve off), presses
 * "Continue as the dev user". Resolves with the URL the stand-in finally redirects to outside
 * itself: the client's redirect_uri carrying `code`, `state` and `iss` (or `error`). That URL is
 * not fetched.
 */
export async function authorizeHeadlessly(
  authorizationUrl: string | URL,
  options: { maxSteps?: number } = {},
): Promise<URL> {
  let url = new URL(authorizationUrl);
  const origin = url.origin;
  const jar = new CookieJar();
  let method: 'GET' | 'POST' = 'GET';
  for (let step = 0; step < (options.maxSteps ?? 10); step += 1) {
    const cookie = jar.headerFor(url);
    const response = await fetch(url, {
      method,
      redirect: 'manual',
      headers: {
        ...(cookie ? { cookie } : {}),
        ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: method === 'POST' ? '' : undefined,
    });
    jar.store(response);
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      const next = new URL(location, url);
      if (next.origin !== origin) return next;
      url = next;
      method = 'GET';
      continue;
    }
    const text = await response.text();
    const form = response.status === 200 ? CONFIRM_FORM.exec(text) : null;
    if (form) {
      url = new URL(form[1], url);
      method = 'POST';
      continue;
    }
    throw new Error(
      `Authorization stopped at HTTP ${response.status} on ${url.pathname}: ${text
        .replace(/<[^>]+>/g, ' ')
        .replace(/\s+/g, ' ')
        .trim()
        .slice(0, 300)}`,
    );
  }
  throw new Error(`Authorization did not reach the client's redirect_uri within ${options.maxSteps ?? 10} steps.`);
}

export interface MintTokenRequest {
  /** The audience: the resource the token is for (or several, to test multi-audience tokens). */
  readonly aud: string | readonly string[];
  /** Overrides of the AuthKit-shaped default claims; `null` removes a claim. */
  readonly claims?: Readonly<Record<string, unknown>>;
  /** Seconds until `exp`; negative for an already expired token. @default the access token TTL */
  readonly expiresInSeconds?: number;
  /** `unknown` signs with a key the JWKS does not publish. @default 'current' */
  readonly signWith?: 'current' | 'unknown';
  /** Overrides of the protected header (`alg` RS256, `typ` at+jwt, `kid`). */
  readonly header?: Readonly<Record<string, unknown>>;
}

export interface MintedToken {
  readonly accessToken: string;
  readonly claims: Record<string, unknown>;
  readonly header: Record<string, unknown>;
}

export interface AuthKitTestControls {
  /** A token shaped like AuthKit's, signed by the stand-in's current key (or a stranger's). */
  mintToken(request: MintTokenRequest): Promise<MintedToken>;
  /** A new signing key signs from now on; the previous ones stay published unless `keepPrevious` is false. */
  rotateSigningKey(options?: { keepPrevious?: boolean }): Promise<{ kid: string; publishedKids: string[] }>;
  /** Makes /oauth2/jwks answer 500 (`error`), drop the connection (`down`), wait `delayMs` (`slow`), or work (`normal`). */
  setJwksMode(mode: JwksMode, options?: { delayMs?: number }): Promise<void>;
  /** How many times /oauth2/jwks has been requested since start. */
  jwksRequestCount(): Promise<number>;
}

/** A client for the `/__test/*` endpoints of a stand-in started with test controls. */
export function authKitTestControls(issuer: string): AuthKitTestControls {
  // Every POST is JSON: the controls refuse any other content type (a cross-site form or text/plain POST).
  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${issuer}${TEST_CONTROLS_PATH}${path}`, {
      method,
      headers: method === 'POST' ? { 'content-type': 'application/json' } : undefined,
      body: method === 'POST' ? JSON.stringify(body ?? {}) : undefined,
    });
    const payload = (await response.json().catch(() => ({}))) as T & { error_description?: string };
    if (!response.ok) {
      const hint = response.status === 404 ? ' (start the stand-in with testControls: true)' : '';
      throw new Error(
        `Test control ${method} ${path} failed with HTTP ${response.status}: ${payload.error_description ?? 'no detail'}${hint}`,
      );
    }
    return payload;
  };
  return {
    async mintToken(request) {
      const minted = await call<{
        access_token: string;
        claims: Record<string, unknown>;
        header: Record<string, unknown>;
      }>('POST', '/tokens', request);
      return { accessToken: minted.access_token, claims: minted.claims, header: minted.header };
    },
    rotateSigningKey: (options = {}) => call('POST', '/rotate-keys', options),
    async setJwksMode(mode, options = {}) {
      if (!JWKS_MODES.includes(mode))
        throw new Error(`Unknown JWKS mode "${mode}": use one of ${JWKS_MODES.join(', ')}.`);
      await call('POST', '/jwks-mode', { mode, ...options });
    },
    async jwksRequestCount() {
      return (await call<{ count: number }>('GET', '/jwks-requests')).count;
    },
  };
}
