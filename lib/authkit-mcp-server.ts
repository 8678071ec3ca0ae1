import { Aws, CfnOutput, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53Targets from 'aws-cdk-lib/aws-route53-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import {
  AUTHORIZATION_SERVER_METADATA_PATH,
  insufficientScopeChallenge,
  MCP_PATH,
  OPENID_CONFIGURATION_PATH,
  PROTECTED_RESOURCE_METADATA_PATH,
  serverUrls,
  type ServerUrls,
  unauthorizedChallenge,
} from '../lambda/shared/urls';
import { mcpBundling } from '../lambda/runtime/bundling';
import { MCP_EXPOSED_HEADERS, MCP_REQUEST_HEADERS } from '../lambda/shared/cors';
import {
  LISTEN_MAX_SECONDS_ENV,
  REQUEST_STATE_SECRET_ARN_ENV,
  RESPONSE_TRANSFER_MODE_ENV,
} from '../lambda/shared/mcp-environment';
import { staticHeaderValue } from './gateway-header-value';
import { bundledFunctionEntry } from './lambda-entry';
import { McpHandler } from './mcp-handler';
import {
  AuthKitMcpServerPropsError,
  resolveServerSettings,
  type LogLevel,
  type ResponseTransferMode,
  type ServerSettings,
  type TokenAlgorithm,
} from './server-settings';

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

/** Properties of {@link AuthKitMcpServer}. */
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
   * The MCP function itself times out one second earlier, so that its deadline, which the runtime
   * aborts a tool ahead of, falls before the gateway gives up.
   * @default - Duration.minutes(15) when streaming, Duration.seconds(29) when buffered
   */
  readonly mcpTimeout?: Duration;
  /**
   * Reserved concurrency of the MCP function: the most MCP requests, held streams included, served
   * at once. It caps the MCP function so that held streams cannot take the account's concurrency
   * from the authorizer and the metadata function; beyond it requests are throttled (API Gateway
   * answers 500). `false` reserves nothing (the function shares the account's unreserved pool).
   * Ignored for `McpHandler.fromFunction`.
   * @default 100
   */
  readonly mcpReservedConcurrency?: number | false;
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
   * Enable AWS X-Ray tracing on the stage and the functions.
   * @default false
   */
  readonly tracing?: boolean;
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

/** Seconds a client should wait after a 503 from the authorizer (AuthKit's keys unreachable). */
const RETRY_AFTER_SECONDS = 5;
/**
 * A case-insensitive `Bearer` and a JWT-shaped token. Written with character classes and anchors
 * only, so API Gateway (Java regular expressions) and JavaScript read it the same way.
 */
export const BEARER_TOKEN_VALIDATION_REGEX =
  '^[Bb][Ee][Aa][Rr][Ee][Rr] +[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*$';

const NODE_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * A remote MCP server behind WorkOS AuthKit on an API Gateway REST API.
 *
 * Creates a regional REST API with `/mcp` (POST, GET, DELETE) behind a Lambda TOKEN authorizer that
 * verifies AuthKit access tokens for this server's canonical resource URL, the discovery documents
 * under `/.well-known/` (any method, no authorization), gateway responses that carry the OAuth challenges and
 * CORS headers, and the three functions with their log groups and least-privilege roles.
 */
