/**
 * Endpoints under /__test that let tests put the stand-in into states a real AuthKit reaches only
 * rarely: a token with chosen claims, a rotated signing key, an unreachable or slow JWKS. They are
 * served only when the stand-in is started with test controls enabled.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SignJWT, importJWK, type CryptoKey, type JWTPayload } from 'jose';
import { DEV_USER, JWKS_MODES, TEST_CONTROLS_PATH, type JwksMode } from './contract.js';
import { isLoopbackOrigin } from './loopback.js';
import { generateSigningKey, type SigningKeyRing } from './signing-keys.mjs';
import type { LocalWorkOSApi } from './workos-api.js';
import { answerWorkOSControl } from './workos-controls.js';
import { LocalError } from '../errors.js';

const DEFAULT_SLOW_DELAY_MS = 10_000;

/** How /oauth2/jwks answers, and how often it has been asked. */
export class JwksFailureSwitch {
  mode: JwksMode = 'normal';
  delayMs = DEFAULT_SLOW_DELAY_MS;
  requests = 0;

  countRequest(): void {
    this.requests += 1;
  }

  /** Answers the request itself when failing; resolves false when the provider should answer. */
  async apply(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    switch (this.mode) {
      case 'normal':
        return false;
      case 'error':
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ error: 'server_error', error_description: 'JWKS failure switched on by test controls' }),
        );
        return true;
      case 'down':
        // A reset connection: what a caller sees when the host is unreachable mid-request.
        req.socket.destroy();
        return true;
      case 'slow': {
        const delay = this.delayMs;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          res.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
        });
        return res.destroyed || res.writableEnded;
      }
    }
  }
}

export interface TestControlContext {
  readonly issuer: string;
  readonly keyRing: SigningKeyRing;
  readonly scopes: readonly string[];
  readonly accessTokenTtlSeconds: number;
  readonly jwksFailure: JwksFailureSwitch;
  readonly workosApi: LocalWorkOSApi;
  rebuildProvider(): void;
}

class BadRequest extends LocalError {}

const MAX_BODY_BYTES = 64 * 1024;

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BadRequest('body too large');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BadRequest('body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new BadRequest('body must be a JSON object');
  return value as Record<string, unknown>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

const TEST_CLIENT_ID = 'client_01DEVTESTCONTROLS000000000';
const TEST_SESSION_ID = 'session_01DEVTESTCONTROLS00000000';

/**
 * Mints an access token shaped like AuthKit's. `aud` is required; `claims` overrides defaults
 * (a null value removes that claim); `expiresInSeconds` may be negative for an expired token;
 * `signWith: "unknown"` signs with a key that the JWKS never publishes.
 */
async function mintToken(body: Record<string, unknown>, context: TestControlContext) {
  const {
    aud,
    claims = {},
    expiresInSeconds = context.accessTokenTtlSeconds,
    signWith = 'current',
    header = {},
  } = body;
  if (!(typeof aud === 'string' || (Array.isArray(aud) && aud.every((item) => typeof item === 'string')))) {
    throw new BadRequest('aud is required: the resource (string) or resources (array of strings) the token is for');
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims))
    throw new BadRequest('claims must be an object');
  if (typeof expiresInSeconds !== 'number' || !Number.isFinite(expiresInSeconds))
    throw new BadRequest('expiresInSeconds must be a number');
  if (signWith !== 'current' && signWith !== 'unknown') throw new BadRequest('signWith must be "current" or "unknown"');
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw new BadRequest('header must be an object');

  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    iss: context.issuer,
    sub: DEV_USER.sub,
    aud,
    client_id: TEST_CLIENT_ID,
    org_id: DEV_USER.orgId,
    sid: TEST_SESSION_ID,
    scope: context.scopes.join(' '),
    jti: randomUUID(),
    iat: now,
    exp: now + Math.trunc(expiresInSeconds),
  };
  for (const [name, value] of Object.entries(claims as Record<string, unknown>)) {
    if (value === null) delete payload[name];
    else payload[name] = value;
  }

  let key: CryptoKey;
  let kid: string;
  if (signWith === 'unknown') {
    const stranger = await generateSigningKey();
    key = (await importJWK(stranger, 'RS256')) as CryptoKey;
    kid = stranger.kid;
  } else {
    key = await context.keyRing.currentSigningKey();
    kid = context.keyRing.current.kid;
  }
  const protectedHeader = { alg: 'RS256', typ: 'at+jwt', kid, ...(header as Record<string, unknown>) };
  const token = await new SignJWT(payload as JWTPayload)
    .setProtectedHeader(protectedHeader as { alg: string })
    .sign(key);
  return { access_token: token, claims: payload, header: protectedHeader };
}

