/**
 * The REST API a synthesized template describes, as the local gateway serves it: resources and
 * methods, TOKEN authorizers, gateway responses, MOCK and AWS_PROXY integrations, the stage, and
 * the Lambda functions they invoke. Building the model is where every unsupported feature is
 * found, so the gateway fails at start rather than answer differently from AWS.
 */
import type { LocalTable } from '../aws/dynamodb';
import type { LocalSecret } from '../aws/secrets-manager';
import { GatewayStartError, UnresolvableValueError, UnsupportedFeatureError } from './errors';
import type { CustomGatewayResponse, HeaderSource } from './gateway-responses';
import type { LocalFunctionSpec } from './lambda-runtime';
import {
  belongsToApi,
  createModelContext,
  type IgnoredResource,
  type ModelContext,
  type ModelOptions,
  ofApi,
  ofType,
  props,
  str,
} from './model-context';
import { type FunctionCatalog, functionCatalog, functionOfUri } from './model-functions';
import { type AsyncInvokeSettings, asyncInvokeSettingsOf } from './async-invoke';
import { type RoleGrants, roleGrantsOf } from './role-grants';
import { secretGrantsOf, secretsOf, type SecretGrants } from './secrets';
import { SubstitutionTemplate } from './substitution-template';
import { tablesOf } from './tables';
import type { CfnResource, DeploymentEnvironment, LoadedStack } from './template';
import {
  type MethodThrottle,
  type MethodThrottleSetting,
  methodThrottleSetting,
  resolveMethodThrottle,
} from './throttle';
import { CompiledTemplate, UnsupportedTemplateError } from './vtl';
import { webAclForStage, type WebAclModel } from './waf';

export type { IgnoredResource, ModelOptions } from './model-context';

/** A request parameter an authorizer's identity is read from (`method.request.header.<name>`, ...). */
export interface IdentitySourceModel {
  readonly location: 'header' | 'querystring';
  readonly name: string;
}

/**
 * A Lambda authorizer. TOKEN: one header, whose value is the event's `authorizationToken`.
 * REQUEST: the event carries the request's parameters; the identity sources must all be present
 * and non-empty or the request gets 401 without an invocation, and they are the cache key
 * (https://docs.aws.amazon.com/apigateway/latest/api/API_Authorizer.html, `identitySource`).
 */
export interface TokenAuthorizerModel {
  readonly logicalId: string;
  readonly id: string;
  readonly type: 'TOKEN' | 'REQUEST';
  /** TOKEN: exactly one header; REQUEST: one or more parameters. */
  readonly identitySources: readonly IdentitySourceModel[];
  /** Java-style full match of the token value (TOKEN only); absent means every non-empty value goes to the Lambda. */
  readonly validation?: RegExp;
  /** 0: no cache, every request invokes the function. */
  readonly ttlSeconds: number;
  readonly functionLogicalId: string;
}

export interface MockResponseModel {
  readonly selectionPattern?: RegExp;
  readonly statusCode: number;
  readonly headers: ReadonlyArray<readonly [string, HeaderSource]>;
  readonly templates: ReadonlyArray<readonly [string, CompiledTemplate]>;
}

export type IntegrationModel =
  | {
      readonly kind: 'lambda-proxy';
      readonly functionLogicalId: string;
      /** `TimeoutInMillis`: up to 29 s buffered, 15 min streamed. */
      readonly timeoutMs: number;
      /** `ResponseTransferMode`: `stream` invokes with InvokeWithResponseStream and pipes the body as it comes. */
      readonly transferMode: 'buffered' | 'stream';
    }
  | { readonly kind: 'mock'; readonly statusCode: number; readonly responses: readonly MockResponseModel[] };

export interface MethodModel {
  readonly logicalId: string;
  readonly httpMethod: string;
  readonly authorizer?: TokenAuthorizerModel;
  readonly integration: IntegrationModel;
  /** The stage's throttling limits for this method; absent when the stage's MethodSettings set none. */
  readonly throttle?: MethodThrottle;
}

export interface ResourceNode {
  readonly logicalId: string;
  readonly id: string;
  /** The path part (`mcp`, `{id}`, `{proxy+}`); empty for the root. */
  readonly pathPart: string;
  /** The resource path as API Gateway reports it (`/mcp`, `/{proxy+}`, `/`). */
  readonly resourcePath: string;
  readonly children: ResourceNode[];
  readonly methods: Map<string, MethodModel>;
}

