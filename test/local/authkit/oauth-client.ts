/**
 * The client side of an OAuth 2.1 authorization-code flow, written with plain fetch so that the
 * tests see every request and response the stand-in produces.
 */
import { createHash, randomBytes } from 'node:crypto';

export const RESOURCE = 'http://localhost:8787/mcp';
export const REDIRECT_URI = 'http://127.0.0.1:43111/callback';

export interface Pkce {
  readonly verifier: string;
  readonly challenge: string;
}

export function pkcePair(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export async function registerPublicClient(
  issuer: string,
  metadata: Record<string, unknown> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${issuer}/oauth2/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Test MCP client',
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      ...metadata,
    }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export async function registeredClientId(issuer: string): Promise<string> {
  const { status, body } = await registerPublicClient(issuer);
  if (status !== 201) throw new Error(`registration failed with ${status}: ${JSON.stringify(body)}`);
  return String(body.client_id);
}

/** An authorization URL; a parameter given as undefined is left out. */
export function authorizationUrl(issuer: string, params: Record<string, string | undefined>): URL {
  const url = new URL(`${issuer}/oauth2/authorize`);
  const all: Record<string, string | undefined> = {
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile email offline_access',
    resource: RESOURCE,
    state: randomBytes(8).toString('hex'),
    code_challenge_method: 'S256',
    ...params,
  };
  for (const [name, value] of Object.entries(all)) if (value !== undefined) url.searchParams.set(name, value);
  return url;
}

export interface TokenResponse {
  readonly status: number;
  readonly body: {
    access_token?: string;
    refresh_token?: string;
    token_type?: string;
    expires_in?: number;
    scope?: string;
    error?: string;
    error_description?: string;
  };
}

export async function tokenRequest(issuer: string, form: Record<string, string>): Promise<TokenResponse> {
  const response = await fetch(`${issuer}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  return { status: response.status, body: (await response.json()) as TokenResponse['body'] };
}

/** Redeems the authorization code in `callback` at the token endpoint (authorization_code grant with PKCE). */
export function exchangeCode(
  issuer: string,
  exchange: {
    readonly clientId: string;
    readonly callback: URL;
    readonly verifier: string;
    readonly resource?: string;
  },
): Promise<TokenResponse> {
  return tokenRequest(issuer, {
    grant_type: 'authorization_code',
    client_id: exchange.clientId,
    code: String(exchange.callback.searchParams.get('code')),
    code_verifier: exchange.verifier,
    redirect_uri: REDIRECT_URI,
    ...(exchange.resource !== undefined ? { resource: exchange.resource } : {}),
  });
}

/** Collects `Set-Cookie` values by name, enough for one walk through the sign-in redirects. */
export class Cookies {
  readonly #values = new Map<string, string>();

  take(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const separator = pair.indexOf('=');
      this.#values.set(pair.slice(0, separator), pair.slice(separator + 1));
    }
  }

  get header(): string {
    return [...this.#values].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}
