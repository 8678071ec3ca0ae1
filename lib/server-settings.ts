/**
 * Validation of the construct's props, and the defaults, in one pure function: every value the
 * construct turns into a resource or an environment variable passes through here first, so a bad
 * value fails at synth time with a message that says what to change, never at the first request.
 */
import { Duration, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AUTHORIZER_SETTINGS, tokenAlgorithmRefusal } from '../lambda/shared/settings/authorizer';
import {
  authkitIssuerSetting,
  deploymentServiceName,
  type LogLevel,
  publicBaseUrl as publicBaseUrlSetting,
} from '../lambda/shared/settings/common';
import {
  LISTEN_MAX_SECONDS,
  parseAllowedOrigin,
  RESPONSE_TRANSFER_MODES,
  type ResponseTransferMode,
} from '../lambda/shared/settings/mcp';
import { isWithin, tryRead, type WholeNumberRange } from '../lambda/shared/settings/setting';
import { isDnsName, jwksUrlOf } from '../lambda/shared/issuer';
import { isScopeToken, OFFLINE_ACCESS } from '../lambda/shared/scopes';
import type { ToolScopes } from '../lambda/shared/challenges';
import { DEFAULT_TOKEN_ALGORITHMS, type TokenAlgorithm } from '../lambda/shared/token-policy';
import type { AuthKitMcpServerProps } from './authkit-mcp-server-props';
import {
  adviceOf,
  AuthKitMcpServerPropsError,
  integer,
  literal,
  throughListSetting,
  throughSetting,
  wholeDuration,
} from './prop-checks';
import { FUNCTION_TABLES, type PropRowSettings, readPropRows } from './setting-rows';

export { AuthKitMcpServerPropsError };
export type { LogLevel, ResponseTransferMode, TokenAlgorithm };

/** Scopes AuthKit issues to every signed-in user; advertised when no scopes are configured. */
export const DEFAULT_SCOPES_SUPPORTED: readonly string[] = ['openid', 'profile', 'email'];

/**
 * How long API Gateway caches an authorizer decision per token: none to one hour (API Gateway's
 * limit). The props and the stage settings both check against this one range.
 */
export const AUTHORIZER_CACHE_TTL_SECONDS: WholeNumberRange = { fallback: 300, min: 0, max: 3600 };

/**
 * The defaults of the props no function row carries, as documented on the props. A prop that sets
 * a row takes the row's default (lambda/shared/settings), so a function and the construct share one.
 */
export const DEFAULTS = {
  authorizerCacheTtl: Duration.seconds(AUTHORIZER_CACHE_TTL_SECONDS.fallback),
  stageName: 'prod',
  throttlingRateLimit: 100,
  throttlingBurstLimit: 200,
  logRetention: logs.RetentionDays.ONE_MONTH,
  authorizerMemorySize: 512,
  metadataMemorySize: 256,
  mcpMemorySize: 1024,
  responseTransferMode: 'stream' as ResponseTransferMode,
  /**
   * With streaming: five minutes per request unless a stage raises it (up to Lambda's 15): a held
   * request costs Lambda time and concurrency, and long work belongs in tasks, not held streams.
   */
  streamingMcpTimeout: Duration.minutes(5),
  bufferedMcpTimeout: Duration.seconds(29),
  subscriptionMaxDuration: Duration.seconds(LISTEN_MAX_SECONDS.fallback),
  rateLimitWindow: Duration.minutes(5),
  monitoring: true,
  resourceName: 'MCP server',
} as const;

/** A buffered REST API integration times out after 29 seconds; a longer-running function would be cut off. */
export const MAX_BUFFERED_MCP_TIMEOUT = Duration.seconds(29);
/** A streaming integration may run as long as Lambda itself (15 minutes). */
export const MAX_STREAMING_MCP_TIMEOUT = Duration.minutes(15);
/**
 * How much earlier than the gateway the MCP function times out. The gateway's integration clock
 * starts before the function's own (invoke overhead, and the init phase on a cold start, which
 * Lambda does not count against the function timeout), so with equal values the gateway could give
 * up first. One second earlier, the function's deadline (what the runtime reads with
 * `getRemainingTimeInMillis`, and aborts a tool ahead of) falls before the gateway's whenever the
 * overhead and init stay below one second plus the runtime's own abort margin.
 */
