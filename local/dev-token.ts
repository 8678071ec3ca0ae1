/**
 * An access token for the dev user of a running `npm run dev`, without a browser: for curl,
 * `--header` options and CI.
 *
 *   npx tsx local/dev-token.ts [--port 8787 | --mcp-url http://localhost:8787/mcp]
 *   curl -H "Authorization: Bearer $(npx tsx local/dev-token.ts)" ...
 *
 * It signs in the way an MCP client does (protected-resource metadata, AuthKit metadata, dynamic
 * registration, PKCE, the stand-in's "Continue as the dev user" button pressed headlessly, the
 * code exchanged for a token bound to the MCP URL) and prints the access token alone on stdout.
 * The token lives AUTHKIT_ACCESS_TOKEN_TTL_SECONDS (set for `npm run dev`; 300 by default). It
 * works with the local AuthKit stand-in only: an authorization server elsewhere is refused.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  discoverAuthorizationServerMetadata,
  discoverOAuthProtectedResourceMetadata,
  exchangeAuthorization,
  registerClient,
  startAuthorization,
  type AuthorizationServerMetadata,
  type OAuthClientInformationMixed,
} from '@modelcontextprotocol/client';
import { authorizeHeadlessly } from './authkit/launch';
import { isLoopbackUrl } from './authkit/loopback';
import { DEFAULT_PORT } from './stack';
import { LocalError } from './errors';

/** Never listened on: the stand-in redirects here and the code is read from the URL. */
const REDIRECT_URI = 'http://127.0.0.1:8789/dev-token/callback';

/** The client this command registered, per issuer, so that calling it in a loop does not register a client each time. */
const CLIENT_CACHE = join(resolve(__dirname, '..', '.local'), 'authkit', 'dev-token-clients.json');

class DevTokenError extends LocalError {}

function cachedClients(): Record<string, OAuthClientInformationMixed> {
  try {
    return JSON.parse(readFileSync(CLIENT_CACHE, 'utf8')) as Record<string, OAuthClientInformationMixed>;
  } catch {
    return {};
  }
}

async function registeredClient(
  issuer: string,
  metadata: AuthorizationServerMetadata,
  fresh: boolean,
): Promise<OAuthClientInformationMixed> {
  const cache = cachedClients();
  if (!fresh && cache[issuer]) return cache[issuer];
  const client = await registerClient(issuer, {
    metadata,
    clientMetadata: {
      client_name: 'dev-token (npm run dev)',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    },
  });
  mkdirSync(dirname(CLIENT_CACHE), { recursive: true });
  writeFileSync(CLIENT_CACHE, `${JSON.stringify({ ...cache, [issuer]: { client_id: client.client_id } }, null, 2)}\n`);
  return { client_id: client.client_id };
}

const USAGE = `Usage: npx tsx local/dev-token.ts [--port PORT | --mcp-url URL]

Prints an access token for the dev user of a running npm run dev (its local AuthKit stand-in).

  --port PORT      the port npm run dev serves the API on (default: $PORT, else ${DEFAULT_PORT})
  --mcp-url URL    the MCP endpoint, e.g. http://localhost:${DEFAULT_PORT}/mcp
  -h, --help       print this help
`;