export interface ApiModel {
  readonly restApiLogicalId: string;
  readonly apiId: string;
  readonly stageName: string;
  readonly stageVariables: Readonly<Record<string, string>>;
  readonly binaryMediaTypes: readonly string[];
  readonly root: ResourceNode;
  readonly gatewayResponses: ReadonlyMap<string, CustomGatewayResponse>;
  /** The throttling entries of the stage's MethodSettings, as written (stage-wide and per method). */
  readonly throttleSettings: readonly MethodThrottleSetting[];
  readonly functions: ReadonlyMap<string, LocalFunctionSpec>;
  readonly environment: DeploymentEnvironment;
  /** Resources that have no effect on how a request is answered locally, and why. */
  readonly ignored: readonly IgnoredResource[];
  /** The AWS WAF web ACL associated with the served stage, evaluated before anything else. */
  readonly webAcl?: WebAclModel;
  /** The template's Secrets Manager secrets, with values made for this run. */
  readonly secrets: readonly LocalSecret[];
  /** What each function's role lets it do with them. */
  readonly secretGrants: SecretGrants;
  /** The template's DynamoDB tables, served by the local DynamoDB. */
  readonly tables: readonly LocalTable[];
  /** What each function's role lets it do with them. */
  readonly tableGrants: RoleGrants;
  /** What each function's role lets it do with Lambda (`lambda:InvokeFunction` on another function). */
  readonly lambdaGrants: RoleGrants;
  /** How each function's asynchronous events are retried (its `AWS::Lambda::EventInvokeConfig`). */
  readonly asyncInvokeSettings: ReadonlyMap<string, AsyncInvokeSettings>;
}

/** Resource types that change nothing about how the local gateway answers a request. */
const NO_REQUEST_TIME_EFFECT: Readonly<Record<string, string>> = {
  'AWS::Lambda::Permission': 'invoke permissions are not enforced locally',
  'AWS::IAM::Role': 'IAM is not evaluated locally',
  'AWS::IAM::Policy': 'IAM is not evaluated locally',
  'AWS::IAM::ManagedPolicy': 'IAM is not evaluated locally',
  'AWS::Logs::LogGroup': 'logs go to the terminal locally',
  'AWS::Logs::MetricFilter': 'logs go to the terminal locally',
  'AWS::ApiGateway::Account': 'account-level logging settings',
  'AWS::ApiGateway::Model': 'models matter only with a request validator',
  'AWS::ApiGateway::UsagePlan': 'throttling and quotas are not emulated locally',
  'AWS::ApiGateway::UsagePlanKey': 'throttling and quotas are not emulated locally',
  'AWS::ApiGateway::ApiKey': 'no served method requires an API key',
  'AWS::ApiGateway::DomainName': 'the local gateway serves the API at the root, as a custom domain does',
  'AWS::ApiGateway::BasePathMapping': 'the local gateway serves the API at the root, as a custom domain does',
  'AWS::ApiGatewayV2::ApiMapping': 'the local gateway serves the API at the root, as a custom domain does',
  'AWS::CertificateManager::Certificate': 'TLS is not used locally',
  'AWS::Route53::RecordSet': 'DNS is not used locally',
  'AWS::CloudWatch::Alarm': 'alarms have no effect on requests',
  'AWS::CloudWatch::Dashboard': 'dashboards have no effect on requests',
  'AWS::CDK::Metadata': 'CDK bookkeeping',
  'AWS::SSM::Parameter': 'not read by the gateway',
};

// API Gateway quotas: at least 50 ms; a buffered integration may go past 29 s only with a quota
// increase, which a template cannot show, so only the 15 minutes of a streamed one is checked.
// https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
const MAX_STREAM_TIMEOUT_MS = 15 * 60_000;