export class AuthKitMcpServer extends Construct {
  /** The REST API. */
  readonly api: apigw.RestApi;
  /** The TOKEN authorizer's function. */
  readonly authorizerFunction: NodejsFunction;
  /** The function serving the protected-resource metadata and the copy of AuthKit's metadata. */
  readonly metadataFunction: NodejsFunction;
  /** The function behind `/mcp`. */
  readonly mcpFunction: lambda.IFunction;
  /** The TOKEN authorizer. */
  readonly authorizer: apigw.TokenAuthorizer;
  /** The public base URL (custom domain, or execute-api endpoint with the stage); may contain CDK tokens. */
  readonly url: string;
  /** The canonical resource URL: the MCP endpoint, the token audience and the WorkOS Resource Indicator. */
  readonly resourceUrl: string;
  /** The path-form protected-resource metadata URL that 401 challenges point to. */
  readonly protectedResourceMetadataUrl: string;
  /** Every public URL of the server. */
  readonly urls: ServerUrls;
  /** The AuthKit issuer tokens must carry (`iss`). */
  readonly issuer: string;
  /** The environment the MCP runtime reads; set it yourself on an MCP function the construct cannot modify. */
  readonly mcpEnvironment: Readonly<Record<string, string>>;
  /** The custom domain, when configured. */
  readonly domainName?: apigw.DomainName;
  /** The secret whose value keys the `requestState` HMAC; only the MCP function may read it. */
  readonly requestStateSecret: secretsmanager.ISecret;
  /** The web ACL with the per-IP rate-based rule, when `rateLimitPerIp` is set. */
  readonly webAcl?: wafv2.CfnWebACL;

  private readonly settings: ServerSettings;
  /** The functions this construct built (not one passed in with McpHandler.fromFunction). */
  private readonly ownFunctions: NodejsFunction[] = [];

