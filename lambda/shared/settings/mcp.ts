/**
 * The MCP function's settings contract: every environment variable the construct sets on the MCP
 * function (or that a deployer copies from `AuthKitMcpServer.mcpEnvironment` onto their own
 * function) and the runtime reads, one row each.
 */
import { isLoopbackHost } from '../loopback';
import { clockToleranceSeconds, logLevel, publicBaseUrl, serviceName } from './common';
import {
  fromConstruct,
  fromProp,
  list,
  optional,
  optionalWholeNumber,
  parseWholeNumber,
  type Row,
  SettingValueError,
  type SettingsOf,
  type SettingsTable,
  text,
  withDefault,
  wholeNumber,
} from './setting';

/** How API Gateway carries the function's answer: streamed as it is written, or buffered whole. */
export type ResponseTransferMode = 'stream' | 'buffered';
export const RESPONSE_TRANSFER_MODES: readonly ResponseTransferMode[] = ['stream', 'buffered'];

/** Lambda's synchronous invocation payload limit; a larger body could never reach the function. */
export const MAX_REQUEST_BODY_BYTES = 6 * 1024 * 1024;
/** Largest request body the handler accepts: 1 MiB unless set (API Gateway itself stops at 10 MB). */
export const MAX_BODY_BYTES = { fallback: 1024 * 1024, min: 1, max: MAX_REQUEST_BODY_BYTES } as const;
/**
 * Longest hold of one `subscriptions/listen` stream: at most 15 minutes, a streamed REST API
 * integration's longest timeout; four minutes when unset, under API Gateway's 5-minute idle timeout
 * (and a held stream is billed Lambda duration). The construct's `subscriptionMaxDuration` default.
 */
export const LISTEN_MAX_SECONDS = { fallback: 240, min: 1, max: 900 } as const;
/**
 * The MCP function's own timeout, as Lambda enforces it: the construct's `mcpTimeout` less one
 * second (299 s by default, at most 899 s). Lambda tells a function its remaining time per
 * invocation, not its timeout, so the construct writes it for tools that size their work to it.
 */
export const FUNCTION_TIMEOUT_SECONDS = { fallback: 299, min: 1, max: 899 } as const;

/**
 * Most MCP requests one caller (`sub` + `client_id`) may hold at once, across every instance of the
 * function: 10 unless set, from 1 to 1000. Held requests are counted with a lease each in the state
 * table (`lambda/runtime/caller-leases.ts`). The construct's `maxConcurrentRequestsPerCaller` default.
 */
export const MAX_CONCURRENT_REQUESTS_PER_CALLER = { fallback: 10, min: 1, max: 1000 } as const;
/** What `MAX_CONCURRENT_REQUESTS_PER_CALLER` holds to turn the per-caller limit off. */
export const PER_CALLER_LIMIT_OFF = 'off';
/** WorkOS's API, where the runtime resolves a person's roles and permissions unless told otherwise. */
export const WORKOS_API_BASE_URL = 'https://api.workos.com';
/**
 * How long the runtime keeps a person's roles and permissions before asking WorkOS again, in
 * milliseconds: a minute unless set, at most an hour; 0 asks on every lookup.
 */
export const PERMISSIONS_CACHE_TTL_MS = { fallback: 60_000, min: 0, max: 3_600_000 } as const;

/**
 * The one rule for the WorkOS API base URL: an https origin, or http on a loopback host (the local
 * AuthKit stand-in), without path, query or fragment, since the WorkOS SDK takes only a host, a
 * port and a scheme. `undefined` when it is not one.
 */
export function parseWorkOSApiBaseUrl(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  const bare = (url.pathname === '/' || url.pathname === '') && !url.search && !url.hash && !url.username;
  const scheme = url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
  return bare && scheme ? url.origin : undefined;
}

const workosApiBaseUrl: Row<string> = {
  variable: 'WORKOS_API_BASE_URL',
  doc: `Base URL of the WorkOS API for roles and permissions; unset: ${WORKOS_API_BASE_URL}.`,
  write: (value) => value,
  parse(raw) {
    const url = parseWorkOSApiBaseUrl(raw);
    if (url === undefined) {
      throw new SettingValueError(
        `"${raw}" is not a WorkOS API base URL; set an https origin such as ${WORKOS_API_BASE_URL} (http only on loopback), without a path, or leave it unset.`,
      );
    }
    return url;
  },
};

/** One entry of the allowed origins: a full origin (matched exactly) or a bare hostname (any scheme and port). */
export type AllowedOrigin = { readonly origin: string } | { readonly hostname: string };

/**
 * The one rule for an allowed-origin entry (`*` aside): `scheme://host[:port]` over http or https
 * with no path, query or fragment, serialised as browsers send it; or a bare hostname.
 * `undefined` when the entry is neither.
 */
export function parseAllowedOrigin(entry: string): AllowedOrigin | undefined {
  if (!entry.includes('://'))
    return /^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/i.test(entry) ? { hostname: entry.toLowerCase() } : undefined;
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return undefined;
  }
  const bare = (url.pathname === '/' || url.pathname === '') && !url.search && !url.hash && !url.username;
  return bare && (url.protocol === 'https:' || url.protocol === 'http:') ? { origin: url.origin } : undefined;
}