/** Builds the model of the REST API in a loaded stack. */
export function buildApiModel(stack: LoadedStack, options: ModelOptions): ApiModel {
  const context = createModelContext(stack, options);
  const binaryMediaTypes = checkRestApi(context);
  const stage = chooseStage(context);
  const throttleSettings = stageThrottleSettings(context, stage);
  const stageVariables = stageVariablesOf(context, stage);
  const catalog = functionCatalog(context);
  const { root, nodes } = buildResourceTree(context);
  addMethods(context, nodes, { catalog, authorizers: new Map(), throttleSettings });
  checkThrottledMethodsExist(stage, throttleSettings, nodes);
  const gatewayResponses = gatewayResponsesOf(context);
  const webAcl = stageWebAcl(context, stage);
  listRemainingResources(context, webAcl.listed);
  const { resources, resolver, api } = context;
  const resolve = (value: unknown, where: string) => resolver.resolve(value, where);
  return {
    restApiLogicalId: api.restApiLogicalId,
    apiId: api.apiId,
    stageName: stage.name,
    stageVariables,
    binaryMediaTypes,
    root,
    gatewayResponses,
    throttleSettings,
    functions: catalog.specs,
    environment: context.environment,
    ignored: context.ignored,
    webAcl: webAcl.model,
    secrets: secretsOf(resources, (logicalId) => context.names.secretArn(logicalId), resolve),
    secretGrants: secretGrantsOf(resources, [...catalog.specs.keys()], resolve),
    tables: tablesOf(resources, context.names, resolve),
    tableGrants: roleGrantsOf(resources, [...catalog.specs.keys()], 'dynamodb', resolve),
    lambdaGrants: roleGrantsOf(resources, [...catalog.specs.keys()], 'lambda', resolve),
    asyncInvokeSettings: asyncInvokeSettingsOf(resources, [...catalog.specs.keys()]),
  };
}

/** A template value that must be an object (absent is empty). */
function resolveRecord(context: ModelContext, value: unknown, where: string): Record<string, unknown> {
  return (context.resolver.resolve(value ?? {}, where) as Record<string, unknown>) ?? {};
}

/** A template value that must be a list (absent is empty). */
function resolveList<T>(context: ModelContext, value: unknown, where: string): T[] {
  return (context.resolver.resolve(value ?? [], where) as T[]) ?? [];
}

/** Refuses the RestApi settings that change answers; returns its binary media types. */
function checkRestApi(context: ModelContext): string[] {
  const { restApiLogicalId } = context.api;
  const apiProps = props(context, restApiLogicalId);
  for (const [property, feature] of [
    ['Body', 'an OpenAPI definition (Body)'],
    ['BodyS3Location', 'an OpenAPI definition (BodyS3Location)'],
    ['CloneFrom', 'cloning an API (CloneFrom)'],
    ['Policy', 'a resource policy (Policy)'],
    ['MinimumCompressionSize', 'response compression (MinimumCompressionSize)'],
  ] as const) {
    if (apiProps[property] !== undefined) throw new UnsupportedFeatureError(feature, restApiLogicalId);
  }
  return resolveList<unknown>(context, apiProps.BinaryMediaTypes, `${restApiLogicalId}.BinaryMediaTypes`).map(String);
}

/** A stage of the API: an AWS::ApiGateway::Stage, or the one a Deployment's StageName creates. */
interface StageChoice {
  readonly logicalId: string;
  readonly type: string;
  readonly name: string;
  readonly variables: unknown;
  readonly settings: unknown[];
  readonly canary?: unknown;
}

function stageResource(context: ModelContext, [logicalId, r]: [string, CfnResource]): StageChoice {
  return {
    logicalId,
    type: r.Type,
    name: str(context, r.Properties?.StageName, `${logicalId}.StageName`),
    variables: r.Properties?.Variables,
    settings: (r.Properties?.MethodSettings as unknown[]) ?? [],
    canary: r.Properties?.CanarySetting,
  };
}

function deploymentStage(context: ModelContext, [logicalId, r]: [string, CfnResource]): StageChoice {
  const description = (r.Properties?.StageDescription ?? {}) as Record<string, unknown>;
  return {
    logicalId,
    type: r.Type,
    name: str(context, r.Properties?.StageName, `${logicalId}.StageName`),
    variables: description.Variables,
    // The description's own throttling and caching fields are the stage-wide (`*` on `/*`) method setting.
    settings: [
      {
        HttpMethod: '*',
        ResourcePath: '/*',
        CachingEnabled: description.CachingEnabled,
        ThrottlingRateLimit: description.ThrottlingRateLimit,
        ThrottlingBurstLimit: description.ThrottlingBurstLimit,
      },
      ...((description.MethodSettings as unknown[]) ?? []),
    ],
    canary: description.CanarySetting,
  };
}