  constructor(scope: Construct, id: string, props: AuthKitMcpServerProps) {
    super(scope, id);
    const settings = resolveServerSettings(props);
    this.settings = settings;
    this.issuer = settings.issuer;

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: settings.logRetention });
    this.api = new apigw.RestApi(this, 'Api', {
      restApiName: `${Stack.of(this).stackName}-${id}`,
      description: 'MCP server protected by WorkOS AuthKit',
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      disableExecuteApiEndpoint: settings.disableExecuteApiEndpoint,
      cloudWatchRole: settings.apiGatewayCloudWatchRole,
      ...(props.customDomain
        ? {
            domainName: {
              domainName: props.customDomain.domainName,
              certificate: props.customDomain.certificate,
              endpointType: apigw.EndpointType.REGIONAL,
              securityPolicy: apigw.SecurityPolicy.TLS_1_2,
            },
          }
        : {}),
      deployOptions: {
        stageName: settings.stageName,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.custom(accessLogFormat()),
        // Execution logs at ERROR only, and never data traces: those would log the Authorization header.
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: settings.tracing,
        throttlingRateLimit: settings.throttlingRateLimit,
        throttlingBurstLimit: settings.throttlingBurstLimit,
      },
    });
    this.domainName = this.api.domainName;
    // RestApi adds an `Endpoint` output with the execute-api URL; it is wrong when a custom domain or
    // publicBaseUrl is the public address, and addOutputs() gives the URLs that matter.
    this.api.node.tryRemoveChild('Endpoint');

    // Built from parts with the literal stage name: `api.url` refers to the Stage, and the gateway
    // responses below (which the Deployment depends on) would close a dependency cycle through it.
    const executeApiBase = `https://${this.api.restApiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}/${settings.stageName}`;
    const base =
      settings.publicBaseUrl ?? (props.customDomain ? `https://${props.customDomain.domainName}` : executeApiBase);
    this.urls = serverUrls(base);
    this.url = this.urls.base;
    this.resourceUrl = this.urls.resource;
    this.protectedResourceMetadataUrl = this.urls.protectedResourceMetadata;

    // Each function gets exactly the variables it reads (the contract in the README), nothing more.
    const common: Record<string, string> = {
      PUBLIC_BASE_URL: this.urls.base,
      POWERTOOLS_LOG_LEVEL: settings.logLevel,
      NODE_OPTIONS: '--enable-source-maps',
    };

    this.authorizerFunction = this.bundledFunction('Authorizer', {
      entry: bundledFunctionEntry('authorizer'),
      description: 'Verifies AuthKit access tokens for the MCP endpoint (API Gateway TOKEN authorizer)',
      memorySize: settings.authorizerMemorySize,
      // The JWKS fetch is bounded at 3 s; the rest leaves room for a cold start.
      timeout: Duration.seconds(10),
      environment: {
        ...common,
        AUTHKIT_ISSUER: settings.issuer,
        POWERTOOLS_SERVICE_NAME: `${settings.serviceName}-authorizer`,
        // Only the authorizer publishes metrics (one count per decision).
        POWERTOOLS_METRICS_NAMESPACE: settings.metricsNamespace,
        AUTHKIT_JWKS_URL: settings.jwksUrl,
        ...(settings.acceptedAudiences.length > 0 ? { ACCEPTED_AUDIENCES: settings.acceptedAudiences.join(',') } : {}),
        ALLOW_MULTIPLE_AUDIENCES: String(settings.allowMultipleAudiences),
        TOKEN_ALGORITHMS: settings.tokenAlgorithms.join(','),
        CLOCK_TOLERANCE_SECONDS: String(settings.clockToleranceSeconds),
        ...(settings.requiredScopes.length > 0 ? { REQUIRED_SCOPES: settings.requiredScopes.join(' ') } : {}),
        JWKS_TIMEOUT_MS: String(settings.jwksTimeoutMs),
        JWKS_COOLDOWN_MS: String(settings.jwksCooldownMs),
      },
    });

    this.metadataFunction = this.bundledFunction('Metadata', {
      entry: bundledFunctionEntry('metadata'),
      description: 'Serves the MCP server protected-resource metadata and a cached copy of the AuthKit metadata',
      memorySize: settings.metadataMemorySize,
      timeout: Duration.seconds(10),
      environment: {
        ...common,
        AUTHKIT_ISSUER: settings.issuer,
        POWERTOOLS_SERVICE_NAME: `${settings.serviceName}-metadata`,
        SCOPES_SUPPORTED: settings.scopesSupported.join(' '),
        RESOURCE_NAME: settings.resourceName,
        ...(settings.resourceDocumentation ? { RESOURCE_DOCUMENTATION: settings.resourceDocumentation } : {}),
        AS_METADATA_TTL_SECONDS: String(settings.authorizationServerMetadataTtlSeconds),
        AS_METADATA_TIMEOUT_MS: String(settings.authorizationServerMetadataTimeoutMs),
      },
    });

    // Generated by Secrets Manager at deploy time: the template and the environment carry only its ARN.
    this.requestStateSecret =
      props.requestStateSecret ??
      new secretsmanager.Secret(this, 'RequestStateSecret', {
        description:
          'HMAC key of the MCP server requestState (multi-round-trip requests); read by the MCP function only',
        generateSecretString: { passwordLength: 64, excludePunctuation: true },
      });

    this.mcpEnvironment = {
      ...common,
      POWERTOOLS_SERVICE_NAME: settings.serviceName,
      // Empty means no browser origin.
      ALLOWED_ORIGINS: settings.allowedOrigins.join(','),
      MAX_BODY_BYTES: String(settings.maxRequestBodyBytes),
      // The runtime checks `exp` on every request (the authorizer cache does not), with the authorizer's tolerance.
      CLOCK_TOLERANCE_SECONDS: String(settings.clockToleranceSeconds),
      [RESPONSE_TRANSFER_MODE_ENV]: settings.responseTransferMode === 'stream' ? 'STREAM' : 'BUFFERED',
      [REQUEST_STATE_SECRET_ARN_ENV]: this.requestStateSecret.secretArn,
      // A buffered integration cannot hold a listen stream, so the variable is absent then.
      ...(settings.subscriptionMaxDurationSeconds === undefined
        ? {}
        : { [LISTEN_MAX_SECONDS_ENV]: String(settings.subscriptionMaxDurationSeconds) }),
    };
    this.mcpFunction = this.createMcpFunction(props.mcpHandler ?? McpHandler.sampleServer());
    this.grantRequestStateSecretRead();

    this.authorizer = new apigw.TokenAuthorizer(this, 'TokenAuthorizer', {
      handler: this.authorizerFunction,
      identitySource: apigw.IdentitySource.header('Authorization'),
      validationRegex: BEARER_TOKEN_VALIDATION_REGEX,
      resultsCacheTtl: settings.authorizerCacheTtl,
    });

    this.addRoutes();
    this.addGatewayResponses();
    if (props.customDomain?.hostedZone && this.api.domainName) {
      new route53.ARecord(this, 'AliasRecord', {
        zone: props.customDomain.hostedZone,
        recordName: props.customDomain.domainName,
        target: route53.RecordTarget.fromAlias(new route53Targets.ApiGatewayDomain(this.api.domainName)),
      });
    }
    if (settings.rateLimitPerIp !== undefined) this.webAcl = this.createRateLimitWebAcl(settings.rateLimitPerIp);
    const webAclArn = this.webAcl?.attrArn ?? props.webAclArn;
    if (webAclArn) {
      new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', {
        resourceArn: this.api.deploymentStage.stageArn,
        webAclArn,
      });
    }
    this.acknowledgeNagFindings(props);
  }

  /**
   * Adds the stack outputs a deployer needs: `McpUrl`, `ProtectedResourceMetadataUrl` and
   * `ResourceIndicator` (the value to register in WorkOS). Output ids are used as given, so call
   * it once per stack.
   */
  addOutputs(scope: Construct = Stack.of(this)): void {
    new CfnOutput(scope, 'McpUrl', {
      value: this.resourceUrl,
      description: 'The MCP endpoint: give this URL to MCP clients.',
    });
    new CfnOutput(scope, 'ProtectedResourceMetadataUrl', {
      value: this.protectedResourceMetadataUrl,
      description: 'Protected-resource metadata (RFC 9728) that 401 challenges point to.',
    });
    new CfnOutput(scope, 'ResourceIndicator', {
      value: this.resourceUrl,
      description:
        'Register exactly this value as a Resource Indicator in WorkOS (AuthKit) so that tokens carry it as their audience.',
    });
  }

  private bundledFunction(
    id: string,
    options: {
      entry: string;
      description: string;
      memorySize: number;
      timeout: Duration;
      environment: Record<string, string>;
      handler?: string;
      depsLockFilePath?: string;
      esbuildArgs?: Readonly<Record<string, string>>;
      reservedConcurrentExecutions?: number;
    },
  ): NodejsFunction {
    const logGroup = new logs.LogGroup(this, `${id}Logs`, { retention: this.settings.logRetention });
    // An explicit role instead of AWSLambdaBasicExecutionRole: the function may write to its own log group, nothing else.
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${id} function of the MCP server`,
    });
    logGroup.grantWrite(role);
    const fn = new NodejsFunction(this, id, {
      entry: options.entry,
      handler: options.handler ?? 'handler',
      ...(options.depsLockFilePath ? { depsLockFilePath: options.depsLockFilePath } : {}),
      description: options.description,
      runtime: NODE_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: options.memorySize,
      timeout: options.timeout,
      ...(options.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: options.reservedConcurrentExecutions }),
      role,
      logGroup,
      tracing: this.settings.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      environment: options.environment,
      bundling: {
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        format: OutputFormat.CJS,
        target: 'node24',
        forceDockerBundling: false,
        ...(options.esbuildArgs ? { esbuildArgs: { ...options.esbuildArgs } } : {}),
      },
    });
    this.ownFunctions.push(fn);
    if (this.settings.tracing) {
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions; CDK adds them on "*" when tracing is on.',
      });
    }
    return fn;
  }

  private createMcpFunction(handler: McpHandler): lambda.IFunction {
    const source = handler.source;
    if (source.kind === 'function') {
      if (source.fn instanceof lambda.Function) {
        for (const [name, value] of Object.entries(this.mcpEnvironment)) source.fn.addEnvironment(name, value);
      }
      return source.fn;
    }
    const extra = source.kind === 'entry' ? (source.options.environment ?? {}) : {};
    const clashing = Object.keys(extra).filter((name) => name in this.mcpEnvironment);
    if (clashing.length > 0) {
      throw new AuthKitMcpServerPropsError(
        'mcpHandler',
        `sets ${clashing.join(', ')} in its environment, which the construct sets from its own props. Set the matching prop instead, or rename your variable.`,
      );
    }
    return this.bundledFunction('Mcp', {
      entry: source.kind === 'entry' ? source.entry : bundledFunctionEntry('mcp'),
      ...(source.kind === 'entry' && source.options.handler ? { handler: source.options.handler } : {}),
      ...(source.kind === 'entry' && source.options.depsLockFilePath
        ? { depsLockFilePath: source.options.depsLockFilePath }
        : {}),
      description: 'MCP server (Streamable HTTP, stateless) behind the AuthKit authorizer',
      // The runtime's own bundling options (a smaller JSON Schema validator), for the sample and user entries alike.
      esbuildArgs: mcpBundling().esbuildArgs,
      memorySize: this.settings.mcpMemorySize,
      timeout: this.settings.mcpFunctionTimeout,
      reservedConcurrentExecutions: this.settings.mcpReservedConcurrency,
      environment: { ...extra, ...this.mcpEnvironment },
    });
  }

  /**
   * GetSecretValue on the requestState secret, for the MCP function's role only (no DescribeSecret,
   * no other secret), and decryption with the secret's own KMS key when it has one.
   */
  private grantRequestStateSecretRead(): void {
    const secret = this.requestStateSecret;
    // A secret imported by name has a partial ARN; Secrets Manager appends six random characters.
    const arn = secret.secretFullArn ?? `${secret.secretArn}-??????`;
    iam.Grant.addToPrincipal({
      grantee: this.mcpFunction,
      actions: ['secretsmanager:GetSecretValue'],
      resourceArns: [arn],
    });
    secret.encryptionKey?.grantDecrypt(this.mcpFunction);
  }

  private addRoutes(): void {
    const root = this.api.root;
    const mcp = root.resourceForPath(MCP_PATH);
    // One integration for every method: they reach the same function, whose handler is either a
    // streaming one or a buffered one, and a buffered integration cannot read a streamed answer.
    const mcpIntegration = new apigw.LambdaIntegration(this.mcpFunction, {
      proxy: true,
      allowTestInvoke: false,
      responseTransferMode:
        this.settings.responseTransferMode === 'stream'
          ? apigw.ResponseTransferMode.STREAM
          : apigw.ResponseTransferMode.BUFFERED,
      timeout: this.settings.mcpTimeout,
    });
    for (const method of ['POST', 'GET', 'DELETE']) {
      mcp.addMethod(method, mcpIntegration, {
        authorizer: this.authorizer,
        authorizationType: apigw.AuthorizationType.CUSTOM,
      });
    }
    this.addMcpPreflight(mcp);

    // Discovery documents are public by definition (RFC 9728, RFC 8414): no authorizer. Every method
    // goes to the metadata function, which serves GET and HEAD, answers the CORS preflight itself
    // and gives anything else 405 with an Allow header (not the gateway's 404 for an unknown route).
    const metadataIntegration = new apigw.LambdaIntegration(this.metadataFunction, {
      proxy: true,
      allowTestInvoke: false,
    });
    for (const path of [
      `${PROTECTED_RESOURCE_METADATA_PATH}${MCP_PATH}`,
      PROTECTED_RESOURCE_METADATA_PATH,
      AUTHORIZATION_SERVER_METADATA_PATH,
      OPENID_CONFIGURATION_PATH,
    ]) {
      root
        .resourceForPath(path)
        .addMethod('ANY', metadataIntegration, { authorizationType: apigw.AuthorizationType.NONE });
    }
  }

  /** The preflight is not behind the authorizer: browsers never send credentials on it. */
  private addMcpPreflight(mcp: apigw.IResource): void {
    const origins = this.settings.allowedOrigins;
    if (origins.length > 0) {
      mcp.addCorsPreflight({
        allowOrigins: [...origins],
        allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
        allowHeaders: [...MCP_REQUEST_HEADERS],
        exposeHeaders: [...MCP_EXPOSED_HEADERS],
        maxAge: Duration.hours(2),
      });
      return;
    }
    // No browser origin may call the server: every preflight is refused, with a body that says which prop opens it.
    mcp.addMethod(
      'OPTIONS',
      new apigw.MockIntegration({
        requestTemplates: { 'application/json': '{"statusCode": 403}' },
        integrationResponses: [
          { statusCode: '403', responseTemplates: jsonBody('origin_not_allowed', ORIGIN_NOT_ALLOWED) },
        ],
      }),
      { authorizationType: apigw.AuthorizationType.NONE, methodResponses: [{ statusCode: '403' }] },
    );
  }

  /**
   * Every body is a static message: API Gateway's own error message can quote the request (an
   * unknown route asked with an Authorization header gets a message that quotes that header).
   */
  private addGatewayResponses(): void {
    const cors = gatewayCorsHeaders(this.settings.allowedOrigins);
    const noStore = { 'Cache-Control': "'no-store'" };
    const add = (
      id: string,
      type: apigw.ResponseType,
      statusCode: string | undefined,
      headers: Record<string, string>,
      error: string,
      description: string,
    ) =>
      this.api.addGatewayResponse(id, {
        type,
        ...(statusCode === undefined ? {} : { statusCode }),
        responseHeaders: { ...cors, ...headers },
        templates: jsonBody(error, description),
      });

    const scopes = this.settings.requiredScopes;
    add(
      'Unauthorized',
      apigw.ResponseType.UNAUTHORIZED,
      '401',
      { ...noStore, 'WWW-Authenticate': staticHeaderValue(unauthorizedChallenge(this.urls, scopes)) },
      'unauthorized',
      'A valid AuthKit access token for this server is required in the Authorization header (Bearer).',
    );
    add(
      'AccessDenied',
      apigw.ResponseType.ACCESS_DENIED,
      '403',
      { ...noStore, 'WWW-Authenticate': staticHeaderValue(insufficientScopeChallenge(this.urls, scopes)) },
      'insufficient_scope',
      `The access token lacks the scopes this server requires${scopes.length > 0 ? `: ${scopes.join(' ')}` : ''}.`,
    );
    // The authorizer fails like this when AuthKit's keys cannot be fetched: a temporary outage, not a bad token.
    const retry = { ...noStore, 'Retry-After': staticHeaderValue(String(RETRY_AFTER_SECONDS)) };
    const unavailable = 'The access token could not be checked right now. Retry later.';
    add(
      'AuthorizerFailure',
      apigw.ResponseType.AUTHORIZER_FAILURE,
      '503',
      retry,
      'temporarily_unavailable',
      unavailable,
    );
    add(
      'AuthorizerConfigurationError',
      apigw.ResponseType.AUTHORIZER_CONFIGURATION_ERROR,
      '503',
      retry,
      'temporarily_unavailable',
      unavailable,
    );
    // An unknown route gets MISSING_AUTHENTICATION_TOKEN (403 by default); with an Authorization
    // header API Gateway may read it as a SigV4 signature and answer INVALID_SIGNATURE or
    // EXPIRED_TOKEN instead. No route here uses IAM authorization, so all three mean "no such route".
    const notFound = `No such route. The MCP endpoint is ${this.urls.resource}`;
    add('NotFound', apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, '404', {}, 'not_found', notFound);
    add('InvalidSignature', apigw.ResponseType.INVALID_SIGNATURE, '404', {}, 'not_found', notFound);
    add('ExpiredToken', apigw.ResponseType.EXPIRED_TOKEN, '404', {}, 'not_found', notFound);
    add(
      'Throttled',
      apigw.ResponseType.THROTTLED,
      '429',
      {},
      'too_many_requests',
      'The stage is receiving more requests than it accepts. Retry later.',
    );
    add(
      'Default4xx',
      apigw.ResponseType.DEFAULT_4XX,
      undefined,
      {},
      'request_rejected',
      'API Gateway rejected the request.',
    );
    add(
      'Default5xx',
      apigw.ResponseType.DEFAULT_5XX,
      undefined,
      {},
      'server_error',
      'The server could not answer the request. Retry later.',
    );
  }

  /**
   * A regional web ACL whose one rule blocks a client IP that sent more than `limit` requests in
   * the window, with 429 and `Retry-After`. AWS WAF's custom response takes precedence over the
   * gateway's, so it carries the same CORS headers itself. Sampled requests stay off: they would
   * keep request headers, the Authorization header included, readable in the WAF console.
   */
  private createRateLimitWebAcl(limit: number): wafv2.CfnWebACL {
    const windowSeconds = this.settings.rateLimitWindowSeconds;
    const cors = Object.entries(corsHeaderValues(this.settings.allowedOrigins)).map(([name, value]) => ({
      name,
      value,
    }));
    const bodyKey = 'TooManyRequests';
    return new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      description: 'Per-client-IP rate limit of the MCP server',
      defaultAction: { allow: {} },
      customResponseBodies: {
        [bodyKey]: {
          contentType: 'APPLICATION_JSON',
          content: JSON.stringify({
            error: 'too_many_requests',
            error_description: `More than ${limit} requests from this address in ${windowSeconds} seconds. Retry later.`,
          }),
        },
      },
      rules: [
        {
          name: 'RateLimitPerIp',
          priority: 0,
          action: {
            block: {
              customResponse: {
                responseCode: 429,
                customResponseBodyKey: bodyKey,
                responseHeaders: [{ name: 'Retry-After', value: String(windowSeconds) }, ...cors],
              },
            },
          },
          statement: { rateBasedStatement: { limit, aggregateKeyType: 'IP', evaluationWindowSec: windowSeconds } },
          visibilityConfig: {
            cloudWatchMetricsEnabled: true,
            metricName: 'RateLimitPerIp',
            sampledRequestsEnabled: false,
          },
        },
      ],
      visibilityConfig: {
        cloudWatchMetricsEnabled: true,
        metricName: 'McpServerWebAcl',
        sampledRequestsEnabled: false,
      },
    });
  }

  private acknowledgeNagFindings(props: AuthKitMcpServerProps): void {
    const publicRoutes =
      'Discovery documents (RFC 9728 protected-resource metadata, RFC 8414 / OpenID metadata) must be readable without credentials: clients fetch them to learn how to get a token.';
    const tokenAuthorizer =
      'Access is controlled by a Lambda TOKEN authorizer that verifies WorkOS AuthKit JWTs; Cognito is not the identity provider here.';
    for (const method of this.api.methods) {
      if (method.resource.path.startsWith('/.well-known')) {
        Validations.of(method).acknowledge({ id: 'AwsSolutions-APIG4', reason: publicRoutes });
        Validations.of(method).acknowledge({ id: 'AwsSolutions-COG4', reason: publicRoutes });
      } else if (method.httpMethod !== 'OPTIONS') {
        // cdk-nag skips OPTIONS for COG4, and the /mcp preflight (a MOCK with CORS headers) for APIG4.
        Validations.of(method).acknowledge({ id: 'AwsSolutions-COG4', reason: tokenAuthorizer });
      } else if (this.settings.allowedOrigins.length === 0) {
        Validations.of(method).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'The /mcp preflight is a MOCK that refuses every browser origin with a static 403; browsers never send credentials on a preflight, and it reaches no function.',
        });
      }
    }
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'Requests are proxied to Lambda: the authorizer checks the Authorization header and the MCP handler validates every JSON-RPC body against the MCP schema; a gateway model would duplicate that.',
    });
    if (!props.webAclArn && this.webAcl === undefined) {
      Validations.of(this.api).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason:
          'A WAF web ACL is optional (props rateLimitPerIp or webAclArn): stage throttling and the token authorizer bound the traffic; add one where the threat model asks for it.',
      });
    }
    if (props.requestStateSecret === undefined) {
      Validations.of(this.requestStateSecret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'The requestState HMAC key protects short-lived, caller-bound state and only the MCP function role may read it; rotating it fails every round trip in flight, so it is rotated by hand when needed (README, "Rotating the requestState key").',
      });
    }
    if (this.settings.apiGatewayCloudWatchRole) {
      Validations.of(this.api).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: 'The account-level API Gateway logging role uses the AWS managed policy made for exactly that purpose.',
      });
    }
  }
}

const ORIGIN_NOT_ALLOWED =
  'No browser origin may call this MCP server. Its deployer lists the origins that may in allowedOrigins.';

/**
 * A static JSON error body. Its literal text must not contain a double quote, a backslash or a `$`
 * (which a gateway response template would read as a variable); CDK tokens (the API id, the region)
 * resolve to plain values at deploy time.
 */
function jsonBody(error: string, description: string): Record<string, string> {
  const literalText = description.replace(/\$\{Token\[[^\]]*\]\}/g, '');
  if (/["\\$]/.test(literalText))
    throw new Error(`Gateway response text must be static: ${JSON.stringify(description)}`);
  return { 'application/json': `{"error":"${error}","error_description":"${description}"}` };
}

/**
 * The CORS headers of answers the gateway or WAF builds without the function: none when no browser
 * origin is allowed; the one origin when one is; `*` when several are, because such a header is a
 * static value or a copy of a request header, and cannot choose among origins. Those answers carry
 * only static, public text (challenges, error messages), and no cookie is ever involved, so `*`
 * lets any page read no more than `curl` could; the preflight and the MCP function name only
 * listed origins.
 */
function corsHeaderValues(origins: readonly string[]): Record<string, string> {
  if (origins.length === 0) return {};
  const allowOrigin = origins.length === 1 ? origins[0] : '*';
  return {
    'Access-Control-Allow-Origin': allowOrigin,
    ...(allowOrigin === '*' ? {} : { Vary: 'Origin' }),
    'Access-Control-Expose-Headers': MCP_EXPOSED_HEADERS.join(', '),
  };
}

function gatewayCorsHeaders(origins: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    Object.entries(corsHeaderValues(origins)).map(([name, value]) => [name, staticHeaderValue(value)]),
  );
}

/** JSON access log line. No request headers: the Authorization header must never reach a log. */
function accessLogFormat(): string {
  const fields: Record<string, string> = {
    requestId: '$context.requestId',
    extendedRequestId: '$context.extendedRequestId',
    requestTime: '$context.requestTime',
    ip: '$context.identity.sourceIp',
    userAgent: '$context.identity.userAgent',
    httpMethod: '$context.httpMethod',
    resourcePath: '$context.resourcePath',
    protocol: '$context.protocol',
    status: '$context.status',
    responseLength: '$context.responseLength',
    responseLatency: '$context.responseLatency',
    integrationStatus: '$context.integration.status',
    integrationLatency: '$context.integration.latency',
    authorizerStatus: '$context.authorizer.status',
    authorizerLatency: '$context.authorizer.latency',
    authorizerError: '$context.authorizer.error',
    principalId: '$context.authorizer.principalId',
    clientId: '$context.authorizer.client_id',
    // The response type, never API Gateway's message, which can quote request headers.
    errorType: '$context.error.responseType',
    xrayTraceId: '$context.xrayTraceId',
  };
  return JSON.stringify(fields);
}
