/**
 * `--login`: gets an access token for <McpUrl> the way an MCP client does, with the SDK's OAuth
 * helpers: discovery from the server's metadata, registration by DCR (or CIMD with
 * --client-metadata-url), the authorization-code flow with PKCE S256 in the user's browser, and a
 * loopback redirect (RFC 8252 §7.3) to a one-shot server on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  auth,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
} from '@modelcontextprotocol/client';
import { boundedFetch } from './bounded-body';
import { VerifyError } from './errors';

export interface LoginOptions {
  readonly mcpUrl: string;
  /** CIMD client id: an https URL serving this client's metadata. @default - register by DCR */
  readonly clientMetadataUrl?: string;
  /** Open the sign-in page in the default browser; otherwise only print its URL. */
  readonly openBrowser: boolean;
  /** Bound of each request to the authorization server. */
  readonly requestTimeoutMs: number;
  /** How long the user has to sign in. @default 300000 */
  readonly signInTimeoutMs?: number;
  /** Where progress lines go (the sign-in URL included); never a token. */
  readonly log: (line: string) => void;
}

export class LoginError extends VerifyError {
  readonly code = 'LOGIN_FAILED';
}

interface Callback {
  readonly code?: string;
  readonly state?: string;
  readonly iss?: string;
  readonly error?: string;
}

const CALLBACK_PATH = '/callback';

/** A one-shot loopback server that receives the authorization response. */
async function listenForCallback(): Promise<{ redirectUri: string; callback: Promise<Callback>; close: () => void }> {
  let deliver!: (callback: Callback) => void;
  const callback = new Promise<Callback>((resolve) => (deliver = resolve));
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== CALLBACK_PATH) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      return;
    }
    const param = (name: string) => url.searchParams.get(name) ?? undefined;
    const error = param('error');
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    response.end(
      `<!doctype html><title>mcp-authkit-apigateway verify</title><p>${error ? 'Sign-in failed.' : 'Signed in.'} You can close this tab and return to the terminal.</p>`,
    );
    deliver({
      code: param('code'),
      state: param('state'),
      iss: param('iss'),
      error: error && `${error}${param('error_description') ? `: ${param('error_description')}` : ''}`,
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return { redirectUri: `http://127.0.0.1:${port}${CALLBACK_PATH}`, callback, close: () => server.close() };
}

function openInBrowser(url: string): void {
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : ['xdg-open', [url]];
  const child = spawn(command, args, { stdio: 'ignore', detached: true });
  child.on('error', () => undefined);
  child.unref();
}

/** Keeps the flow's state in memory for one sign-in. */
class LoopbackOAuthClient implements OAuthClientProvider {
  #clientInformation?: StoredOAuthClientInformation;
  #tokens?: StoredOAuthTokens;
  #codeVerifier?: string;
  #discoveryState?: OAuthDiscoveryState;
  #state = randomBytes(16).toString('base64url');
  readonly clientMetadataUrl?: string;

  constructor(
    private readonly redirectUri: string,
    private readonly onRedirect: (url: URL) => void,
    clientMetadataUrl?: string,
  ) {
    if (clientMetadataUrl !== undefined) this.clientMetadataUrl = clientMetadataUrl;
  }

  get redirectUrl(): string {
    return this.redirectUri;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'mcp-authkit-apigateway verify',
      redirect_uris: [this.redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state(): string {
    return this.#state;
  }
  expectedState(): string {
    return this.#state;
  }
  clientInformation() {
    return this.#clientInformation;
  }
  saveClientInformation(information: StoredOAuthClientInformation): void {
    this.#clientInformation = information;
  }
  tokens() {
    return this.#tokens;
  }
  saveTokens(tokens: StoredOAuthTokens): void {
    this.#tokens = tokens;
  }
  redirectToAuthorization(url: URL): void {
    this.onRedirect(url);
  }
  saveCodeVerifier(verifier: string): void {
    this.#codeVerifier = verifier;
  }
  codeVerifier(): string {
    if (this.#codeVerifier === undefined)
      throw new LoginError('No PKCE code verifier was saved before the code exchange.');
    return this.#codeVerifier;
  }
  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.#discoveryState = state;
  }
  discoveryState() {
    return this.#discoveryState;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new LoginError(message)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Signs the user in and returns an access token for <McpUrl>. */
export async function loginForToken(options: LoginOptions): Promise<string> {
  const loopback = await listenForCallback();
  try {
    const provider = new LoopbackOAuthClient(
      loopback.redirectUri,
      (url) => {
        options.log(`Sign in to continue: ${url.href}`);
        if (options.openBrowser) openInBrowser(url.href);
      },
      options.clientMetadataUrl,
    );
    const fetchFn = boundedFetch(options.requestTimeoutMs);
    const first = await auth(provider, { serverUrl: options.mcpUrl, fetchFn }).catch((error: unknown) => {
      throw new LoginError(`Could not start the sign-in: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    });
    if (first !== 'AUTHORIZED') {
      const signInTimeoutMs = options.signInTimeoutMs ?? 300_000;
      const callback = await withTimeout(
        loopback.callback,
        signInTimeoutMs,
        `No sign-in completed within ${signInTimeoutMs / 1000} s.`,
      );
      if (callback.error) throw new LoginError(`The authorization server refused the sign-in: ${callback.error}.`);
      if (callback.state !== provider.expectedState())
        throw new LoginError('The sign-in answer carried a state this command did not send; start again.');
      if (!callback.code) throw new LoginError('The sign-in answer carried no authorization code.');
      await auth(provider, {
        serverUrl: options.mcpUrl,
        authorizationCode: callback.code,
        iss: callback.iss,
        fetchFn,
      }).catch((error: unknown) => {
        throw new LoginError(`The code exchange failed: ${error instanceof Error ? error.message : String(error)}.`, {
          cause: error,
        });
      });
    }
    const token = provider.tokens()?.access_token;
    if (!token) throw new LoginError('The sign-in finished without an access token.');
    const clientId = provider.clientInformation()?.client_id;
    options.log(
      options.clientMetadataUrl
        ? `Signed in as client ${clientId} (CIMD).`
        : `Signed in as client ${clientId}, registered by DCR.`,
    );
    return token;
  } finally {
    loopback.close();
  }
}