/** The one stage to serve: the only one, or the one `stageName` names; the others are listed as ignored. */
function chooseStage(context: ModelContext): StageChoice {
  const { options } = context;
  const { restApiLogicalId } = context.api;
  const stages = ofApi(context, 'AWS::ApiGateway::Stage');
  const inlineStages = ofApi(context, 'AWS::ApiGateway::Deployment').filter(
    ([id]) => props(context, id).StageName !== undefined,
  );
  const stageChoices = [
    ...stages.map((entry) => stageResource(context, entry)),
    ...inlineStages.map((entry) => deploymentStage(context, entry)),
  ];
  const stageMatches = options.stageName ? stageChoices.filter((s) => s.name === options.stageName) : stageChoices;
  if (stageMatches.length !== 1) {
    const known = stageChoices.map((s) => s.name).join(', ') || 'none';
    throw new GatewayStartError(
      stageMatches.length === 0 ? 'TEMPLATE_NOT_FOUND' : 'TEMPLATE_AMBIGUOUS',
      stageMatches.length === 0
        ? `REST API ${restApiLogicalId} has no stage${options.stageName ? ` named ${options.stageName}` : ''} (found: ${known}).`
        : `REST API ${restApiLogicalId} has several stages (${known}); pass stageName to choose one.`,
    );
  }
  const stage = stageMatches[0];
  context.used.add(stage.logicalId);
  if (stage.canary !== undefined)
    throw new UnsupportedFeatureError('a canary deployment (CanarySetting)', stage.logicalId);
  for (const other of stageChoices.filter((s) => s.logicalId !== stage.logicalId)) {
    context.ignored.push({ logicalId: other.logicalId, type: other.type, reason: `another stage than ${stage.name}` });
  }
  return stage;
}

/** The throttling entries of the stage's MethodSettings; caching and duplicate entries are refused. */
function stageThrottleSettings(context: ModelContext, stage: StageChoice): MethodThrottleSetting[] {
  const throttleSettings: MethodThrottleSetting[] = [];
  stage.settings.forEach((setting, index) => {
    const where = `${stage.logicalId}.MethodSettings[${index}]`;
    const resolved = resolveRecord(context, setting, where);
    if (resolved.CachingEnabled === true)
      throw new UnsupportedFeatureError('response caching (CachingEnabled)', stage.logicalId);
    const throttle = methodThrottleSetting(resolved, where);
    if (!throttle) return;
    const duplicate = throttleSettings.find(
      (s) => s.httpMethod === throttle.httpMethod && s.resourcePath === throttle.resourcePath,
    );
    if (duplicate)
      throw new UnsupportedFeatureError(
        `two method settings for ${throttle.httpMethod} ${throttle.resourcePath}`,
        where,
      );
    throttleSettings.push(throttle);
  });
  return throttleSettings;
}

function stageVariablesOf(context: ModelContext, stage: StageChoice): Record<string, string> {
  const variables = resolveRecord(context, stage.variables, `${stage.logicalId}.Variables`);
  return Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)]));
}

/** The API's resources as a tree under its root, and each node by its id. */
function buildResourceTree(context: ModelContext): { root: ResourceNode; nodes: Map<string, ResourceNode> } {
  const { restApiLogicalId, rootId } = context.api;
  const root: ResourceNode = {
    logicalId: restApiLogicalId,
    id: rootId,
    pathPart: '',
    resourcePath: '/',
    children: [],
    methods: new Map(),
  };
  const nodes = new Map<string, ResourceNode>([[rootId, root]]);
  // A resource can come before its parent in the template: attach what can be, until nothing is left.
  let pendingResources = ofApi(context, 'AWS::ApiGateway::Resource');
  while (pendingResources.length > 0) {
    const next = pendingResources.filter(([logicalId]) => !attachResource(context, nodes, logicalId));
    if (next.length === pendingResources.length) {
      throw new UnresolvableValueError(`${next[0][0]}.ParentId`, 'its parent resource is not part of the API');
    }
    pendingResources = next;
  }
  return { root, nodes };
}

/** Adds a resource under its parent; false when the parent is not in the tree yet. */
function attachResource(context: ModelContext, nodes: Map<string, ResourceNode>, logicalId: string): boolean {
  const parent = nodes.get(str(context, props(context, logicalId).ParentId, `${logicalId}.ParentId`));
  if (!parent) return false;
  const pathPart = str(context, props(context, logicalId).PathPart, `${logicalId}.PathPart`);
  const node: ResourceNode = {
    logicalId,
    id: context.names.apiChildId(logicalId),
    pathPart,
    resourcePath: `${parent.resourcePath === '/' ? '' : parent.resourcePath}/${pathPart}`,
    children: [],
    methods: new Map(),
  };
  parent.children.push(node);
  nodes.set(node.id, node);
  context.used.add(logicalId);
  return true;
}