export const MCP_FUNCTION_TIMEOUT_MARGIN = Duration.seconds(1);
/**
 * Lambda keeps 100 of a region's concurrency unreserved; the default account limit is 1,000.
 * Reserving more than 900 can never be deployed on a default account.
 */
export const MAX_MCP_RESERVED_CONCURRENCY = 900;
/** WAF rate-based rules: the lowest limit AWS WAF accepts, and its evaluation windows. */
export const MIN_RATE_LIMIT_PER_IP = 10;
export const RATE_LIMIT_WINDOWS_SECONDS: readonly number[] = [60, 120, 300, 600];
/** What API Gateway accepts as a stage name; the `stageName` prop and a stage's `apiStageName` alike. */
export const API_STAGE_NAME = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Props after validation, with every default applied. The rows a prop sets without a rule across
 * fields come from the function contracts ({@link PropRowSettings}, under the rows' keys); the
 * rest is the construct's own, and a row the construct resolves itself keeps the row's key, so
 * each function's environment takes every row from here by its key (lib/function-environments.ts).
 */
export interface ServerSettings extends PropRowSettings {
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly requiredScopes: readonly string[];
  readonly scopesSupported: readonly string[];
  /** The organizations whose tokens are accepted; empty: any. */
  readonly allowedOrganizations: readonly string[];
  /** Refuse tokens without `org_id`; always true when `allowedOrganizations` is not empty. */
  readonly requireOrganization: boolean;
  /** The tools' required scopes when the step-up challenge is on (REQUEST authorizer); undefined: off. */
  readonly stepUpToolScopes?: ToolScopes;
  readonly tokenAlgorithms: readonly TokenAlgorithm[];
  readonly authorizerCacheTtl: Duration;
  readonly resourceName: string;
  readonly resourceDocumentation?: string;
  /** The upper bound of one fetch of AuthKit's metadata, in ms: the row's default, which no prop sets. */
  readonly asMetadataTimeoutMs: number;
  /** The normalised `publicBaseUrl`, when given. */
  readonly publicBaseUrl?: string;
  readonly disableExecuteApiEndpoint: boolean;
  readonly stageName: string;
  readonly throttlingRateLimit: number;
  readonly throttlingBurstLimit: number;
  readonly logRetention: logs.RetentionDays;
  /** `['*']` for any origin, the allowed origins, or none (`[]`: no browser origin). */
  readonly allowedOrigins: readonly string[];
  readonly authorizerMemorySize: number;
  readonly metadataMemorySize: number;
  readonly mcpMemorySize: number;
  readonly responseTransferMode: ResponseTransferMode;
  /** The integration timeout (`TimeoutInMillis`). */
  readonly mcpTimeout: Duration;
  /** The MCP function's own timeout: `mcpTimeout` minus {@link MCP_FUNCTION_TIMEOUT_MARGIN}. */
  readonly mcpFunctionTimeout: Duration;
  /** Reserved concurrency of the MCP function; undefined when it is not reserved. */
  readonly mcpReservedConcurrency?: number;
  /** Longest hold of one `subscriptions/listen` stream, in seconds (`subscriptionMaxDuration`); only when streaming. */
  readonly listenMaxSeconds?: number;
  /** Requests one client IP may send per window before WAF blocks it; undefined: no web ACL of ours. */
  readonly rateLimitPerIp?: number;
  readonly rateLimitWindowSeconds: number;
  readonly tracing: boolean;
  /** Whether the construct creates the dashboard and the alarms. */
  readonly monitoring: boolean;
  /** What the alarms do when they change state; empty: nothing. */
  readonly alarmActions: readonly cloudwatch.IAlarmAction[];
  /** The deployment's service name; each function's row adds its suffix. */
  readonly serviceName: string;
  readonly apiGatewayCloudWatchRole: boolean;
}

// RFC 6749 §3.3 scope token, minus the single quote that a static gateway header value cannot carry.
const isGatewayScopeToken = (scope: string) => isScopeToken(scope) && !scope.includes("'");

/** A line break, tab or other C0 control character, or DEL: none belongs in a one-line name. */
function hasControlCharacter(text: string): boolean {
  return [...text].some((char) => {
    const code = char.charCodeAt(0);
    return code < 0x20 || code === 0x7f;
  });
}

function scopeList(prop: string, scopes: readonly string[] | undefined): string[] | undefined {
  if (scopes === undefined) return undefined;
  const list = [...new Set(scopes.map((scope) => literal(prop, scope).trim()))];
  for (const scope of list) {
    if (!isGatewayScopeToken(scope)) {
      throw new AuthKitMcpServerPropsError(
        prop,
        `contains ${JSON.stringify(scope)}, which is not a valid OAuth scope (RFC 6749 §3.3; no spaces, double or single quotes, or backslashes). List one scope per array item, e.g. ["mcp:read", "mcp:write"].`,
      );
    }
  }
  return list;
}

function httpsUrl(prop: string, value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(literal(prop, value));
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'https:')
    throw new AuthKitMcpServerPropsError(prop, `is ${JSON.stringify(value)}; it must be an absolute https URL.`);
  return value;
}