/**
 * Why a request may not use the controls, or undefined. A page on another site can send a "simple"
 * cross-origin POST (text/plain, no preflight) to the stand-in on loopback, so every control
 * refuses a request a browser marks as cross-site or that names a non-loopback Origin, and a
 * control that changes state takes only `application/json`, which a page cannot send without a
 * preflight the stand-in answers for loopback origins only.
 */
export function crossSiteRefusal(req: Pick<IncomingMessage, 'method' | 'headers'>): string | undefined {
  const origin = req.headers.origin;
  if (origin !== undefined && !isLoopbackOrigin(origin)) {
    return `test controls take requests from loopback origins or none; this one came from ${JSON.stringify(origin.slice(0, 100))}`;
  }
  if (req.headers['sec-fetch-site'] === 'cross-site') {
    return 'test controls refuse requests the browser marks as cross-site (Sec-Fetch-Site: cross-site)';
  }
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (req.method !== 'GET' && mediaType !== 'application/json') {
    return 'test controls that change state take Content-Type: application/json only';
  }
  return undefined;
}

export async function handleTestControl(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  context: TestControlContext,
): Promise<void> {
  const route = `${req.method} ${path.slice(TEST_CONTROLS_PATH.length)}`;
  const refusal = crossSiteRefusal(req);
  if (refusal !== undefined) {
    req.resume();
    return send(res, 403, { error: 'access_denied', error_description: refusal });
  }
  try {
    switch (route) {
      case 'POST /tokens':
        return send(res, 200, await mintToken(await readJson(req), context));
      case 'POST /rotate-keys': {
        const { keepPrevious = true } = await readJson(req);
        if (typeof keepPrevious !== 'boolean') throw new BadRequest('keepPrevious must be a boolean');
        const key = await context.keyRing.rotate(keepPrevious);
        context.rebuildProvider();
        return send(res, 200, { kid: key.kid, publishedKids: context.keyRing.keys.map((published) => published.kid) });
      }
      case 'POST /jwks-mode': {
        const { mode, delayMs = DEFAULT_SLOW_DELAY_MS } = await readJson(req);
        if (!JWKS_MODES.includes(mode as JwksMode))
          throw new BadRequest(`mode must be one of ${JWKS_MODES.join(', ')}`);
        if (typeof delayMs !== 'number' || delayMs < 0) throw new BadRequest('delayMs must be a non-negative number');
        context.jwksFailure.mode = mode as JwksMode;
        context.jwksFailure.delayMs = delayMs;
        return send(res, 200, { mode, delayMs });
      }
      case 'GET /jwks-requests':
        return send(res, 200, { count: context.jwksFailure.requests });
      default: {
        const workos = await answerWorkOSControl(route, () => readJson(req), context.workosApi);
        if (workos) return send(res, workos.status, workos.body);
        return send(res, 404, { error: 'not_found', error_description: `no test control ${route}` });
      }
    }
  } catch (error) {
    if (error instanceof BadRequest)
      return send(res, 400, { error: 'invalid_request', error_description: error.message });
    throw error;
  }
}
