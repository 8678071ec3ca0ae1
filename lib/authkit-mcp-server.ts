import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
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
  MCP_PATH,
  OPENID_CONFIGURATION_PATH,
  PROTECTED_RESOURCE_METADATA_PATH,
  serverUrls,
  type ServerUrls,
} from '../lambda/shared/urls';
import {
  accessDeniedChallenge,
  insufficientScopeChallenge,
  STEP_UP_CONTEXT_KEY,
  stepUpScopes,
  unauthorizedChallenge,
} from '../lambda/shared/challenges';
import { mcpBundling } from '../lambda/runtime/bundling';
import { MCP_EXPOSED_HEADERS, MCP_REQUEST_HEADERS } from '../lambda/shared/cors';
import { staticHeaderValue } from './gateway-header-value';
import { bundledFunctionEntry } from './lambda-entry';
import { McpHandler } from './mcp-handler';
import { ServerMonitoring } from './monitoring';
import type { AuthKitMcpServerProps, CustomDomainOptions } from './authkit-mcp-server-props';
import { authorizerEnvironment, mcpEnvironment, metadataEnvironment } from './function-environments';
import { AuthKitMcpServerPropsError, resolveServerSettings, type ServerSettings } from './server-settings';
import { BEARER_TOKEN_VALIDATION_REGEX } from '../lambda/shared/bearer-token';
import { AUTHORIZER_CONTEXT_KEYS } from '../lambda/shared/identity-context';
import { SERVICE_NAME_SUFFIXES } from '../lambda/shared/settings/common';

export type { AuthKitMcpServerProps, CustomDomainOptions };

/** Seconds a client should wait after a 503 from the authorizer (AuthKit's keys unreachable). */
const RETRY_AFTER_SECONDS = 5;
const NODE_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * A remote MCP server behind WorkOS AuthKit on an API Gateway REST API.
 *
 * Creates a regional REST API with `/mcp` (POST, GET, DELETE) behind a Lambda TOKEN authorizer (a
 * REQUEST authorizer with `stepUpChallenge`) that
 * verifies AuthKit access tokens for this server's canonical resource URL, the discovery documents
 * under `/.well-known/` (any method, no authorization), gateway responses that carry the OAuth challenges and
 * CORS headers, and the three functions with their log groups and least-privilege roles.
 */
export class AuthKitMcpServer extends Construct {
  /** The REST API. */
  readonly api: apigw.RestApi;
  /** The authorizer's function (TOKEN, or REQUEST with `stepUpChallenge`). */
  readonly authorizerFunction: NodejsFunction;
  /** The function serving the protected-resource metadata and the copy of AuthKit's metadata. */
  readonly metadataFunction: NodejsFunction;
  /** The function behind `/mcp`. */
  readonly mcpFunction: lambda.IFunction;
  /**
   * The gate of `/mcp`: the TOKEN authorizer, or with `stepUpChallenge` the REQUEST authorizer
   * (same function, no result cache).
   */
  readonly authorizer: apigw.TokenAuthorizer | apigw.RequestAuthorizer;
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
  /** The secret holding the WorkOS API key, when given; only the MCP function may read it. */
  readonly workosApiKeySecret?: secretsmanager.ISecret;
  /**
   * The MCP function's state: the per-caller leases of held requests (`pk` `caller#<hash>`, `sk`
   * `lease#<slot>`), on demand, with TTL on `ttl`. Only the MCP function's role may use it.
   */
  readonly stateTable: dynamodb.Table;
  /** The web ACL with the per-IP rate-based rule, when `rateLimitPerIp` is set. */
  readonly webAcl?: wafv2.CfnWebACL;
  /** The stage's dashboard and alarms, unless `monitoring` is false. */
  readonly monitoring?: ServerMonitoring;

  private readonly settings: ServerSettings;
  /** The functions this construct built (not one passed in with McpHandler.fromFunction). */
  private readonly ownFunctions: NodejsFunction[] = [];