function origins(value: readonly string[] | undefined): string[] {
  // No browser origin by default: the MCP specification asks servers to validate Origin, and
  // non-browser clients send none, so they are unaffected.
  const list = (value ?? []).map((origin) => literal('allowedOrigins', origin).trim());
  if (list.includes('*')) {
    if (list.length > 1)
      throw new AuthKitMcpServerPropsError(
        'allowedOrigins',
        'mixes "*" with specific origins. Use ["*"] alone, or only specific origins.',
      );
    return list;
  }
  for (const origin of list) {
    // The gateway's preflight compares these as written, so only a full origin spelled as browsers send it will do.
    const allowed = parseAllowedOrigin(origin);
    if (allowed === undefined || !('origin' in allowed) || allowed.origin !== origin) {
      throw new AuthKitMcpServerPropsError(
        'allowedOrigins',
        `contains ${JSON.stringify(origin)}, which is not an origin. Write scheme, lower-case host and optional port, without a path or trailing slash, e.g. "https://app.example.com".`,
      );
    }
  }
  return [...new Set(list)];
}

/**
 * Validates the props and applies the defaults.
 *
 * @throws AuthKitMcpServerPropsError naming the prop, the value and what to change.
 */
export function resolveServerSettings(props: AuthKitMcpServerProps): ServerSettings {
  return {
    ...readPropRows(props),
    ...tokenSettings(props),
    ...metadataSettings(props),
    ...endpointSettings(props),
    ...stageSettings(props),
    ...functionSettings(props),
    ...streamingSettings(props),
    ...rateLimit(props),
    ...telemetrySettings(props),
  };
}

type TokenSettings = Pick<
  ServerSettings,
  | 'issuer'
  | 'jwksUrl'
  | 'requiredScopes'
  | 'scopesSupported'
  | 'allowedOrganizations'
  | 'requireOrganization'
  | 'stepUpToolScopes'
  | 'tokenAlgorithms'
  | 'authorizerCacheTtl'
>;

/** Who issues the tokens, what they must carry, and how the authorizer checks and caches them. */
function tokenSettings(props: AuthKitMcpServerProps): TokenSettings {
  const issuer = issuerOf(props.authkitDomain);
  const { requiredScopes, scopesSupported } = scopeSettings(props);
  return {
    issuer,
    jwksUrl: jwksUrlOf(issuer),
    requiredScopes,
    scopesSupported,
    ...organizationSettings(props),
    ...stepUpSettings(props),
    tokenAlgorithms: tokenAlgorithms(props.tokenAlgorithms),
    authorizerCacheTtl: Duration.seconds(
      wholeDuration('authorizerCacheTtl', props.authorizerCacheTtl, AUTHORIZER_CACHE_TTL_SECONDS, 'seconds'),
    ),
  };
}

function issuerOf(authkitDomain: string | undefined): string {
  if (authkitDomain === undefined || authkitDomain === null || String(authkitDomain).trim() === '') {
    throw new AuthKitMcpServerPropsError(
      'authkitDomain',
      'is missing. Set it to your AuthKit domain from the WorkOS dashboard, e.g. "acme.authkit.app".',
    );
  }
  const read = tryRead(authkitIssuerSetting, literal('authkitDomain', authkitDomain));
  if ('refusal' in read) throw new AuthKitMcpServerPropsError('authkitDomain', `is invalid: ${read.refusal.message}`);
  return read.value;
}

