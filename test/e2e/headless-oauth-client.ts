/**
 * What a real MCP client brings to the end-to-end tests: an OAuthClientProvider for the SDK's
 * StreamableHTTPClientTransport that keeps its state in memory and follows the sign-in redirect
 * headlessly, and a fetch that records every request the SDK makes (without tokens or bodies).
 */
import type {
  FetchLike,
  OAuthClientMetadata,
  OAuthClientProvider,
  OAuthDiscoveryState,
  StoredOAuthClientInformation,
  StoredOAuthTokens,
} from '@modelcontextprotocol/client';
import { authorizeHeadlessly } from '../../local/authkit/launch';

/** A loopback redirect URI: the stand-in accepts any port on 127.0.0.1, and it is never fetched. */
export const REDIRECT_URI = 'http://127.0.0.1:43117/oauth/callback';

export interface RecordedRequest {
  readonly method: string;
  /** Origin and path, no query (authorization codes and state stay out of the record). */
  readonly url: string;
  readonly status: number;
  /** `grant_type` of a token request. */
  readonly grantType?: string;
  /** JSON-RPC method of a request to the MCP endpoint. */
  readonly rpcMethod?: string;
  /** Whether the request carried an Authorization header (never its value). */
  readonly authorized: boolean;
  /** The WWW-Authenticate header of a 401 or 403. */
  readonly challenge?: string;
}

function formField(body: unknown, field: string): string | undefined {
  if (body instanceof URLSearchParams) return body.get(field) ?? undefined;
  if (typeof body === 'string' && !body.trimStart().startsWith('{'))
    return new URLSearchParams(body).get(field) ?? undefined;
  return undefined;
}

function rpcMethodOf(body: unknown): string | undefined {
  if (typeof body !== 'string') return undefined;
  try {
    const message = JSON.parse(body) as { method?: unknown };
    return typeof message.method === 'string' ? message.method : undefined;
  } catch {
    return undefined;
  }
}

/** A fetch that records each request and its status, then answers with the real response. */
export function recordingFetch(log: RecordedRequest[]): FetchLike {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    const response = await fetch(input, init);
    const challenge =
      response.status === 401 || response.status === 403
        ? (response.headers.get('www-authenticate') ?? undefined)
        : undefined;
    log.push({
      method,
      url: `${url.origin}${url.pathname}`,
      status: response.status,
      grantType: formField(init?.body, 'grant_type'),
      rpcMethod: rpcMethodOf(init?.body),
      authorized: headers.has('authorization'),
      ...(challenge !== undefined ? { challenge } : {}),
    });
    return response;
  };
}

/**
 * An in-memory OAuth client for one MCP server. `redirectToAuthorization` walks the stand-in's
 * sign-in as a browser would and keeps the callback URL for `finishAuth`.
 */
export class HeadlessOAuthClient implements OAuthClientProvider {
  #clientInformation?: StoredOAuthClientInformation;
  #tokens?: StoredOAuthTokens;
  #codeVerifier?: string;
  #discoveryState?: OAuthDiscoveryState;
  #state?: string;
  /** The URL the stand-in redirected to after sign-in: the redirect URI with `code`, `state`, `iss`. */
  callbackUrl?: URL;
  /** Where the client sent the user agent (origin and path only). */
  readonly authorizationRequests: string[] = [];
  /** Every token set the SDK saved, in order. */
  readonly savedTokens: StoredOAuthTokens[] = [];

  get redirectUrl(): string {
    return REDIRECT_URI;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'End-to-end MCP client',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state(): string {
    this.#state = crypto.randomUUID();
    return this.#state;
  }

  clientInformation(): StoredOAuthClientInformation | undefined {
    return this.#clientInformation;
  }

  saveClientInformation(clientInformation: StoredOAuthClientInformation): void {
    this.#clientInformation = clientInformation;
  }

  tokens(): StoredOAuthTokens | undefined {
    return this.#tokens;
  }

  saveTokens(tokens: StoredOAuthTokens): void {
    this.#tokens = tokens;
    this.savedTokens.push(tokens);
  }

  /** Replaces the stored access token, keeping the refresh token: how a token that has since expired looks to the client. */
  replaceAccessToken(accessToken: string): void {
    if (!this.#tokens) throw new Error('No tokens are stored yet: sign in first.');
    this.#tokens = { ...this.#tokens, access_token: accessToken };
  }

  async redirectToAuthorization(authorizationUrl: URL): Promise<void> {
    this.authorizationRequests.push(`${authorizationUrl.origin}${authorizationUrl.pathname}`);
    const callback = await authorizeHeadlessly(authorizationUrl);
    if (callback.searchParams.get('state') !== this.#state) {
      throw new Error('The authorization response carried a state this client did not send.');
    }
    this.callbackUrl = callback;
  }

  saveCodeVerifier(codeVerifier: string): void {
    this.#codeVerifier = codeVerifier;
  }

  codeVerifier(): string {
    if (!this.#codeVerifier) throw new Error('No PKCE code verifier was saved before the redirect.');
    return this.#codeVerifier;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.#discoveryState = state;
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.#discoveryState;
  }
}