  constructor(scope: Construct, id: string, props: AuthKitMcpServerProps) {
    super(scope, id);
    this.settings = resolveServerSettings(props);
    this.issuer = this.settings.issuer;
    this.api = this.createApi(id, props.customDomain);
    this.domainName = this.api.domainName;
    this.urls = this.publicUrls(props.customDomain);
    this.url = this.urls.base;
    this.resourceUrl = this.urls.resource;
    this.protectedResourceMetadataUrl = this.urls.protectedResourceMetadata;

    // Each function gets exactly the variables its settings contract lists, nothing more.
    this.authorizerFunction = this.createAuthorizerFunction();
    this.metadataFunction = this.createMetadataFunction();
    this.requestStateSecret = props.requestStateSecret ?? this.createRequestStateSecret();
    this.workosApiKeySecret = props.workosApiKeySecret;
    this.stateTable = this.createStateTable();
    this.mcpEnvironment = mcpEnvironment(
      this.settings,
      this.urls.base,
      this.requestStateSecret.secretArn,
      this.stateTable.tableName,
      this.workosApiKeySecret?.secretArn,
    );
    this.mcpFunction = this.createMcpFunction(props.mcpHandler ?? McpHandler.sampleServer());
    this.grantSecretRead(this.requestStateSecret);
    if (this.workosApiKeySecret) this.grantSecretRead(this.workosApiKeySecret);
    this.grantStateTableUse();
    this.allowTaskWorkers();
    this.authorizer =
      this.settings.stepUpToolScopes === undefined ? this.createTokenAuthorizer() : this.createRequestAuthorizer();

    this.addRoutes();
    this.addGatewayResponses();
    this.addAliasRecord(props.customDomain);
    this.webAcl =
      this.settings.rateLimitPerIp === undefined ? undefined : this.createRateLimitWebAcl(this.settings.rateLimitPerIp);
    this.associateWebAcl(this.webAcl?.attrArn ?? props.webAclArn);
    this.monitoring = this.settings.monitoring ? this.createMonitoring() : undefined;
    this.acknowledgeNagFindings(props);
  }

  /** The dashboard and alarms (lib/monitoring.ts), over the resources built above. */
  private createMonitoring(): ServerMonitoring {
    const settings = this.settings;
    const ownMcp = this.ownFunctions.find((fn) => fn === this.mcpFunction);
    return new ServerMonitoring(this, 'Monitoring', {
      api: this.api,
      authorizerFunction: this.authorizerFunction,
      mcpFunction: this.mcpFunction,
      mcpLogGroup: ownMcp?.logGroup,
      accessLogGroup: this.node.findChild('AccessLogs') as logs.ILogGroup,
      webAcl: this.webAcl,
      rateLimitPerIp: settings.rateLimitPerIp,
      metricsNamespace: settings.metricsNamespace,
      authorizerServiceName: `${settings.serviceName}${SERVICE_NAME_SUFFIXES.authorizer}`,
      mcpServiceName: `${settings.serviceName}${SERVICE_NAME_SUFFIXES.mcp}`,
      // A function passed in with McpHandler.fromFunction keeps its own reservation, unknown here.
      mcpReservedConcurrency: ownMcp ? settings.mcpReservedConcurrency : undefined,
      alarmActions: settings.alarmActions,
    });
  }