/** Which organizations' tokens the authorizer accepts; a list implies that a token must name one. */
function organizationSettings(
  props: AuthKitMcpServerProps,
): Pick<ServerSettings, 'allowedOrganizations' | 'requireOrganization'> {
  const allowedOrganizations = throughListSetting(
    'allowedOrganizations',
    AUTHORIZER_SETTINGS.allowedOrganizations,
    props.allowedOrganizations,
  );
  if (allowedOrganizations.length > 0 && props.requireOrganization === false) {
    throw new AuthKitMcpServerPropsError(
      'requireOrganization',
      'is false while allowedOrganizations lists organizations; a token without an organization belongs to none of them and is refused. Remove requireOrganization, or the list.',
    );
  }
  return {
    allowedOrganizations,
    requireOrganization: allowedOrganizations.length > 0 || (props.requireOrganization ?? false),
  };
}

/**
 * The step-up challenge's tool scopes, checked as the authorizer reads them. Refused beside
 * organizations: both would answer through the one static ACCESS_DENIED header, and an
 * organization refusal must not invite a step-up that cannot help.
 */
function stepUpSettings(props: AuthKitMcpServerProps): Pick<ServerSettings, 'stepUpToolScopes'> {
  if (props.stepUpChallenge === undefined) return {};
  if ((props.allowedOrganizations ?? []).length > 0 || props.requireOrganization === true) {
    throw new AuthKitMcpServerPropsError(
      'stepUpChallenge',
      'cannot be combined with allowedOrganizations or requireOrganization: the 403 challenge header is static, and a caller of another organization must not be invited to step up. Turn one of them off.',
    );
  }
  const toolScopes = props.stepUpChallenge.toolScopes;
  const read = tryRead(AUTHORIZER_SETTINGS.stepUpToolScopes, JSON.stringify(toolScopes ?? null));
  if ('refusal' in read)
    throw new AuthKitMcpServerPropsError('stepUpChallenge', `has toolScopes that are invalid: ${read.refusal.message}`);
  const quoted = Object.values(read.value)
    .flat()
    .find((scope) => !isGatewayScopeToken(scope));
  if (quoted !== undefined) {
    throw new AuthKitMcpServerPropsError(
      'stepUpChallenge',
      `has the scope ${JSON.stringify(quoted)}, which a static gateway header value cannot carry; use scope names without single quotes.`,
    );
  }
  return { stepUpToolScopes: read.value };
}

function scopeSettings(props: AuthKitMcpServerProps): Pick<ServerSettings, 'requiredScopes' | 'scopesSupported'> {
  const requiredScopes = scopeList('requiredScopes', props.requiredScopes) ?? [];
  if (requiredScopes.includes(OFFLINE_ACCESS)) {
    throw new AuthKitMcpServerPropsError(
      'requiredScopes',
      'contains "offline_access", which a client asks for to get refresh tokens; it is never something a resource requires. Remove it.',
    );
  }
  // Required scopes are always advertised: clients that get no `scope` in the challenge request
  // what the metadata lists, and a required scope missing from it could never be obtained.
  const scopesSupported = [
    ...new Set([
      ...(scopeList('scopesSupported', props.scopesSupported) ?? DEFAULT_SCOPES_SUPPORTED),
      ...requiredScopes,
    ]),
  ];
  return { requiredScopes, scopesSupported };
}

function tokenAlgorithms(value: readonly TokenAlgorithm[] | undefined): TokenAlgorithm[] {
  // Unset in the environment means the default, so only the props can ask for no algorithm at all.
  if (value !== undefined && value.length === 0)
    throw new AuthKitMcpServerPropsError('tokenAlgorithms', 'is empty. Leave it unset for RS256, which AuthKit uses.');
  const algorithms = [...new Set(value ?? DEFAULT_TOKEN_ALGORITHMS)];
  for (const alg of algorithms) {
    const refusal = tokenAlgorithmRefusal(literal('tokenAlgorithms', alg));
    if (refusal !== undefined)
      throw new AuthKitMcpServerPropsError('tokenAlgorithms', `contains ${JSON.stringify(alg)}; ${adviceOf(refusal)}`);
  }
  return algorithms;
}

