/**
 * The props of `AuthKitMcpServer`, in their own module so that the construct and the
 * validation of its props (server-settings.ts) both import them without importing each other.
 */
import type { Duration } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as route53 from 'aws-cdk-lib/aws-route53';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { ToolScopes } from '../lambda/shared/challenges';
import type { LogLevel } from '../lambda/shared/settings/common';
import type { ResponseTransferMode } from '../lambda/shared/settings/mcp';
import type { TokenAlgorithm } from '../lambda/shared/token-policy';
import type { McpHandler } from './mcp-handler';

/** A custom domain for the API, mapped at its root so that every well-known location is routable. */
export interface CustomDomainOptions {
  /** The DNS name clients use, e.g. `mcp.example.com`. */
  readonly domainName: string;
  /** An ACM certificate for `domainName`, in the stack's region (the API is regional). */
  readonly certificate: acm.ICertificate;
  /**
   * The Route 53 hosted zone in which to create the alias record for `domainName`.
   * @default - no DNS record is created; point your DNS at the API's regional domain name yourself
   */
  readonly hostedZone?: route53.IHostedZone;
}

/** Properties of `AuthKitMcpServer`. */
/** The opt-in step-up challenge at the gateway (`stepUpChallenge`). */
export interface StepUpChallengeOptions {
  /** Each tool's required scopes by tool name, from the same definitions the MCP handler enforces (`toolScopesOf(tools)`). */
  readonly toolScopes: ToolScopes;
}