  private createApi(id: string, customDomain: CustomDomainOptions | undefined): apigw.RestApi {
    const settings = this.settings;
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: settings.logRetention });
    const api = new apigw.RestApi(this, 'Api', {
      restApiName: `${Stack.of(this).stackName}-${id}`,
      description: 'MCP server protected by WorkOS AuthKit',
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      disableExecuteApiEndpoint: settings.disableExecuteApiEndpoint,
      cloudWatchRole: settings.apiGatewayCloudWatchRole,
      ...(customDomain
        ? {
            domainName: {
              domainName: customDomain.domainName,
              certificate: customDomain.certificate,
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
    // RestApi adds an `Endpoint` output with the execute-api URL; it is wrong when a custom domain or
    // publicBaseUrl is the public address, and addOutputs() gives the URLs that matter.
    api.node.tryRemoveChild('Endpoint');
    return api;
  }

  /** The public URLs: publicBaseUrl, else the custom domain, else the execute-api endpoint with the stage. */
  private publicUrls(customDomain: CustomDomainOptions | undefined): ServerUrls {
    // Built from parts with the literal stage name: `api.url` refers to the Stage, and the gateway
    // responses (which the Deployment depends on) would close a dependency cycle through it.
    const executeApiBase = `https://${this.api.restApiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}/${this.settings.stageName}`;
    return serverUrls(
      this.settings.publicBaseUrl ?? (customDomain ? `https://${customDomain.domainName}` : executeApiBase),
    );
  }

  private createAuthorizerFunction(): NodejsFunction {
    return this.bundledFunction('Authorizer', {
      entry: bundledFunctionEntry('authorizer'),
      description: 'Verifies AuthKit access tokens for the MCP endpoint (API Gateway TOKEN authorizer)',
      memorySize: this.settings.authorizerMemorySize,
      // The JWKS fetch is bounded at 3 s; the rest leaves room for a cold start.
      timeout: Duration.seconds(10),
      environment: authorizerEnvironment(this.settings, this.urls.base),
    });
  }

  private createMetadataFunction(): NodejsFunction {
    return this.bundledFunction('Metadata', {
      entry: bundledFunctionEntry('metadata'),
      description: 'Serves the MCP server protected-resource metadata and a cached copy of the AuthKit metadata',
      memorySize: this.settings.metadataMemorySize,
      timeout: Duration.seconds(10),
      environment: metadataEnvironment(this.settings, this.urls.base),
    });
  }

  /** Generated by Secrets Manager at deploy time: the template and the environment carry only its ARN. */
  private createRequestStateSecret(): secretsmanager.ISecret {
    return new secretsmanager.Secret(this, 'RequestStateSecret', {
      description: 'HMAC key of the MCP server requestState (multi-round-trip requests); read by the MCP function only',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
  }

  /**
   * On demand: held requests come in bursts and an idle table costs nothing. Encrypted with the AWS
   * managed key (aws/dynamodb) rather than an AWS owned one, so key use shows in CloudTrail, at no
   * monthly key fee and with no key policy to keep; the items hold hashes, ids and times, no
   * identity text. No point-in-time recovery and destroyed with the stack: a lease lives minutes,
   * and restoring old leases would only block callers (revisit when the table holds MCP tasks).
   */
  private createStateTable(): dynamodb.Table {
    const table = new dynamodb.Table(this, 'StateTable', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'ttl',
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: false },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(table).acknowledge({
      id: 'AwsSolutions-DDB3',
      reason:
        'The table holds per-caller leases that expire within the MCP function timeout; a restored copy would only hold stale leases, so point-in-time recovery buys nothing.',
    });
    return table;
  }

  /** The item operations the leases need, on this table only, for the MCP function's role only (no Scan, no table-level actions). */
  private grantStateTableUse(): void {
    iam.Grant.addToPrincipal({
      grantee: this.mcpFunction,
      actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
      resourceArns: [this.stateTable.tableArn],
    });
  }

  /**
   * Durable tasks (MCP tasks extension): the function starts a task's worker with an asynchronous
   * Invoke of itself, so its role may invoke this function and no other. The statement sits in a
   * policy of its own: in the role's default policy, on which the function depends, it would make a
   * dependency cycle with the function's ARN. Lambda runs the event once (`retryAttempts: 0`: a
   * retried tool would repeat its side effects) and drops one that waited over a minute in the
   * queue (the task then reads `failed` at its deadline):
   * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-configuring.html.
   */
  private allowTaskWorkers(): void {
    const role = this.mcpFunction.role;
    if (role === undefined) return;
    new iam.Policy(this, 'McpTaskWorkerInvoke', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.mcpFunction.functionArn] }),
      ],
    });
    this.mcpFunction.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.seconds(60) });
  }

  private createTokenAuthorizer(): apigw.TokenAuthorizer {
    return new apigw.TokenAuthorizer(this, 'TokenAuthorizer', {
      handler: this.authorizerFunction,
      identitySource: apigw.IdentitySource.header('Authorization'),
      validationRegex: BEARER_TOKEN_VALIDATION_REGEX,
      resultsCacheTtl: this.settings.authorizerCacheTtl,
    });
  }

  /**
   * The step-up challenge's gate: a REQUEST authorizer, which sees the request's headers
   * (`Mcp-Method`, `Mcp-Name`) besides the token
   * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html).
   * No result cache: the cache key would be the identity sources, and a key of the token alone would
   * serve one tool's Deny to every request of that token, while a key with `Mcp-Name` makes API
   * Gateway answer 401 without calling the function to every request that lacks it (tools/list, a
   * 2025-era client): "verifying all of the identity-related request parameters are present, not
   * null and non-empty" (https://docs.aws.amazon.com/apigateway/latest/api/API_Authorizer.html).
   * The Authorization header stays the identity source, so a request without it still gets 401
   * without an invocation.
   */
  private createRequestAuthorizer(): apigw.RequestAuthorizer {
    return new apigw.RequestAuthorizer(this, 'RequestAuthorizer', {
      handler: this.authorizerFunction,
      identitySources: [apigw.IdentitySource.header('Authorization')],
      resultsCacheTtl: Duration.seconds(0),
    });
  }

  private addAliasRecord(customDomain: CustomDomainOptions | undefined): void {
    if (!customDomain?.hostedZone || !this.api.domainName) return;
    new route53.ARecord(this, 'AliasRecord', {
      zone: customDomain.hostedZone,
      recordName: customDomain.domainName,
      target: route53.RecordTarget.fromAlias(new route53Targets.ApiGatewayDomain(this.api.domainName)),
    });
  }

  /** Our rate-limit web ACL, or the one passed in `webAclArn`, on the stage. */
  private associateWebAcl(webAclArn: string | undefined): void {
    if (!webAclArn) return;
    new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', {
      resourceArn: this.api.deploymentStage.stageArn,
      webAclArn,
    });
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
   * GetSecretValue on one secret (the requestState key, the WorkOS API key), for the MCP function's
   * role only (no DescribeSecret, no other secret), and decryption with the secret's own KMS key
   * when it has one.
   */
  private grantSecretRead(secret: secretsmanager.ISecret): void {
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
    const add: AddGatewayResponse = (id, type, statusCode, headers, error, description) =>
      this.api.addGatewayResponse(id, {
        type,
        ...(statusCode === undefined ? {} : { statusCode }),
        responseHeaders: { ...cors, ...headers },
        templates: jsonBody(error, description),
      });

    this.addTokenRefusalResponses(add);
    addAuthorizerFailureResponses(add);
    this.addNotFoundResponses(add);
    addCatchAllResponses(add);
  }

  /** 401 and 403 carry the challenge that tells a client where to get a token, and with which scopes. */
  private addTokenRefusalResponses(add: AddGatewayResponse): void {
    const scopes = this.settings.requiredScopes;
    add(
      'Unauthorized',
      apigw.ResponseType.UNAUTHORIZED,
      '401',
      { ...NO_STORE, 'WWW-Authenticate': staticHeaderValue(unauthorizedChallenge(this.urls, scopes)) },
      'unauthorized',
      'A valid AuthKit access token for this server is required in the Authorization header (Bearer).',
    );
    const toolScopes = this.settings.stepUpToolScopes;
    if (toolScopes !== undefined) {
      this.addStepUpResponse(stepUpScopes(scopes, toolScopes));
      return;
    }
    const denied = this.accessDenied();
    add(
      'AccessDenied',
      apigw.ResponseType.ACCESS_DENIED,
      '403',
      { ...NO_STORE, 'WWW-Authenticate': staticHeaderValue(denied.challenge) },
      denied.error,
      denied.description,
    );
  }

  /**
   * The step-up challenge's 403: a Deny of the REQUEST authorizer means missing scopes only (the
   * construct refuses organizations beside it). The header is static (a gateway response header is
   * a literal or a copy of a request parameter,
   * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-gateway-responses.gatewayResponse.html),
   * so it names every scope a tool or the server requires; the body names the scopes this request
   * lacked from the Deny's context: a gateway response template "can access `$context` variable
   * values" (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-gatewayResponse-definition.html),
   * and `$context.authorizer.<key>` is the authorizer's context value
   * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html).
   */
  private addStepUpResponse(challengeScopes: readonly string[]): void {
    const description =
      'The access token lacks scopes this request needs; authorize again with the scopes in required_scope.';
    this.api.addGatewayResponse('AccessDenied', {
      type: apigw.ResponseType.ACCESS_DENIED,
      statusCode: '403',
      responseHeaders: {
        ...gatewayCorsHeaders(this.settings.allowedOrigins),
        ...NO_STORE,
        'WWW-Authenticate': staticHeaderValue(insufficientScopeChallenge(this.urls, challengeScopes)),
      },
      templates: {
        'application/json': `{"error":"insufficient_scope","error_description":"${description}","required_scope":"$context.authorizer.${STEP_UP_CONTEXT_KEY}"}`,
      },
    });
  }

  /**
   * What a Deny (403) says. Without organizations configured, a Deny only ever means missing scopes:
   * the `insufficient_scope` challenge invites a step-up. With them, a Deny may also be a caller of
   * an organization this server does not serve, which no step-up fixes. A gateway response header is
   * a static value or a copy of a request parameter
   * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-gateway-responses.gatewayResponse.html),
   * so it cannot tell the two apart: every Deny then gets a challenge without an `error` code.
   */
  private accessDenied(): { challenge: string; error: string; description: string } {
    const scopes = this.settings.requiredScopes;
    const lacking = `The access token lacks the scopes this server requires${scopes.length > 0 ? `: ${scopes.join(' ')}` : ''}`;
    if (!this.settings.requireOrganization)
      return {
        challenge: insufficientScopeChallenge(this.urls, scopes),
        error: 'insufficient_scope',
        description: `${lacking}.`,
      };
    const foreign = 'the caller does not belong to an organization this server serves';
    return {
      challenge: accessDeniedChallenge(this.urls),
      error: 'access_denied',
      description: scopes.length > 0 ? `${lacking}, or ${foreign}.` : `The access token is refused: ${foreign}.`,
    };
  }

  /**
   * An unknown route gets MISSING_AUTHENTICATION_TOKEN (403 by default); with an Authorization
   * header API Gateway may read it as a SigV4 signature and answer INVALID_SIGNATURE or
   * EXPIRED_TOKEN instead. No route here uses IAM authorization, so all three mean "no such route".
   */
  private addNotFoundResponses(add: AddGatewayResponse): void {
    const notFound = `No such route. The MCP endpoint is ${this.urls.resource}`;
    add('NotFound', apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, '404', {}, 'not_found', notFound);
    add('InvalidSignature', apigw.ResponseType.INVALID_SIGNATURE, '404', {}, 'not_found', notFound);
    add('ExpiredToken', apigw.ResponseType.EXPIRED_TOKEN, '404', {}, 'not_found', notFound);
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
      'Access is controlled by a Lambda authorizer (TOKEN, or REQUEST with stepUpChallenge) that verifies WorkOS AuthKit JWTs; Cognito is not the identity provider here.';
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

/** Adds one gateway response: its construct id, type, status (the type's default when undefined), headers and body. */
type AddGatewayResponse = (
  id: string,
  type: apigw.ResponseType,
  statusCode: string | undefined,
  headers: Record<string, string>,
  error: string,
  description: string,
) => void;

const NO_STORE = { 'Cache-Control': "'no-store'" };

/** The authorizer fails like this when AuthKit's keys cannot be fetched: a temporary outage, not a bad token. */
function addAuthorizerFailureResponses(add: AddGatewayResponse): void {
  const retry = { ...NO_STORE, 'Retry-After': staticHeaderValue(String(RETRY_AFTER_SECONDS)) };
  const unavailable = 'The access token could not be checked right now. Retry later.';
  add('AuthorizerFailure', apigw.ResponseType.AUTHORIZER_FAILURE, '503', retry, 'temporarily_unavailable', unavailable);
  add(
    'AuthorizerConfigurationError',
    apigw.ResponseType.AUTHORIZER_CONFIGURATION_ERROR,
    '503',
    retry,
    'temporarily_unavailable',
    unavailable,
  );
}

/** Whatever else API Gateway refuses or fails on its own. */
function addCatchAllResponses(add: AddGatewayResponse): void {
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
    clientId: `$context.authorizer.${AUTHORIZER_CONTEXT_KEYS.clientId}`,
    // The response type, never API Gateway's message, which can quote request headers.
    errorType: '$context.error.responseType',
    xrayTraceId: '$context.xrayTraceId',
    // Streaming: BUFFERED or STREAMED, and the milliseconds to the integration's headers and first byte
    // (https://docs.aws.amazon.com/apigateway/latest/developerguide/response-streaming-troubleshoot.html).
    responseTransferMode: '$context.integration.responseTransferMode',
    timeToAllHeaders: '$context.integration.timeToAllHeaders',
    timeToFirstContent: '$context.integration.timeToFirstContent',
  };
  return JSON.stringify(fields);
}