type MetadataSettings = Pick<ServerSettings, 'resourceName' | 'resourceDocumentation' | 'asMetadataTimeoutMs'>;

/** What the protected-resource metadata says, and how the copy of AuthKit's metadata is kept. */
function metadataSettings(props: AuthKitMcpServerProps): MetadataSettings {
  const resourceName = literal('resourceName', props.resourceName ?? DEFAULTS.resourceName).trim();
  if (resourceName === '' || hasControlCharacter(resourceName)) {
    throw new AuthKitMcpServerPropsError(
      'resourceName',
      'must be a non-empty, single-line name shown to people, e.g. "Acme tools".',
    );
  }
  return {
    resourceName,
    ...(props.resourceDocumentation === undefined
      ? {}
      : { resourceDocumentation: httpsUrl('resourceDocumentation', props.resourceDocumentation) }),
    asMetadataTimeoutMs: FUNCTION_TABLES.metadata.asMetadataTimeoutMs.fallback,
  };
}

type EndpointSettings = Pick<ServerSettings, 'publicBaseUrl' | 'disableExecuteApiEndpoint' | 'stageName'>;

/** Where clients reach the API: the public base URL, the custom domain and the stage. */
function endpointSettings(props: AuthKitMcpServerProps): EndpointSettings {
  let publicBaseUrl: string | undefined;
  if (props.publicBaseUrl !== undefined) {
    const read = tryRead(publicBaseUrlSetting, literal('publicBaseUrl', props.publicBaseUrl));
    if ('refusal' in read) throw new AuthKitMcpServerPropsError('publicBaseUrl', `is invalid: ${read.refusal.message}`);
    publicBaseUrl = read.value;
  }
  if (props.customDomain) {
    const name = props.customDomain.domainName;
    if (!Token.isUnresolved(name) && !isDnsName(name)) {
      throw new AuthKitMcpServerPropsError(
        'customDomain.domainName',
        `is ${JSON.stringify(name)}; write a lower-case DNS name without scheme or path, e.g. "mcp.example.com".`,
      );
    }
  }
  const disableExecuteApiEndpoint = props.disableExecuteApiEndpoint ?? false;
  if (disableExecuteApiEndpoint && !props.customDomain) {
    throw new AuthKitMcpServerPropsError(
      'disableExecuteApiEndpoint',
      'is true without a customDomain, which would leave the API unreachable (behind CloudFront, publicBaseUrl included, CloudFront needs the custom domain as its origin). Set customDomain, or leave disableExecuteApiEndpoint unset.',
    );
  }
  const stageName = literal('stageName', props.stageName ?? DEFAULTS.stageName);
  if (!API_STAGE_NAME.test(stageName)) {
    throw new AuthKitMcpServerPropsError(
      'stageName',
      `is ${JSON.stringify(stageName)}; use 1 to 128 letters, digits, hyphens or underscores, e.g. "prod".`,
    );
  }
  return { ...(publicBaseUrl === undefined ? {} : { publicBaseUrl }), disableExecuteApiEndpoint, stageName };
}

/** The stage's throttling and the retention of every log group. */
function stageSettings(
  props: AuthKitMcpServerProps,
): Pick<ServerSettings, 'throttlingRateLimit' | 'throttlingBurstLimit' | 'logRetention' | 'allowedOrigins'> {
  const throttlingRateLimit = props.throttlingRateLimit ?? DEFAULTS.throttlingRateLimit;
  if (!Number.isFinite(throttlingRateLimit) || throttlingRateLimit <= 0) {
    throw new AuthKitMcpServerPropsError(
      'throttlingRateLimit',
      `is ${throttlingRateLimit}; it must be a positive number of requests per second.`,
    );
  }
  const throttlingBurstLimit = integer(
    'throttlingBurstLimit',
    props.throttlingBurstLimit,
    { fallback: DEFAULTS.throttlingBurstLimit, min: 1, max: 5000 },
    ' (API Gateway caps bursts at 5000 by default)',
  );
  const logRetention = props.logRetention ?? DEFAULTS.logRetention;
  if (!(Object.values(logs.RetentionDays) as unknown[]).includes(logRetention)) {
    throw new AuthKitMcpServerPropsError(
      'logRetention',
      `is ${String(logRetention)}; use a logs.RetentionDays value, e.g. RetentionDays.ONE_MONTH.`,
    );
  }
  return { throttlingRateLimit, throttlingBurstLimit, logRetention, allowedOrigins: origins(props.allowedOrigins) };
}