/** The MCP URL the arguments name, or `help` when they ask for the usage. */
function mcpUrlFromArguments(args: readonly string[]): URL | 'help' {
  let values: { port?: string; 'mcp-url'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { port: { type: 'string' }, 'mcp-url': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (error) {
    throw new DevTokenError(`${(error as Error).message}\n\n${USAGE}`);
  }
  if (values.help) return 'help';
  if (values['mcp-url']) return new URL(values['mcp-url']);
  const port = values.port ?? process.env.PORT ?? String(DEFAULT_PORT);
  if (!/^\d{1,5}$/.test(port)) throw new DevTokenError(`--port must be a port number, got "${port}".\n\n${USAGE}`);
  return new URL(`http://localhost:${port}/mcp`);
}

/** The protected-resource metadata of `mcpUrl`, or a refusal that says what answered there instead. */
async function resourceMetadata(mcpUrl: URL) {
  try {
    return await discoverOAuthProtectedResourceMetadata(mcpUrl);
  } catch (error) {
    throw new DevTokenError(
      `${await whatAnswered(mcpUrl, error)} Start it with npm run dev, or pass --port or --mcp-url.`,
    );
  }
}

/** What is at `mcpUrl`'s host and port when it is not an MCP server of npm run dev. */
async function whatAnswered(mcpUrl: URL, discoveryError: unknown): Promise<string> {
  const where = mcpUrl.host;
  const answer = await fetch(new URL('/.well-known/openid-configuration', mcpUrl), { redirect: 'manual' }).catch(
    (error: unknown) => error as Error,
  );
  if (answer instanceof Error) {
    // fetch's cause: the socket error, or an AggregateError of one per address `localhost` has.
    const cause = answer.cause as (NodeJS.ErrnoException & { errors?: NodeJS.ErrnoException[] }) | undefined;
    const codes = [cause?.code, ...(cause?.errors ?? []).map((error) => error.code)].filter((code) => code);
    return codes.length > 0 && codes.every((code) => code === 'ECONNREFUSED')
      ? `Nothing is listening on ${where}: no npm run dev serves its API there.`
      : `Could not reach ${where} (${codes[0] ?? cause?.message ?? answer.message}).`;
  }
  const body = answer.ok
    ? ((await answer.json().catch(() => undefined)) as { issuer?: unknown } | undefined)
    : undefined;
  if (typeof body?.issuer === 'string' && isLoopbackUrl(body.issuer))
    return `${where} is the local AuthKit stand-in (AUTHKIT_PORT), not the MCP server: pass the port npm run dev serves the API on (PORT).`;
  const server = answer.headers.get('server');
  return (
    `An HTTP server answered on ${where}${server ? ` (${server})` : ''}, but it is not an MCP server of npm run dev: ` +
    `${(discoveryError as Error).message.replace(/\.$/, '')}.`
  );
}

async function discover(mcpUrl: URL) {
  const resource = await resourceMetadata(mcpUrl);
  const issuer = resource.authorization_servers?.[0];
  if (!issuer || !isLoopbackUrl(issuer)) {
    throw new DevTokenError(
      `The server's authorization server is ${issuer ?? 'not named'}, not the local AuthKit stand-in: sign in with an MCP client instead.`,
    );
  }
  const metadata = await discoverAuthorizationServerMetadata(issuer);
  if (!metadata) throw new DevTokenError(`${issuer} serves no authorization server metadata.`);
  return { issuer, metadata, resource: new URL(resource.resource) };
}

async function devAccessToken(mcpUrl: URL): Promise<string> {
  const { issuer, metadata, resource } = await discover(mcpUrl);
  try {
    return await signIn(issuer, metadata, resource, await registeredClient(issuer, metadata, false));
  } catch (error) {
    // A stand-in started with another clients file does not know the cached client: register again.
    if (!/invalid_client/.test((error as Error).message)) throw error;
    return signIn(issuer, metadata, resource, await registeredClient(issuer, metadata, true));
  }
}

async function signIn(
  issuer: string,
  metadata: AuthorizationServerMetadata,
  resource: URL,
  clientInformation: OAuthClientInformationMixed,
): Promise<string> {
  const state = randomBytes(16).toString('base64url');
  const scope = 'openid profile email';
  const { authorizationUrl, codeVerifier } = await startAuthorization(issuer, {
    metadata,
    clientInformation,
    redirectUrl: REDIRECT_URI,
    scope,
    state,
    resource,
  });
  const callback = await authorizeHeadlessly(authorizationUrl);
  if (callback.searchParams.get('state') !== state)
    throw new DevTokenError('The sign-in answered with a state this request did not send.');
  const code = callback.searchParams.get('code');
  if (!code) throw new DevTokenError(`The sign-in was refused: ${callback.searchParams.get('error') ?? 'no code'}.`);
  const tokens = await exchangeAuthorization(issuer, {
    metadata,
    clientInformation,
    authorizationCode: code,
    iss: callback.searchParams.get('iss') ?? undefined,
    codeVerifier,
    redirectUri: REDIRECT_URI,
    resource,
  });
  return tokens.access_token;
}

async function main(): Promise<void> {
  const target = mcpUrlFromArguments(process.argv.slice(2));
  if (target === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  process.stdout.write(`${await devAccessToken(target)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`dev-token: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