const responseTransferMode = fromProp(
  withDefault<ResponseTransferMode>(
    {
      variable: 'RESPONSE_TRANSFER_MODE',
      doc: "The integration's ResponseTransferMode, STREAM or BUFFERED; unset: BUFFERED, as a function the construct did not configure always answered.",
      write: (mode) => (mode === 'stream' ? 'STREAM' : 'BUFFERED'),
      parse(raw) {
        const upper = raw.toUpperCase();
        if (upper === 'STREAM') return 'stream';
        if (upper === 'BUFFERED') return 'buffered';
        throw new SettingValueError(
          `"${raw}" is neither STREAM nor BUFFERED; set it to the integration's ResponseTransferMode.`,
        );
      },
    },
    'buffered',
  ),
  'responseTransferMode',
  // With mcpTimeout and subscriptionMaxDuration; the prop's default is 'stream', the variable's 'buffered'.
  { byConstruct: true },
);

/** The per-caller limit, or `false` for none: a whole number in range, or `off`. */
const maxConcurrentRequestsPerCaller = fromProp(
  {
    ...withDefault<number | false>(
      {
        variable: 'MAX_CONCURRENT_REQUESTS_PER_CALLER',
        doc: `Most MCP requests one caller (sub + client_id) may hold at once across all instances, or \`${PER_CALLER_LIMIT_OFF}\` for no limit; counted in the state table.`,
        write: (limit) => (limit === false ? PER_CALLER_LIMIT_OFF : String(limit)),
        parse: (raw) =>
          raw.toLowerCase() === PER_CALLER_LIMIT_OFF
            ? false
            : parseWholeNumber(raw, MAX_CONCURRENT_REQUESTS_PER_CALLER),
      },
      MAX_CONCURRENT_REQUESTS_PER_CALLER.fallback,
    ),
    range: MAX_CONCURRENT_REQUESTS_PER_CALLER,
  },
  'maxConcurrentRequestsPerCaller',
  // The prop says `false` where the variable says `off`.
  { falseForNone: true, boundsNote: ', or false for no per-caller limit' },
);

export const MCP_SETTINGS = {
  publicBaseUrl,
  serviceName: serviceName('mcp'),
  logLevel,
  allowedOrigins: fromProp(
    list(
      'ALLOWED_ORIGINS',
      {
        separator: ',',
        split: /\s*,\s*/,
        omitWhenEmpty: false,
        check: (entry) =>
          entry === '*' || parseAllowedOrigin(entry) !== undefined
            ? undefined
            : `"${entry}" is neither an origin nor a hostname. Use full origins such as https://app.example.com (scheme://host[:port], no path), bare hostnames, or *.`,
      },
      'Browser origins (or bare hostnames) allowed to call the endpoint, separated by commas; `*` for any, empty for none.',
    ),
    'allowedOrigins',
    // The prop takes full origins only (the gateway's preflight compares them as written), `*` alone.
    { byConstruct: true },
  ),
  maxBodyBytes: fromProp(
    wholeNumber('MAX_BODY_BYTES', MAX_BODY_BYTES, 'Largest request body the handler accepts, in bytes.'),
    'maxRequestBodyBytes',
    { boundsNote: " (Lambda's synchronous payload limit)" },
  ),
  clockToleranceSeconds,
  responseTransferMode,
  requestStateSecretArn: fromConstruct(
    optional(
      text(
        'REQUEST_STATE_SECRET_ARN',
        'ARN of the Secrets Manager secret whose value keys the HMAC of `requestState`.',
      ),
    ),
    'the requestStateSecret prop, else a secret the construct creates',
  ),
  functionTimeoutSeconds: fromConstruct(
    optionalWholeNumber(
      'FUNCTION_TIMEOUT_SECONDS',
      FUNCTION_TIMEOUT_SECONDS,
      "The MCP function's own timeout in seconds (`mcpTimeout` less one); tools size long work to it.",
    ),
    'the mcpTimeout prop less one second',
  ),
  listenMaxSeconds: fromProp(
    optionalWholeNumber(
      'LISTEN_MAX_SECONDS',
      LISTEN_MAX_SECONDS,
      'Longest hold of one `subscriptions/listen` stream, in seconds; absent when the answers are buffered.',
    ),
    'subscriptionMaxDuration',
    // Within the function's timeout, and only when streaming.
    { unit: 'seconds', byConstruct: true },
  ),
  stateTableName: fromConstruct(
    optional(
      text(
        'STATE_TABLE_NAME',
        'Name of the DynamoDB table that holds the per-caller leases (keys `pk`, `sk`); absent, no limit can be counted.',
      ),
    ),
    'the state table the construct creates',
  ),
  maxConcurrentRequestsPerCaller,
  workosApiKeySecretArn: fromConstruct(
    optional(
      text(
        'WORKOS_API_KEY_SECRET_ARN',
        'ARN of the Secrets Manager secret holding the WorkOS API key that resolves roles and permissions.',
      ),
    ),
    'the workosApiKeySecret prop',
  ),
  workosApiBaseUrl: fromProp(optional(workosApiBaseUrl), 'workosApiBaseUrl'),
  permissionsCacheTtlMs: fromProp(
    optionalWholeNumber(
      'PERMISSIONS_CACHE_TTL_MS',
      PERMISSIONS_CACHE_TTL_MS,
      "How long a person's roles and permissions are kept before WorkOS is asked again, in milliseconds.",
    ),
    'permissionsCacheTtl',
    { unit: 'ms', stage: { field: 'permissionsCacheTtlSeconds', unit: 'seconds' } },
  ),
} satisfies SettingsTable;

/** What the construct writes to the MCP function's environment and the runtime reads back. */
export type McpSettings = SettingsOf<typeof MCP_SETTINGS>;