type FunctionSettings = Pick<
  ServerSettings,
  'authorizerMemorySize' | 'metadataMemorySize' | 'mcpMemorySize' | 'mcpReservedConcurrency'
>;

/** The functions' memory and the MCP function's reserved concurrency. */
function functionSettings(props: AuthKitMcpServerProps): FunctionSettings {
  const memory = (prop: 'authorizerMemorySize' | 'metadataMemorySize' | 'mcpMemorySize') =>
    integer(prop, props[prop], { fallback: DEFAULTS[prop], min: 128, max: 10240 }, ' MB');
  return {
    authorizerMemorySize: memory('authorizerMemorySize'),
    metadataMemorySize: memory('metadataMemorySize'),
    mcpMemorySize: memory('mcpMemorySize'),
    ...reservedConcurrency(props.mcpReservedConcurrency),
  };
}

type TelemetrySettings = Pick<
  ServerSettings,
  'tracing' | 'monitoring' | 'alarmActions' | 'serviceName' | 'apiGatewayCloudWatchRole'
>;

/** Tracing, logging, metrics, the dashboard and the alarms. */
function telemetrySettings(props: AuthKitMcpServerProps): TelemetrySettings {
  return {
    tracing: props.tracing ?? false,
    monitoring: props.monitoring ?? DEFAULTS.monitoring,
    alarmActions: [...(props.alarmActions ?? [])],
    serviceName: throughSetting('serviceName', deploymentServiceName, props.serviceName),
    apiGatewayCloudWatchRole: props.apiGatewayCloudWatchRole ?? true,
  };
}

type StreamingSettings = Pick<
  ServerSettings,
  'responseTransferMode' | 'mcpTimeout' | 'mcpFunctionTimeout' | 'listenMaxSeconds'
>;

/** The transfer mode, the timeouts it allows, and the longest subscription hold that fits in them. */
function streamingSettings(props: AuthKitMcpServerProps): StreamingSettings {
  const mode = props.responseTransferMode ?? DEFAULTS.responseTransferMode;
  if (!RESPONSE_TRANSFER_MODES.includes(mode)) {
    throw new AuthKitMcpServerPropsError(
      'responseTransferMode',
      `is ${JSON.stringify(mode)}; use 'stream' (the default) or 'buffered'.`,
    );
  }
  const streaming = mode === 'stream';
  const max = streaming ? MAX_STREAMING_MCP_TIMEOUT : MAX_BUFFERED_MCP_TIMEOUT;
  const mcpTimeout = props.mcpTimeout ?? (streaming ? DEFAULTS.streamingMcpTimeout : DEFAULTS.bufferedMcpTimeout);
  const margin = MCP_FUNCTION_TIMEOUT_MARGIN.toSeconds();
  const seconds = mcpTimeout.toSeconds({ integral: false });
  if (!isWithin(seconds, { min: margin + 1, max: max.toSeconds() })) {
    const fix =
      !streaming && seconds > max.toSeconds() && seconds <= MAX_STREAMING_MCP_TIMEOUT.toSeconds()
        ? " A buffered integration times out after 29 seconds: shorten mcpTimeout, or leave responseTransferMode at 'stream'."
        : '';
    throw new AuthKitMcpServerPropsError(
      'mcpTimeout',
      `is ${mcpTimeout.toHumanString()}; with responseTransferMode '${mode}' it must be a whole number of seconds from ${margin + 1} to ${max.toSeconds()}.${fix}`,
    );
  }
  const mcpFunctionTimeout = Duration.seconds(seconds - margin);

  if (!streaming) {
    if (props.subscriptionMaxDuration !== undefined) {
      throw new AuthKitMcpServerPropsError(
        'subscriptionMaxDuration',
        "is set with responseTransferMode 'buffered', which cannot hold a subscriptions/listen stream. Remove subscriptionMaxDuration, or use 'stream'.",
      );
    }
    return { responseTransferMode: mode, mcpTimeout, mcpFunctionTimeout };
  }
  const functionSeconds = mcpFunctionTimeout.toSeconds();
  // A listen stream must close before the function's own timeout; the default shrinks to fit a short mcpTimeout.
  const listen =
    props.subscriptionMaxDuration ??
    Duration.seconds(Math.min(DEFAULTS.subscriptionMaxDuration.toSeconds(), functionSeconds));
  const listenSeconds = listen.toSeconds({ integral: false });
  if (!isWithin(listenSeconds, { min: 1, max: functionSeconds })) {
    throw new AuthKitMcpServerPropsError(
      'subscriptionMaxDuration',
      `is ${listen.toHumanString()}; it must be a whole number of seconds from 1 to ${functionSeconds}, the MCP function's timeout (mcpTimeout ${mcpTimeout.toHumanString()} minus ${margin} s). Shorten it, or raise mcpTimeout.`,
    );
  }
  return { responseTransferMode: mode, mcpTimeout, mcpFunctionTimeout, listenMaxSeconds: listenSeconds };
}