/** What the methods of the API are built from, beyond the context. */
interface MethodInputs {
  readonly catalog: FunctionCatalog;
  /** Authorizers built so far, by logical id, so methods sharing one share its model. */
  readonly authorizers: Map<string, TokenAuthorizerModel>;
  readonly throttleSettings: readonly MethodThrottleSetting[];
}

function addMethods(context: ModelContext, nodes: ReadonlyMap<string, ResourceNode>, inputs: MethodInputs): void {
  for (const [logicalId] of ofApi(context, 'AWS::ApiGateway::Method')) {
    context.used.add(logicalId);
    const p = props(context, logicalId);
    const node = nodes.get(str(context, p.ResourceId, `${logicalId}.ResourceId`));
    if (!node) throw new UnresolvableValueError(`${logicalId}.ResourceId`, 'the resource is not part of the API');
    const httpMethod = str(context, p.HttpMethod, `${logicalId}.HttpMethod`).toUpperCase();
    checkMethodSettings(context, logicalId, p);
    node.methods.set(httpMethod, {
      logicalId,
      httpMethod,
      authorizer: methodAuthorizer(context, inputs, logicalId, p),
      integration: integrationModel(context, inputs.catalog, logicalId, p.Integration),
      throttle: resolveMethodThrottle(inputs.throttleSettings, node.resourcePath, httpMethod),
    });
  }
}

/** Refuses the method features that are not emulated. */
function checkMethodSettings(context: ModelContext, logicalId: string, p: Record<string, unknown>): void {
  if (context.resolver.resolve(p.ApiKeyRequired, `${logicalId}.ApiKeyRequired`) === true)
    throw new UnsupportedFeatureError('required API keys (ApiKeyRequired)', logicalId);
  if (p.RequestValidatorId !== undefined)
    throw new UnsupportedFeatureError('request validation (RequestValidatorId)', logicalId);
  if (p.AuthorizationScopes !== undefined)
    throw new UnsupportedFeatureError('authorization scopes (AuthorizationScopes)', logicalId);
}

/** The method's TOKEN authorizer, for AuthorizationType CUSTOM; none for NONE; any other type is refused. */
function methodAuthorizer(
  context: ModelContext,
  inputs: MethodInputs,
  logicalId: string,
  p: Record<string, unknown>,
): TokenAuthorizerModel | undefined {
  const authorizationType =
    p.AuthorizationType === undefined ? 'NONE' : str(context, p.AuthorizationType, `${logicalId}.AuthorizationType`);
  if (authorizationType === 'NONE') return undefined;
  if (authorizationType !== 'CUSTOM')
    throw new UnsupportedFeatureError(`the ${authorizationType} authorization type`, logicalId);
  const where = `${logicalId}.AuthorizerId`;
  const id = str(context, p.AuthorizerId, where);
  const entry = ofType(context, 'AWS::ApiGateway::Authorizer').find(
    ([authorizerId]) => context.names.ref(authorizerId) === id,
  );
  if (!entry) throw new UnresolvableValueError(where, `authorizer ${id} is not in this stack`);
  const [authorizerLogicalId] = entry;
  let model = inputs.authorizers.get(authorizerLogicalId);
  if (!model) {
    model = tokenAuthorizerModel(context, inputs.catalog, authorizerLogicalId, id);
    inputs.authorizers.set(authorizerLogicalId, model);
  }
  return model;
}

function tokenAuthorizerModel(
  context: ModelContext,
  catalog: FunctionCatalog,
  logicalId: string,
  id: string,
): TokenAuthorizerModel {
  context.used.add(logicalId);
  const p = props(context, logicalId);
  const type = str(context, p.Type, `${logicalId}.Type`);
  if (type !== 'TOKEN' && type !== 'REQUEST')
    throw new UnsupportedFeatureError(
      `a ${type} authorizer`,
      logicalId,
      'only Lambda TOKEN and REQUEST authorizers are emulated',
    );
  const identitySources = identitySourcesOf(
    str(context, p.IdentitySource, `${logicalId}.IdentitySource`),
    type,
    logicalId,
  );
  if (type === 'REQUEST' && p.IdentityValidationExpression !== undefined)
    throw new UnsupportedFeatureError(
      'an IdentityValidationExpression on a REQUEST authorizer',
      logicalId,
      'API Gateway documents it for TOKEN authorizers only',
    );
  const validation =
    p.IdentityValidationExpression === undefined
      ? undefined
      : identityValidation(
          str(context, p.IdentityValidationExpression, `${logicalId}.IdentityValidationExpression`),
          logicalId,
        );
  const ttl =
    p.AuthorizerResultTtlInSeconds === undefined
      ? 300
      : Number(context.resolver.resolve(p.AuthorizerResultTtlInSeconds, `${logicalId}.AuthorizerResultTtlInSeconds`));
  return {
    logicalId,
    id,
    type,
    identitySources,
    validation,
    ttlSeconds: ttl,
    functionLogicalId: functionOfUri(context, catalog, p.AuthorizerUri, `${logicalId}.AuthorizerUri`, false).logicalId,
  };
}

