/**
 * The command line of `verify`, parsed into options or a usage error that says what to write.
 */
import { VerifyError } from './errors';

export const DEFAULT_OUTPUTS_FILE = 'cdk-outputs.json';
/** MCP Inspector's origin: the browser client most users try first. */
export const DEFAULT_BROWSER_ORIGIN = 'http://localhost:6274';
export const DEFAULT_TIMEOUT_SECONDS = 10;
/** The environment variable that may carry the token instead of --token (kept out of shell history and ps). */
export const TOKEN_ENVIRONMENT_VARIABLE = 'MCP_ACCESS_TOKEN';

export interface VerifyArguments {
  /** The McpUrl given, or undefined when --stage names the stage. */
  readonly mcpUrl?: string;
  readonly stage?: string;
  readonly outputsFile: string;
  readonly token?: string;
  readonly login: boolean;
  /** CIMD: an https URL where the client's metadata document is published. */
  readonly clientMetadataUrl?: string;
  /** Open the sign-in page in the default browser (off: print the URL only). */
  readonly openBrowser: boolean;
  readonly origin: string | null;
  readonly json: boolean;
  readonly timeoutMs: number;
}

export type ParsedCommand = { readonly kind: 'help' } | { readonly kind: 'verify'; readonly args: VerifyArguments };

export class UsageError extends VerifyError {
  readonly code = 'USAGE';
}

export const VERIFY_USAGE = `Usage: mcp-authkit-apigateway verify <McpUrl> [options]
       mcp-authkit-apigateway verify --stage <name> [--outputs-file ${DEFAULT_OUTPUTS_FILE}] [options]

Checks an MCP server from outside, as a client would, deployed or the local stack of
npm run dev (fixes are worded for where <McpUrl> runs): the 401 challenge, the
protected-resource and authorization-server metadata, CORS for browsers, error hygiene, and
with a token the token's claims and MCP sessions on 2025 and 2026-07-28 (server/discover,
whoami, a streamed long_task with progress). Exit code 0 only when every check passes.

Options:
  --stage <name>               Read McpUrl from the McpServer-<name> stack in the outputs file
  --outputs-file <path>        Written by: npx cdk deploy -c stage=<name> --outputs-file ${DEFAULT_OUTPUTS_FILE}
                               (default ${DEFAULT_OUTPUTS_FILE})
  --token <access token>       Also check this AuthKit access token and an MCP session with it
                               (or set ${TOKEN_ENVIRONMENT_VARIABLE}); it is sent to <McpUrl> only
  --login                      Sign in through the browser (OAuth with PKCE, loopback redirect,
                               DCR or CIMD) and check the token obtained
  --client-metadata-url <url>  With --login: register by CIMD with this https client id
  --no-open                    With --login: print the sign-in URL instead of opening a browser
  --origin <origin>            Browser origin for the CORS checks (default ${DEFAULT_BROWSER_ORIGIN})
  --no-browser                 Skip the CORS checks (no browser client connects)
  --json                       Print a machine-readable report
  --timeout <seconds>          Bound of each request (default ${DEFAULT_TIMEOUT_SECONDS})
  -h, --help                   Show this help
`;

function parseOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(
      `--origin "${value}" is not an origin: write it as scheme://host[:port], e.g. ${DEFAULT_BROWSER_ORIGIN}.`,
    );
  }
  if (url.origin === 'null' || `${url.origin}` !== value.replace(/\/$/, '')) {
    throw new UsageError(
      `--origin "${value}" is not an origin: write scheme://host[:port] without a path, e.g. ${DEFAULT_BROWSER_ORIGIN}.`,
    );
  }
  return url.origin;
}

export function parseMcpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(
      `"${value}" is not a URL: pass the McpUrl output of the stack, e.g. https://abc123.execute-api.us-east-1.amazonaws.com/prod/mcp.`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new UsageError(`"${value}" is not an http(s) URL: pass the McpUrl output of the stack.`);
  return value;
}

/** The value after a flag, or a usage error naming the flag. */
function flagValue(argv: readonly string[], index: number, flag: string): string {
  const value = argv[index + 1];
  if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value. See --help.`);
  return value;
}

export function parseVerifyArguments(argv: readonly string[], env: NodeJS.ProcessEnv = {}): ParsedCommand {
  const options: { -readonly [K in keyof VerifyArguments]?: VerifyArguments[K] } = {};
  const positional: string[] = [];
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index];
    switch (arg) {
      case '-h':
      case '--help':
        return { kind: 'help' };
      case '--stage':
        options.stage = flagValue(argv, index++, arg);
        break;
      case '--outputs-file':
        options.outputsFile = flagValue(argv, index++, arg);
        break;
      case '--token':
        options.token = flagValue(argv, index++, arg);
        break;
      case '--login':
        options.login = true;
        break;
      case '--client-metadata-url':
        options.clientMetadataUrl = flagValue(argv, index++, arg);
        break;
      case '--no-open':
        options.openBrowser = false;
        break;
      case '--origin':
        options.origin = parseOrigin(flagValue(argv, index++, arg));
        break;
      case '--no-browser':
        options.origin = null;
        break;
      case '--json':
        options.json = true;
        break;
      case '--timeout': {
        const seconds = Number(flagValue(argv, index++, arg));
        if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 300)
          throw new UsageError('--timeout takes seconds between 0 and 300, e.g. --timeout 10.');
        options.timeoutMs = Math.round(seconds * 1000);
        break;
      }
      default:
        if (arg.startsWith('-')) throw new UsageError(`Unknown option ${arg}. See --help.`);
        positional.push(arg);
    }
  }
  if (positional.length > 1)
    throw new UsageError(`Give one McpUrl, got ${positional.length}: ${positional.join(' ')}.`);
  if (positional.length === 1 && options.stage !== undefined)
    throw new UsageError('Give either <McpUrl> or --stage <name>, not both.');
  if (positional.length === 0 && options.stage === undefined)
    throw new UsageError(
      'Give the McpUrl to verify, or --stage <name> to read it from the deploy outputs. See --help.',
    );
  const token = options.token ?? (env[TOKEN_ENVIRONMENT_VARIABLE] || undefined);
  if (token !== undefined && options.login)
    throw new UsageError(`Give either --token (or ${TOKEN_ENVIRONMENT_VARIABLE}) or --login, not both.`);
  if (options.clientMetadataUrl !== undefined && !options.login)
    throw new UsageError('--client-metadata-url is used by --login only.');
  return {
    kind: 'verify',
    args: {
      ...(positional[0] !== undefined ? { mcpUrl: parseMcpUrl(positional[0]) } : {}),
      ...(options.stage !== undefined ? { stage: options.stage } : {}),
      outputsFile: options.outputsFile ?? DEFAULT_OUTPUTS_FILE,
      ...(token !== undefined ? { token } : {}),
      login: options.login ?? false,
      ...(options.clientMetadataUrl !== undefined ? { clientMetadataUrl: options.clientMetadataUrl } : {}),
      openBrowser: options.openBrowser ?? true,
      origin: options.origin === undefined ? DEFAULT_BROWSER_ORIGIN : options.origin,
      json: options.json ?? false,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_SECONDS * 1000,
    },
  };
}