/**
 * No reservation unless asked: any reservation must leave the account 100 unreserved executions,
 * so it fails the deploy on an account whose Lambda concurrency quota is low (new accounts often
 * have 10), and a first deploy must work there.
 */
function reservedConcurrency(value: number | false | undefined): Pick<ServerSettings, 'mcpReservedConcurrency'> {
  if (value === false || value === undefined) return {};
  if (!isWithin(value, { min: 1, max: MAX_MCP_RESERVED_CONCURRENCY })) {
    throw new AuthKitMcpServerPropsError(
      'mcpReservedConcurrency',
      `is ${value}; it must be a whole number from 1 to ${MAX_MCP_RESERVED_CONCURRENCY} (Lambda keeps 100 of the default 1,000 unreserved), or false to reserve nothing.`,
    );
  }
  return { mcpReservedConcurrency: value };
}

function rateLimit(props: AuthKitMcpServerProps): Pick<ServerSettings, 'rateLimitPerIp' | 'rateLimitWindowSeconds'> {
  const window = props.rateLimitWindow ?? DEFAULTS.rateLimitWindow;
  const windowSeconds = window.toSeconds({ integral: false });
  if (!RATE_LIMIT_WINDOWS_SECONDS.includes(windowSeconds)) {
    throw new AuthKitMcpServerPropsError(
      'rateLimitWindow',
      `is ${window.toHumanString()}; AWS WAF counts over 1, 2, 5 or 10 minutes. Use one of Duration.minutes(1), (2), (5) or (10).`,
    );
  }
  if (props.rateLimitPerIp === undefined) {
    if (props.rateLimitWindow !== undefined) {
      throw new AuthKitMcpServerPropsError(
        'rateLimitWindow',
        'is set without rateLimitPerIp, so there is no rate limit to apply it to. Set rateLimitPerIp too, or remove rateLimitWindow.',
      );
    }
    return { rateLimitWindowSeconds: windowSeconds };
  }
  const limit = props.rateLimitPerIp;
  if (!isWithin(limit, { min: MIN_RATE_LIMIT_PER_IP, max: 2_000_000_000 })) {
    throw new AuthKitMcpServerPropsError(
      'rateLimitPerIp',
      `is ${limit}; it must be a whole number of requests per client IP and window, at least ${MIN_RATE_LIMIT_PER_IP} (AWS WAF's lowest limit).`,
    );
  }
  if (props.webAclArn !== undefined) {
    throw new AuthKitMcpServerPropsError(
      'rateLimitPerIp',
      'is set together with webAclArn, but a stage takes only one web ACL. Add a rate-based rule to your own web ACL and remove rateLimitPerIp, or remove webAclArn.',
    );
  }
  return { rateLimitPerIp: limit, rateLimitWindowSeconds: windowSeconds };
}