const IDENTITY_SOURCE = /^method\.request\.(header|querystring)\.([A-Za-z0-9!#$%&'*+.^_`|~-]+)$/;

/**
 * A TOKEN authorizer's one header, or a REQUEST authorizer's comma-separated request parameters
 * (stage variables and context values as sources are not emulated).
 */
function identitySourcesOf(text: string, type: 'TOKEN' | 'REQUEST', logicalId: string): readonly IdentitySourceModel[] {
  const parts = type === 'TOKEN' ? [text] : text.split(',').map((part) => part.trim());
  return parts.map((part) => {
    const match = IDENTITY_SOURCE.exec(part);
    if (!match || (type === 'TOKEN' && match[1] !== 'header'))
      throw new UnsupportedFeatureError(`the identity source ${part}`, logicalId);
    return { location: match[1] as 'header' | 'querystring', name: match[2] };
  });
}

/** API Gateway applies the expression as a Java regex to the whole value. */
function identityValidation(expression: string, logicalId: string): RegExp {
  try {
    return new RegExp(`^(?:${expression})$`, 's');
  } catch (error) {
    throw new UnsupportedFeatureError(
      `the validation expression ${expression}`,
      logicalId,
      `it is not a regular expression JavaScript can run (${(error as Error).message})`,
    );
  }
}

/** A setting for a method the API does not have would throttle nothing: most likely a wrong path. */
function checkThrottledMethodsExist(
  stage: StageChoice,
  throttleSettings: readonly MethodThrottleSetting[],
  nodes: ReadonlyMap<string, ResourceNode>,
): void {
  for (const setting of throttleSettings.filter((s) => s.httpMethod !== '*')) {
    const node = [...nodes.values()].find((n) => n.resourcePath === setting.resourcePath);
    if (!node?.methods.has(setting.httpMethod)) {
      throw new UnresolvableValueError(
        `${stage.logicalId}.MethodSettings`,
        `it throttles ${setting.httpMethod} ${setting.resourcePath}, which is not a method of the API`,
      );
    }
  }
}

function headerSource(context: ModelContext, value: unknown, where: string): HeaderSource {
  const resolved = str(context, value, where);
  const literal = /^'(.*)'$/s.exec(resolved);
  if (literal) return { kind: 'static', value: literal[1] };
  const request = /^method\.request\.(header|querystring|path)\.(.+)$/.exec(resolved);
  if (request) return { kind: 'request', location: request[1] as 'header' | 'querystring' | 'path', name: request[2] };
  const stageVariable = /^stageVariables\.(.+)$/.exec(resolved);
  if (stageVariable) return { kind: 'stageVariable', name: stageVariable[1] };
  throw new UnsupportedFeatureError(`the header mapping ${resolved}`, where);
}

const METHOD_RESPONSE_HEADER = /^method\.response\.header\.(.+)$/;
const GATEWAY_RESPONSE_HEADER = /^gatewayresponse\.header\.(.+)$/;

/**
 * The response headers a set of ResponseParameters maps (keys matching `key`, the header name its
 * group), refusing any other parameter; `kind` names them in that error.
 */
function responseHeaders(
  context: ModelContext,
  parameters: Record<string, unknown>,
  key: RegExp,
  kind: string,
  where: string,
): Array<[string, HeaderSource]> {
  return Object.entries(parameters).map(([name, value]): [string, HeaderSource] => {
    const header = key.exec(name);
    if (!header) throw new UnsupportedFeatureError(`the ${kind} ${name}`, where);
    return [header[1], headerSource(context, value, `${where}.ResponseParameters.${name}`)];
  });
}

function compileTemplates(context: ModelContext, value: unknown, where: string): Array<[string, CompiledTemplate]> {
  return Object.entries(resolveRecord(context, value, where)).map(([contentType, source]) => {
    try {
      return [contentType, CompiledTemplate.compile(String(source))];
    } catch (error) {
      if (error instanceof UnsupportedTemplateError)
        throw new UnsupportedFeatureError(`a mapping template it cannot evaluate (${error.message})`, where);
      throw error;
    }
  });
}

function integrationModel(
  context: ModelContext,
  catalog: FunctionCatalog,
  logicalId: string,
  raw: unknown,
): IntegrationModel {
  if (raw === undefined) throw new UnsupportedFeatureError('a method without an integration', logicalId);
  const integration = raw as Record<string, unknown>;
  const type = str(context, integration.Type, `${logicalId}.Integration.Type`);
  if (
    integration.ConnectionType !== undefined &&
    str(context, integration.ConnectionType, `${logicalId}.Integration.ConnectionType`) !== 'INTERNET'
  ) {
    throw new UnsupportedFeatureError('a VPC link integration', logicalId);
  }
  if (type === 'AWS_PROXY') return lambdaProxyModel(context, catalog, logicalId, integration);
  if (type !== 'MOCK')
    throw new UnsupportedFeatureError(
      `a ${type} integration`,
      logicalId,
      'only AWS_PROXY (Lambda proxy) and MOCK integrations are emulated',
    );
  return mockModel(context, logicalId, integration);
}

/**
 * A Lambda proxy integration, buffered (Invoke) or streamed (InvokeWithResponseStream). The
 * transfer mode and the URI must agree, as CDK's LambdaIntegration writes them; a mix is refused
 * because what API Gateway does with it is not documented.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode-lambda.html
 */
function lambdaProxyModel(
  context: ModelContext,
  catalog: FunctionCatalog,
  logicalId: string,
  integration: Record<string, unknown>,
): IntegrationModel {
  const where = `${logicalId}.Integration`;
  const mode =
    integration.ResponseTransferMode === undefined
      ? 'BUFFERED'
      : str(context, integration.ResponseTransferMode, `${where}.ResponseTransferMode`);
  if (mode !== 'BUFFERED' && mode !== 'STREAM')
    throw new UnsupportedFeatureError(`the response transfer mode ${mode}`, logicalId);
  const { logicalId: functionLogicalId, streaming } = functionOfUri(
    context,
    catalog,
    integration.Uri,
    `${where}.Uri`,
    true,
  );
  const streamed = mode === 'STREAM';
  if (streaming !== streamed) {
    throw new UnsupportedFeatureError(
      streamed
        ? 'ResponseTransferMode STREAM with the Invoke URI (2015-03-31/.../invocations)'
        : 'the streaming URI (.../response-streaming-invocations) without ResponseTransferMode STREAM',
      logicalId,
      'use LambdaIntegration(fn, { responseTransferMode }) so the URI matches the mode',
    );
  }
  const timeoutMs =
    integration.TimeoutInMillis === undefined
      ? 29_000
      : Number(context.resolver.resolve(integration.TimeoutInMillis, `${where}.TimeoutInMillis`));
  if (!Number.isInteger(timeoutMs) || timeoutMs < 50 || (streamed && timeoutMs > MAX_STREAM_TIMEOUT_MS)) {
    throw new UnresolvableValueError(
      `${where}.TimeoutInMillis`,
      `${timeoutMs} is outside what API Gateway allows (50 ms or more, at most ${MAX_STREAM_TIMEOUT_MS} ms when streaming)`,
    );
  }
  return { kind: 'lambda-proxy', functionLogicalId, timeoutMs, transferMode: streamed ? 'stream' : 'buffered' };
}

/** A MOCK integration: the status its request template selects, and its integration responses. */
function mockModel(context: ModelContext, logicalId: string, integration: Record<string, unknown>): IntegrationModel {
  const requestTemplates = resolveRecord(
    context,
    integration.RequestTemplates,
    `${logicalId}.Integration.RequestTemplates`,
  );
  const requestTemplate = String(requestTemplates['application/json'] ?? Object.values(requestTemplates)[0] ?? '');
  let statusCode = 200;
  if (requestTemplate.trim() !== '') {
    const match = /^\s*\{\s*["']?statusCode["']?\s*:\s*(\d{3})\s*\}\s*$/.exec(requestTemplate);
    if (!match)
      throw new UnsupportedFeatureError(`a MOCK request template it cannot evaluate (${requestTemplate})`, logicalId);
    statusCode = Number(match[1]);
  }
  const responses = resolveList<Record<string, unknown>>(
    context,
    integration.IntegrationResponses,
    `${logicalId}.Integration.IntegrationResponses`,
  ).map((response, index) =>
    mockResponseModel(context, response, `${logicalId}.Integration.IntegrationResponses[${index}]`),
  );
  return { kind: 'mock', statusCode, responses };
}

function mockResponseModel(context: ModelContext, response: Record<string, unknown>, where: string): MockResponseModel {
  if (response.ContentHandling !== undefined)
    throw new UnsupportedFeatureError('content handling on a MOCK response', where);
  const headers = responseHeaders(
    context,
    (response.ResponseParameters ?? {}) as Record<string, unknown>,
    METHOD_RESPONSE_HEADER,
    'response parameter',
    where,
  );
  return {
    selectionPattern:
      response.SelectionPattern === undefined || response.SelectionPattern === ''
        ? undefined
        : new RegExp(`^(?:${String(response.SelectionPattern)})$`, 's'),
    statusCode: Number(response.StatusCode),
    headers,
    templates: compileTemplates(context, response.ResponseTemplates, `${where}.ResponseTemplates`),
  };
}

/** The API's custom gateway responses, by response type. */
function gatewayResponsesOf(context: ModelContext): Map<string, CustomGatewayResponse> {
  const gatewayResponses = new Map<string, CustomGatewayResponse>();
  for (const [logicalId] of ofApi(context, 'AWS::ApiGateway::GatewayResponse')) {
    context.used.add(logicalId);
    const p = props(context, logicalId);
    const type = str(context, p.ResponseType, `${logicalId}.ResponseType`);
    const headers = responseHeaders(
      context,
      resolveRecord(context, p.ResponseParameters, `${logicalId}.ResponseParameters`),
      GATEWAY_RESPONSE_HEADER,
      'gateway response parameter',
      logicalId,
    );
    gatewayResponses.set(type, {
      logicalId,
      type,
      statusCode:
        p.StatusCode === undefined ? undefined : Number(str(context, p.StatusCode, `${logicalId}.StatusCode`)),
      headers,
      templates: Object.entries(resolveRecord(context, p.ResponseTemplates, `${logicalId}.ResponseTemplates`)).map(
        ([contentType, source]): [string, SubstitutionTemplate] => [
          contentType,
          SubstitutionTemplate.compile(String(source)),
        ],
      ),
    });
  }
  return gatewayResponses;
}

/** The AWS WAF web ACL associated with the stage, and the WAF resources listed as ignored. */
function stageWebAcl(context: ModelContext, stage: StageChoice): { model?: WebAclModel; listed: Set<string> } {
  const { environment, api } = context;
  const stageArn = `arn:${environment.partition}:apigateway:${environment.region}::/restapis/${api.apiId}/stages/${stage.name}`;
  const waf = webAclForStage(
    context.resources,
    stageArn,
    (logicalId) => context.names.webAclArn(logicalId),
    (value, where) => context.resolver.resolve(value, where),
  );
  for (const logicalId of waf.used) context.used.add(logicalId);
  context.ignored.push(...waf.ignored);
  return { model: waf.webAcl, listed: new Set(waf.ignored.map((item) => item.logicalId)) };
}

/** Everything the model has not accounted for: refuses what changes behaviour, lists what does not. */
function listRemainingResources(context: ModelContext, alreadyListed: ReadonlySet<string>): void {
  for (const [logicalId, resource] of Object.entries(context.resources)) {
    if (context.used.has(logicalId) || alreadyListed.has(logicalId)) continue;
    const type = resource.Type;
    if (type === 'AWS::ApiGateway::RequestValidator' && belongsToApi(context, logicalId)) {
      context.ignored.push({ logicalId, type, reason: 'no served method uses it' });
      continue;
    }
    // Served by the local Secrets Manager and DynamoDB endpoints; not listed.
    if (type === 'AWS::SecretsManager::Secret' || type === 'AWS::DynamoDB::Table') continue;
    // Read for the local Lambda endpoint's asynchronous queue; not listed.
    if (type === 'AWS::Lambda::EventInvokeConfig') continue;
    const reason =
      NO_REQUEST_TIME_EFFECT[type] ??
      (type === 'AWS::Lambda::Function'
        ? 'not invoked by the API'
        : type === 'AWS::ApiGateway::Deployment'
          ? 'deployments only snapshot the API'
          : type.startsWith('AWS::ApiGateway::') && !belongsToApi(context, logicalId)
            ? 'belongs to another REST API'
            : 'not part of the request path');
    context.ignored.push({ logicalId, type, reason });
  }
}