export interface AuthKitMcpServerProps {
  /**
   * Your AuthKit domain, as shown in the WorkOS dashboard: `acme.authkit.app`, `https://acme.authkit.app`
   * or a custom auth domain. Normalised to the issuer `https://<host>`. For local development only,
   * `http://localhost:<port>` and `http://127.0.0.1:<port>` are accepted.
   */
  readonly authkitDomain: string;
  /**
   * Scopes every access token must carry. A valid token without them gets 403 `insufficient_scope`;
   * the 401 challenge lists them in `scope="..."`.
   * @default - none: any valid token for this resource is accepted
   */
  readonly requiredScopes?: readonly string[];
  /**
   * Scopes advertised in the protected-resource metadata (`scopes_supported`); clients that get no
   * `scope` in the challenge request these. The required scopes are always added.
   * @default - `openid`, `profile`, `email` (plus the required scopes)
   */
  readonly scopesSupported?: readonly string[];
  /**
   * Audiences accepted besides the canonical resource URL, e.g. the environment-wide `client_...`
   * audience AuthKit issues when no Resource Indicator is registered. Each one widens who can use the
   * server: accept them knowingly.
   * @default - none: only tokens issued for this server's resource URL
   */
  readonly acceptedAudiences?: readonly string[];
  /**
   * Accept a token whose `aud` lists several audiences, one of which is this server (a confused-deputy risk).
   * @default false
   */
  readonly allowMultipleAudiences?: boolean;
  /**
   * WorkOS organizations (`org_...` ids, as the dashboard shows them) whose callers may use the
   * server. A token whose `org_id` is another organization, or that has none, gets 403 (no step-up
   * challenge: a new token with more scopes would not help). Machine (client-credentials) tokens
   * carry the `org_id` of their M2M application's organization and are judged the same way.
   * Implies `requireOrganization`.
   * @default - none: tokens of any organization, or of none, are accepted
   */
  readonly allowedOrganizations?: readonly string[];
  /**
   * Refuse (403) a token without `org_id`: only callers who signed in through an organization, and
   * machines of an M2M application (which always belong to one), may use the server. `true` when
   * `allowedOrganizations` is set, which cannot be combined with `false`.
   * @default - true when allowedOrganizations is set, else false
   */
  readonly requireOrganization?: boolean;
  /**
   * Refuse at the gateway a 2026-07-28 `tools/call` (its `Mcp-Method` and `Mcp-Name` headers) of a
   * tool whose scopes the token lacks, with 403 and a real `WWW-Authenticate: Bearer
   * error="insufficient_scope"` header that clients step up on. `/mcp` is then guarded by a Lambda
   * REQUEST authorizer without a result cache (every request runs it) instead of the cached TOKEN
   * authorizer. Give the scopes your tool definitions declare: `toolScopesOf(tools)` from
   * `mcp-authkit-apigateway/runtime`. Cannot be combined with `allowedOrganizations` or
   * `requireOrganization` (a gateway response header is static, and an organization refusal must
   * not invite a step-up).
   * @default - off: the TOKEN authorizer; the MCP runtime refuses such a call with the challenge in its JSON body
   */
  readonly stepUpChallenge?: StepUpChallengeOptions;
  /**
   * Accepted token signature algorithms (asymmetric only).
   * @default - `['RS256']`, what AuthKit signs with
   */
  readonly tokenAlgorithms?: readonly TokenAlgorithm[];
  /**
   * Allowed clock skew when checking `exp` and `nbf` (0 to 300 seconds).
   * @default Duration.seconds(30)
   */
  readonly clockTolerance?: Duration;
  /**
   * Upper bound of one JWKS fetch by the authorizer (at most 3 seconds).
   * @default Duration.seconds(2)
   */
  readonly jwksTimeout?: Duration;
  /**
   * Minimum time between JWKS fetches triggered by an unknown key id.
   * @default Duration.seconds(30)
   */
  readonly jwksCooldown?: Duration;
  /**
   * How long API Gateway caches an authorizer decision per token (0 disables the cache, at most 1 hour).
   * A revoked token keeps working until its cached decision expires.
   * @default Duration.minutes(5)
   */
  readonly authorizerCacheTtl?: Duration;
  /**
   * Human-readable name in the protected-resource metadata (`resource_name`).
   * @default 'MCP server'
   */
  readonly resourceName?: string;
  /**
   * An https URL documenting the server (`resource_documentation` in the metadata).
   * @default - omitted from the metadata
   */
  readonly resourceDocumentation?: string;
  /**
   * How long the metadata function serves its copy of AuthKit's metadata before refetching it (1 second to 1 day).
   * @default Duration.hours(1)
   */
  readonly authorizationServerMetadataCacheTtl?: Duration;
  /**
   * The function behind `/mcp`.
   * @default - McpHandler.sampleServer(), the sample server shipped with this package
   */
  readonly mcpHandler?: McpHandler;
  /**
   * A custom domain for the API, mapped at the root. When set, the canonical resource URL is
   * `https://<domainName>/mcp` and every well-known metadata location is routable.
   * @default - the API's execute-api endpoint, `https://<apiId>.execute-api.<region>.amazonaws.com/<stageName>`
   */
  readonly customDomain?: CustomDomainOptions;
  /**
   * Turn off the default execute-api endpoint so that clients can only use the custom domain.
   * Requires `customDomain`.
   * @default false
   */
  readonly disableExecuteApiEndpoint?: boolean;
  /**
   * The base URL clients use when it is neither the custom domain nor the execute-api endpoint:
   * behind CloudFront, or the local runner (`http://localhost:8787`, API served at the root).
   * Takes precedence over `customDomain` and the execute-api endpoint.
   * @default - the custom domain, else the execute-api endpoint with the stage
   */
  readonly publicBaseUrl?: string;
  /**
   * The API Gateway stage name (part of the execute-api URL).
   * @default 'prod'
   */
  readonly stageName?: string;
  /**
   * Steady-state request rate limit of the stage, in requests per second.
   * @default 100
   */
  readonly throttlingRateLimit?: number;
  /**
   * Burst limit of the stage, in requests.
   * @default 200
   */
  readonly throttlingBurstLimit?: number;
  /**
   * Retention of every log group the construct creates (three functions and the access log).
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Browser origins allowed to call `/mcp` (CORS, the gateway's error responses and the MCP
   * handler's Origin check), each written `scheme://host[:port]`. A request whose `Origin` is not
   * listed gets 403; clients that send no `Origin` (every non-browser client) are unaffected.
   * `['*']` allows any origin.
   * @default - none: no browser origin may call the server
   */
  readonly allowedOrigins?: readonly string[];
  /**
   * Largest request body the MCP handler accepts, in bytes (at most 6 MiB, Lambda's payload limit).
   * @default 1048576
   */
  readonly maxRequestBodyBytes?: number;
  /**
   * Memory of the authorizer function, in MB (CPU scales with it: more memory, faster cold verification).
   * @default 512
   */
  readonly authorizerMemorySize?: number;
  /**
   * Memory of the metadata function, in MB.
   * @default 256
   */
  readonly metadataMemorySize?: number;
  /**
   * Memory of the MCP function, in MB (ignored for `McpHandler.fromFunction`).
   * @default 1024
   */
  readonly mcpMemorySize?: number;
  /**
   * How API Gateway carries the MCP function's answers: `'stream'` (REST API response streaming:
   * progress and log notifications reach the client as they are sent, answers may take up to 15
   * minutes, `subscriptions/listen` can be held) or `'buffered'` (one body, within 29 seconds).
   * @default 'stream'
   */
  readonly responseTransferMode?: ResponseTransferMode;
  /**
   * The `/mcp` integration timeout: at most 15 minutes when streaming, 29 seconds when buffered.
   * It bounds what one request may hold; long work belongs in tasks, not in held streams.
   * The MCP function itself times out one second earlier, so that its deadline, which the runtime
   * aborts a tool ahead of, falls before the gateway gives up.
   * @default - Duration.minutes(5) when streaming, Duration.seconds(29) when buffered
   */
  readonly mcpTimeout?: Duration;
  /**
   * Reserved concurrency of the MCP function: the most MCP requests, held streams included, served
   * at once. A reservation protects both ways: held streams cannot take the account's concurrency
   * from the authorizer, the metadata function and the account's other functions, and they cannot
   * take the MCP function's. Beyond it requests are throttled (API Gateway answers 500). A
   * reservation must leave the account 100 unreserved executions, so it fails the deploy where the
   * Lambda concurrency quota is below 100 plus the reservation (new accounts often have 10).
   * `false` or unset reserves nothing (the function shares the account's unreserved pool).
   * Ignored for `McpHandler.fromFunction`.
   * @default - no reservation
   */
  readonly mcpReservedConcurrency?: number | false;
  /**
   * Most `/mcp` requests one caller (the token's `sub` and `client_id`) may hold at once, across
   * every instance of the MCP function, from 1 to 1000. Each held request takes a lease in the
   * construct's DynamoDB state table, released when it ends and expiring by itself at the
   * function's timeout; beyond the limit a request is refused, so one user cannot take every
   * reserved execution (`mcpReservedConcurrency`). `false` turns the limit off.
   * @default 10
   */
  readonly maxConcurrentRequestsPerCaller?: number | false;
  /**
   * The Secrets Manager secret whose plain-text value is your WorkOS API key (`sk_...`), with which
   * the MCP function resolves a person's role and permissions for tool policies and
   * `caller.access()`. Only the MCP function may read it; the template and the environment carry
   * only its ARN.
   * @default - no key: tools whose policy names roles or permissions are refused, naming this prop
   */
  readonly workosApiKeySecret?: secretsmanager.ISecret;
  /**
   * How long the MCP function keeps a person's role and permissions (per container) before asking
   * WorkOS again: a role changed in WorkOS takes effect within this time. From 0 to 1 hour.
   * @default Duration.seconds(60)
   */
  readonly permissionsCacheTtl?: Duration;
  /**
   * The WorkOS API origin the MCP function calls for roles and permissions: https, or http on
   * loopback only (the local stand-in), without a path.
   * @default 'https://api.workos.com'
   */
  readonly workosApiBaseUrl?: string;
  /**
   * Longest time one `subscriptions/listen` stream is held before the server closes it cleanly
   * (the client then listens again). A held stream is billed Lambda duration; this bounds what a
   * silently vanished client costs. Streaming only; at most the MCP function's timeout.
   * @default - Duration.minutes(4) (under API Gateway's 5-minute idle timeout), or the MCP function's timeout when shorter
   */
  readonly subscriptionMaxDuration?: Duration;
  /**
   * The key of the HMAC that protects `requestState` in multi-round-trip requests, as a Secrets
   * Manager secret whose value is the key. Only the MCP function may read it.
   * @default - a secret generated at deploy time (64 letters and digits), never in the template
   */
  readonly requestStateSecret?: secretsmanager.ISecret;
  /**
   * Enable AWS X-Ray tracing on the stage and the functions (active tracing: Lambda and API Gateway
   * record the traces; X-Ray bills per trace recorded and retrieved, see README "Operate a stage").
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * Create a CloudWatch dashboard for the stage (requests, errors and latency by route, authorizer
   * decisions by reason, upstream failures, MCP function concurrency, throttles, WAF blocks) and
   * alarms on what needs a person (AuthKit or WorkOS unreachable, MCP 5xx rate, Lambda throttles,
   * concurrency near the reserved limit, WAF blocks spiking).
   * @default true
   */
  readonly monitoring?: boolean;
  /**
   * Where the alarms go when they fire and when they recover, e.g. an `SnsAction` on a topic your
   * on-call tooling subscribes to. Ignored when `monitoring` is false.
   * @default - no action: the alarms change state in CloudWatch only
   */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
  /**
   * Log level of the functions (Powertools `POWERTOOLS_LOG_LEVEL`).
   * @default 'INFO'
   */
  readonly logLevel?: LogLevel;
  /**
   * Powertools service name; the functions log as `<serviceName>-authorizer`, `<serviceName>-metadata` and `<serviceName>`.
   * @default 'mcp-server'
   */
  readonly serviceName?: string;
  /**
   * CloudWatch namespace of the authorizer's decision metrics (one count per reason, e.g. `token_expired`).
   * @default 'McpServer'
   */
  readonly metricsNamespace?: string;
  /**
   * Create the account-wide role that lets API Gateway write logs (`AWS::ApiGateway::Account`).
   * Set to false when the account and region already have one: only one exists per region.
   * @default true
   */
  readonly apiGatewayCloudWatchRole?: boolean;
  /**
   * ARN of an AWS WAF web ACL (regional scope) to associate with the stage. Cannot be combined with
   * `rateLimitPerIp` (a stage takes one web ACL).
   * @default - no web ACL, unless rateLimitPerIp creates one
   */
  readonly webAclArn?: string;
  /**
   * Requests one client IP may send in `rateLimitWindow` before AWS WAF answers it 429 for the
   * rest of the window (at least 10). Creates a regional web ACL with one rate-based rule and
   * associates it with the stage. Unlike the stage throttling, which everyone shares (anonymous
   * clients included), it limits each client address on its own.
   * @default - no per-IP limit and no web ACL
   */
  readonly rateLimitPerIp?: number;
  /**
   * The window over which AWS WAF counts `rateLimitPerIp`: 1, 2, 5 or 10 minutes.
   * @default Duration.minutes(5)
   */
  readonly rateLimitWindow?: Duration;
}
