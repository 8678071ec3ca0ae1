/**
 * The REST API a synthesized template describes, as the local gateway serves it: resources and
 * methods, TOKEN authorizers, gateway responses, MOCK and AWS_PROXY integrations, the stage, and
 * the Lambda functions they invoke. Building the model is where every unsupported feature is
 * found, so the gateway fails at start rather than answer differently from AWS.
 */
import type { LocalSecret } from '../aws/secrets-manager';
import { secretGrantsOf, secretsOf, type SecretGrants } from './secrets';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GatewayStartError, UnresolvableValueError, UnsupportedFeatureError } from './errors';
import type { CustomGatewayResponse, HeaderSource } from './gateway-responses';
import type { LocalFunctionSpec } from './lambda-runtime';
import {
  type CfnResource,
  type DeploymentEnvironment,
  IntrinsicResolver,
  type LoadedStack,
  type PhysicalValues,
} from './template';
import {
  type MethodThrottle,
  type MethodThrottleSetting,
  methodThrottleSetting,
  resolveMethodThrottle,
} from './throttle';
import { SubstitutionTemplate } from './substitution-template';
import { CompiledTemplate, UnsupportedTemplateError } from './vtl';
import { webAclForStage, type WebAclModel } from './waf';

export interface TokenAuthorizerModel {
  readonly logicalId: string;
  readonly id: string;
  /** The request header holding the token (`method.request.header.<name>`). */
  readonly headerName: string;
  /** Java-style full match of the token value; absent means every non-empty value goes to the Lambda. */
  readonly validation?: RegExp;
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

export interface IgnoredResource {
  readonly logicalId: string;
  readonly type: string;
  readonly reason: string;
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
}

export interface ModelOptions {
  readonly region: string;
  readonly accountId: string;
  /** Which RestApi to serve when the stack has several (logical id). */
  readonly restApiLogicalId?: string;
  /** Which stage to serve when the API has several. */
  readonly stageName?: string;
  /**
   * Environment overrides applied over the template's values, keyed by `*` (every function),
   * the logical id without CDK's hash suffix (`McpFunction` for `McpFunction1A2B3C4D`), the
   * function name or the logical id; later keys in that list win.
   */
  readonly environmentOverrides?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Where inline (`ZipFile`) code is written. */
  readonly scratchDir: string;
  /**
   * The local origin (`http://127.0.0.1:8787`) that stands for the API's execute-api origin
   * (`https://<api-id>.execute-api.<region>.<url-suffix>`): every value the template builds from
   * that origin resolves to this one instead. @default - values keep the execute-api origin
   */
  readonly executeApiOrigin?: string;
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

function shortId(seed: string, length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const digest = createHash('sha256').update(seed).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[digest[i] % alphabet.length];
  return out;
}

// API Gateway quotas: at least 50 ms; a buffered integration may go past 29 s only with a quota
// increase, which a template cannot show, so only the 15 minutes of a streamed one is checked.
// https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
const MAX_STREAM_TIMEOUT_MS = 15 * 60_000;

const LAMBDA_ARN = /^arn:[^:]+:lambda:[^:]+:[^:]+:function:([^:]+)(?::[^:]+)?$/;

/** Builds the model of the REST API in a loaded stack. */
export function buildApiModel(stack: LoadedStack, options: ModelOptions): ApiModel {
  const { template } = stack;
  const resources = template.Resources;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const environment: DeploymentEnvironment = {
    region: options.region,
    accountId: options.accountId,
    partition: 'aws',
    urlSuffix: 'amazonaws.com',
    stackName: stack.stackName,
  };

  const restApis = ofType('AWS::ApiGateway::RestApi');
  const chosenApis = options.restApiLogicalId ? restApis.filter(([id]) => id === options.restApiLogicalId) : restApis;
  if (chosenApis.length !== 1) {
    const known = restApis.map(([id]) => id).join(', ') || 'none';
    throw new GatewayStartError(
      chosenApis.length === 0 ? 'TEMPLATE_NOT_FOUND' : 'TEMPLATE_AMBIGUOUS',
      chosenApis.length === 0
        ? `Stack ${stack.stackName} has no AWS::ApiGateway::RestApi${options.restApiLogicalId ? ` named ${options.restApiLogicalId}` : ''} (found: ${known}).`
        : `Stack ${stack.stackName} has several REST APIs (${known}); pass restApiLogicalId to choose one.`,
    );
  }
  const [restApiLogicalId] = chosenApis[0];
  const apiId = shortId(`${stack.stackName}/${restApiLogicalId}`, 10);
  const rootId = shortId(`${apiId}/root`, 10);

  // Function names and ARNs are needed to resolve other values, so they are computed on demand.
  const functionNames = new Map<string, string>();
  let resolver: IntrinsicResolver;
  const functionName = (logicalId: string): string => {
    let name = functionNames.get(logicalId);
    if (name === undefined) {
      const declared = resources[logicalId].Properties?.FunctionName;
      name =
        declared !== undefined
          ? resolver.resolveString(declared, `${logicalId}.FunctionName`)
          : `${stack.stackName}-${logicalId}`.slice(0, 64);
      functionNames.set(logicalId, name);
    }
    return name;
  };
  const webAclName = (logicalId: string) =>
    resources[logicalId].Properties?.Name !== undefined
      ? resolver.resolveString(resources[logicalId].Properties?.Name, `${logicalId}.Name`)
      : `${logicalId}-${shortId(logicalId, 12)}`;
  const webAclArn = (logicalId: string) =>
    `arn:aws:wafv2:${options.region}:${options.accountId}:regional/webacl/${webAclName(logicalId)}/${shortId(`${stack.stackName}/${logicalId}/id`, 36)}`;
  const functionArn = (logicalId: string) =>
    `arn:aws:lambda:${options.region}:${options.accountId}:function:${functionName(logicalId)}`;

  const physical: PhysicalValues = {
    ref(logicalId) {
      const resource = resources[logicalId];
      if (!resource) return undefined;
      switch (resource.Type) {
        case 'AWS::ApiGateway::RestApi':
          return logicalId === restApiLogicalId ? apiId : shortId(`${stack.stackName}/${logicalId}`, 10);
        case 'AWS::ApiGateway::Resource':
        case 'AWS::ApiGateway::Authorizer':
        case 'AWS::ApiGateway::Deployment':
        case 'AWS::ApiGateway::Method':
        case 'AWS::ApiGateway::RequestValidator':
        case 'AWS::ApiGateway::Model':
          return shortId(`${apiId}/${logicalId}`, 6);
        case 'AWS::ApiGateway::Stage':
          return resolver.resolveString(resource.Properties?.StageName, `${logicalId}.StageName`);
        case 'AWS::Lambda::Function':
          return functionName(logicalId);
        case 'AWS::Lambda::Alias':
        case 'AWS::Lambda::Version': {
          const target = resolver.resolveString(resource.Properties?.FunctionName, `${logicalId}.FunctionName`);
          const qualifier =
            resource.Type === 'AWS::Lambda::Alias'
              ? resolver.resolveString(resource.Properties?.Name, `${logicalId}.Name`)
              : '1';
          const base = target.startsWith('arn:')
            ? target
            : `arn:aws:lambda:${options.region}:${options.accountId}:function:${target}`;
          return `${base}:${qualifier}`;
        }
        case 'AWS::IAM::Role':
          return `${stack.stackName}-${logicalId}`.slice(0, 64);
        case 'AWS::SecretsManager::Secret':
          // The ARN a function is given; what it reads there is up to the local runner.
          return `arn:aws:secretsmanager:${options.region}:${options.accountId}:secret:${stack.stackName}-${logicalId}-${shortId(logicalId, 6)}`;
        case 'AWS::WAFv2::WebACL':
          // CloudFormation's Ref of a web ACL is `name|id|scope`.
          return `${webAclName(logicalId)}|${shortId(`${stack.stackName}/${logicalId}/id`, 36)}|${resolver.resolveString(resource.Properties?.Scope ?? 'REGIONAL', `${logicalId}.Scope`)}`;
        case 'AWS::Logs::LogGroup':
          return resource.Properties?.LogGroupName !== undefined
            ? resolver.resolveString(resource.Properties.LogGroupName, `${logicalId}.LogGroupName`)
            : `${stack.stackName}-${logicalId}`;
        default:
          return undefined;
      }
    },
    getAtt(logicalId, attribute) {
      const resource = resources[logicalId];
      if (!resource) return undefined;
      switch (`${resource.Type}.${attribute}`) {
        case 'AWS::ApiGateway::RestApi.RootResourceId':
          return logicalId === restApiLogicalId ? rootId : shortId(`${logicalId}/root`, 10);
        case 'AWS::ApiGateway::RestApi.RestApiId':
        case 'AWS::ApiGateway::Resource.ResourceId':
        case 'AWS::ApiGateway::Authorizer.AuthorizerId':
        case 'AWS::ApiGateway::Deployment.DeploymentId':
          return physical.ref(logicalId);
        case 'AWS::Lambda::Function.Arn':
          return functionArn(logicalId);
        case 'AWS::IAM::Role.Arn':
          return `arn:aws:iam::${options.accountId}:role/${physical.ref(logicalId)}`;
        case 'AWS::WAFv2::WebACL.Arn':
          return webAclArn(logicalId);
        case 'AWS::WAFv2::WebACL.Id':
          return shortId(`${stack.stackName}/${logicalId}/id`, 36);
        case 'AWS::Logs::LogGroup.Arn':
          return `arn:aws:logs:${options.region}:${options.accountId}:log-group:${physical.ref(logicalId)}:*`;
        default:
          return undefined;
      }
    },
  };
  const deployedOrigin = `https://${apiId}.execute-api.${environment.region}.${environment.urlSuffix}`;
  const localOrigin = options.executeApiOrigin;
  resolver = new IntrinsicResolver(
    template,
    environment,
    physical,
    localOrigin === undefined ? undefined : (built) => built.split(deployedOrigin).join(localOrigin),
  );
  const str = (value: unknown, where: string) => resolver.resolveString(value, where);
  const props = (logicalId: string) => (resources[logicalId].Properties ?? {}) as Record<string, unknown>;
  const belongsToApi = (logicalId: string) => {
    const restApiId = props(logicalId).RestApiId;
    return restApiId !== undefined && str(restApiId, `${logicalId}.RestApiId`) === apiId;
  };
  const ignored: IgnoredResource[] = [];
  const used = new Set<string>([restApiLogicalId]);

  // --- The RestApi itself ---
  const apiProps = props(restApiLogicalId);
  for (const [property, feature] of [
    ['Body', 'an OpenAPI definition (Body)'],
    ['BodyS3Location', 'an OpenAPI definition (BodyS3Location)'],
    ['CloneFrom', 'cloning an API (CloneFrom)'],
    ['Policy', 'a resource policy (Policy)'],
    ['MinimumCompressionSize', 'response compression (MinimumCompressionSize)'],
  ] as const) {
    if (apiProps[property] !== undefined) throw new UnsupportedFeatureError(feature, restApiLogicalId);
  }
  const binaryMediaTypes = (
    (resolver.resolve(apiProps.BinaryMediaTypes ?? [], `${restApiLogicalId}.BinaryMediaTypes`) as unknown[]) ?? []
  ).map(String);

  // --- Stage ---
  const stages = ofType('AWS::ApiGateway::Stage').filter(([id]) => belongsToApi(id));
  const inlineStages = ofType('AWS::ApiGateway::Deployment').filter(
    ([id]) => belongsToApi(id) && props(id).StageName !== undefined,
  );
  type StageChoice = { logicalId: string; name: string; variables: unknown; settings: unknown[]; canary?: unknown };
  const stageChoices: StageChoice[] = [
    ...stages.map(([id, r]) => ({
      logicalId: id,
      name: str(r.Properties?.StageName, `${id}.StageName`),
      variables: r.Properties?.Variables,
      settings: (r.Properties?.MethodSettings as unknown[]) ?? [],
      canary: r.Properties?.CanarySetting,
    })),
    ...inlineStages.map(([id, r]) => {
      const description = (r.Properties?.StageDescription ?? {}) as Record<string, unknown>;
      return {
        logicalId: id,
        name: str(r.Properties?.StageName, `${id}.StageName`),
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
    }),
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
  used.add(stage.logicalId);
  if (stage.canary !== undefined)
    throw new UnsupportedFeatureError('a canary deployment (CanarySetting)', stage.logicalId);
  const throttleSettings: MethodThrottleSetting[] = [];
  stage.settings.forEach((setting, index) => {
    const where = `${stage.logicalId}.MethodSettings[${index}]`;
    const resolved = (resolver.resolve(setting, where) as Record<string, unknown>) ?? {};
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
  const stageVariables = Object.fromEntries(
    Object.entries(
      (resolver.resolve(stage.variables ?? {}, `${stage.logicalId}.Variables`) as Record<string, unknown>) ?? {},
    ).map(([k, v]) => [k, String(v)]),
  );
  ignored.push(
    ...[...stages, ...inlineStages]
      .filter(([id]) => id !== stage.logicalId)
      .map(([logicalId, r]) => ({ logicalId, type: r.Type, reason: `another stage than ${stage.name}` })),
  );

  // --- Functions, created as integrations and authorizers reference them ---
  const functionLogicalIdsByName = new Map<string, string>();
  for (const [logicalId] of ofType('AWS::Lambda::Function'))
    functionLogicalIdsByName.set(functionName(logicalId), logicalId);
  const functions = new Map<string, LocalFunctionSpec>();
  const overrides = options.environmentOverrides ?? {};

  /** The function an Invoke URI names; `allowStreaming` also accepts InvokeWithResponseStream URIs. */
  const lambdaUri = (uri: unknown, where: string): { logicalId: string; streaming: boolean } => {
    const resolved = str(uri, where);
    const invoke = /:lambda:path\/2015-03-31\/functions\/(.+)\/invocations$/.exec(resolved);
    const stream = /:lambda:path\/2021-11-15\/functions\/(.+)\/response-streaming-invocations$/.exec(resolved);
    const arn = LAMBDA_ARN.exec((invoke ?? stream)?.[1] ?? '');
    if (!arn)
      throw new UnsupportedFeatureError(`an integration URI that is not a Lambda function (${resolved})`, where);
    const logicalId = functionLogicalIdsByName.get(arn[1]);
    if (!logicalId) throw new UnresolvableValueError(where, `function ${arn[1]} is not defined in this stack`);
    addFunction(logicalId);
    return { logicalId, streaming: stream !== null };
  };

  const functionFromUri = (uri: unknown, where: string): string => {
    const resolved = str(uri, where);
    const match = /:lambda:path\/2015-03-31\/functions\/(.+)\/invocations$/.exec(resolved);
    const arn = match ? LAMBDA_ARN.exec(match[1]) : null;
    if (!arn)
      throw new UnsupportedFeatureError(`an integration URI that is not a Lambda function (${resolved})`, where);
    const logicalId = functionLogicalIdsByName.get(arn[1]);
    if (!logicalId) throw new UnresolvableValueError(where, `function ${arn[1]} is not defined in this stack`);
    addFunction(logicalId);
    return logicalId;
  };

  const addFunction = (logicalId: string): void => {
    if (functions.has(logicalId)) return;
    used.add(logicalId);
    const p = props(logicalId);
    const runtime = str(p.Runtime, `${logicalId}.Runtime`);
    if (!/^nodejs\d+\.x$/.test(runtime))
      throw new UnsupportedFeatureError(
        `the Lambda runtime ${runtime}`,
        logicalId,
        'only Node.js functions run locally',
      );
    if (p.PackageType === 'Image')
      throw new UnsupportedFeatureError('container image functions (PackageType Image)', logicalId);
    if (p.Layers !== undefined) throw new UnsupportedFeatureError('Lambda layers (Layers)', logicalId);
    if (p.FileSystemConfigs !== undefined)
      throw new UnsupportedFeatureError('EFS file systems (FileSystemConfigs)', logicalId);
    const name = functionName(logicalId);
    // CDK logical ids end in an 8-digit hex hash; the id without it is stable across edits.
    const unhashed = /^(.+)[0-9A-F]{8}$/.exec(logicalId)?.[1];
    const override = {
      ...(overrides['*'] ?? {}),
      ...(unhashed ? (overrides[unhashed] ?? {}) : {}),
      ...(overrides[name] ?? {}),
      ...(overrides[logicalId] ?? {}),
    };
    const declared = ((p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
      {}) as Record<string, unknown>;
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(declared)) {
      if (key in override) continue;
      env[key] = str(value, `${logicalId}.Environment.Variables.${key}`);
    }
    Object.assign(env, override);
    functions.set(logicalId, {
      logicalId,
      functionName: name,
      arn: functionArn(logicalId),
      codeDir: codeDirectory(logicalId, resources[logicalId]),
      handler: str(p.Handler, `${logicalId}.Handler`),
      runtime,
      timeoutSeconds: p.Timeout === undefined ? 3 : Number(resolver.resolve(p.Timeout, `${logicalId}.Timeout`)),
      memoryMb: p.MemorySize === undefined ? 128 : Number(resolver.resolve(p.MemorySize, `${logicalId}.MemorySize`)),
      reservedConcurrency:
        p.ReservedConcurrentExecutions === undefined
          ? undefined
          : Number(resolver.resolve(p.ReservedConcurrentExecutions, `${logicalId}.ReservedConcurrentExecutions`)),
      environment: env,
      region: options.region,
    });
  };

  const codeDirectory = (logicalId: string, resource: CfnResource): string => {
    const code = (resource.Properties?.Code ?? {}) as Record<string, unknown>;
    if (code.ZipFile !== undefined) {
      const dir = path.join(options.scratchDir, `inline-${logicalId}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'index.js'), str(code.ZipFile, `${logicalId}.Code.ZipFile`));
      return dir;
    }
    if (code.ImageUri !== undefined)
      throw new UnsupportedFeatureError('container image functions (Code.ImageUri)', logicalId);
    const metadataPath = resource.Metadata?.['aws:asset:path'];
    let assetPath = typeof metadataPath === 'string' ? path.resolve(stack.assemblyDir, metadataPath) : undefined;
    if (!assetPath && code.S3Key !== undefined)
      assetPath = stack.assetPathByObjectKey.get(str(code.S3Key, `${logicalId}.Code.S3Key`));
    if (!assetPath || !fs.existsSync(assetPath)) {
      throw new GatewayStartError(
        'ASSET_NOT_FOUND',
        `The code of function ${logicalId} is not in ${stack.assemblyDir} (no asset matches its S3Key or aws:asset:path). Synthesize with bundling enabled.`,
      );
    }
    if (!fs.statSync(assetPath).isDirectory()) {
      throw new UnsupportedFeatureError(
        'a zip-file code asset',
        logicalId,
        `${assetPath} is not a folder; use a folder or a bundled NodejsFunction`,
      );
    }
    return assetPath;
  };

  // --- Authorizers ---
  const authorizers = new Map<string, TokenAuthorizerModel>();
  const authorizerFor = (id: string, where: string): TokenAuthorizerModel => {
    const entry = ofType('AWS::ApiGateway::Authorizer').find(([logicalId]) => physical.ref(logicalId) === id);
    if (!entry) throw new UnresolvableValueError(where, `authorizer ${id} is not in this stack`);
    const [logicalId] = entry;
    const existing = authorizers.get(logicalId);
    if (existing) return existing;
    used.add(logicalId);
    const p = props(logicalId);
    const type = str(p.Type, `${logicalId}.Type`);
    if (type !== 'TOKEN')
      throw new UnsupportedFeatureError(`a ${type} authorizer`, logicalId, 'only TOKEN authorizers are emulated');
    const identitySource = str(p.IdentitySource, `${logicalId}.IdentitySource`);
    const header = /^method\.request\.header\.([A-Za-z0-9!#$%&'*+.^_`|~-]+)$/.exec(identitySource);
    if (!header) throw new UnsupportedFeatureError(`the identity source ${identitySource}`, logicalId);
    let validation: RegExp | undefined;
    if (p.IdentityValidationExpression !== undefined) {
      const expression = str(p.IdentityValidationExpression, `${logicalId}.IdentityValidationExpression`);
      try {
        // API Gateway applies the expression as a Java regex to the whole value.
        validation = new RegExp(`^(?:${expression})$`, 's');
      } catch (error) {
        throw new UnsupportedFeatureError(
          `the validation expression ${expression}`,
          logicalId,
          `it is not a regular expression JavaScript can run (${(error as Error).message})`,
        );
      }
    }
    const ttl =
      p.AuthorizerResultTtlInSeconds === undefined
        ? 300
        : Number(resolver.resolve(p.AuthorizerResultTtlInSeconds, `${logicalId}.AuthorizerResultTtlInSeconds`));
    const model: TokenAuthorizerModel = {
      logicalId,
      id,
      headerName: header[1],
      validation,
      ttlSeconds: ttl,
      functionLogicalId: functionFromUri(p.AuthorizerUri, `${logicalId}.AuthorizerUri`),
    };
    authorizers.set(logicalId, model);
    return model;
  };

  // --- Resources ---
  const root: ResourceNode = {
    logicalId: restApiLogicalId,
    id: rootId,
    pathPart: '',
    resourcePath: '/',
    children: [],
    methods: new Map(),
  };
  const nodesById = new Map<string, ResourceNode>([[rootId, root]]);
  let pendingResources = ofType('AWS::ApiGateway::Resource').filter(([id]) => belongsToApi(id));
  while (pendingResources.length > 0) {
    const next = pendingResources.filter(([logicalId]) => {
      const parent = nodesById.get(str(props(logicalId).ParentId, `${logicalId}.ParentId`));
      if (!parent) return true;
      const pathPart = str(props(logicalId).PathPart, `${logicalId}.PathPart`);
      const node: ResourceNode = {
        logicalId,
        id: physical.ref(logicalId)!,
        pathPart,
        resourcePath: `${parent.resourcePath === '/' ? '' : parent.resourcePath}/${pathPart}`,
        children: [],
        methods: new Map(),
      };
      parent.children.push(node);
      nodesById.set(node.id, node);
      used.add(logicalId);
      return false;
    });
    if (next.length === pendingResources.length) {
      throw new UnresolvableValueError(`${next[0][0]}.ParentId`, 'its parent resource is not part of the API');
    }
    pendingResources = next;
  }

  // --- Methods ---
  for (const [logicalId] of ofType('AWS::ApiGateway::Method').filter(([id]) => belongsToApi(id))) {
    used.add(logicalId);
    const p = props(logicalId);
    const node = nodesById.get(str(p.ResourceId, `${logicalId}.ResourceId`));
    if (!node) throw new UnresolvableValueError(`${logicalId}.ResourceId`, 'the resource is not part of the API');
    const httpMethod = str(p.HttpMethod, `${logicalId}.HttpMethod`).toUpperCase();
    if (resolver.resolve(p.ApiKeyRequired, `${logicalId}.ApiKeyRequired`) === true)
      throw new UnsupportedFeatureError('required API keys (ApiKeyRequired)', logicalId);
    if (p.RequestValidatorId !== undefined)
      throw new UnsupportedFeatureError('request validation (RequestValidatorId)', logicalId);
    if (p.AuthorizationScopes !== undefined)
      throw new UnsupportedFeatureError('authorization scopes (AuthorizationScopes)', logicalId);
    const authorizationType =
      p.AuthorizationType === undefined ? 'NONE' : str(p.AuthorizationType, `${logicalId}.AuthorizationType`);
    let authorizer: TokenAuthorizerModel | undefined;
    if (authorizationType === 'CUSTOM') {
      authorizer = authorizerFor(str(p.AuthorizerId, `${logicalId}.AuthorizerId`), `${logicalId}.AuthorizerId`);
    } else if (authorizationType !== 'NONE') {
      throw new UnsupportedFeatureError(`the ${authorizationType} authorization type`, logicalId);
    }
    node.methods.set(httpMethod, {
      logicalId,
      httpMethod,
      authorizer,
      integration: integrationModel(logicalId, p.Integration),
      throttle: resolveMethodThrottle(throttleSettings, node.resourcePath, httpMethod),
    });
  }
  // A setting for a method the API does not have would throttle nothing: most likely a wrong path.
  for (const setting of throttleSettings.filter((s) => s.httpMethod !== '*')) {
    const node = [...nodesById.values()].find((n) => n.resourcePath === setting.resourcePath);
    if (!node?.methods.has(setting.httpMethod)) {
      throw new UnresolvableValueError(
        `${stage.logicalId}.MethodSettings`,
        `it throttles ${setting.httpMethod} ${setting.resourcePath}, which is not a method of the API`,
      );
    }
  }

  function headerSource(value: unknown, where: string): HeaderSource {
    const resolved = str(value, where);
    const literal = /^'(.*)'$/s.exec(resolved);
    if (literal) return { kind: 'static', value: literal[1] };
    const request = /^method\.request\.(header|querystring|path)\.(.+)$/.exec(resolved);
    if (request)
      return { kind: 'request', location: request[1] as 'header' | 'querystring' | 'path', name: request[2] };
    const stageVariable = /^stageVariables\.(.+)$/.exec(resolved);
    if (stageVariable) return { kind: 'stageVariable', name: stageVariable[1] };
    throw new UnsupportedFeatureError(`the header mapping ${resolved}`, where);
  }

  function compileTemplates(value: unknown, where: string): Array<[string, CompiledTemplate]> {
    const templates = (resolver.resolve(value ?? {}, where) as Record<string, unknown>) ?? {};
    return Object.entries(templates).map(([contentType, source]) => {
      try {
        return [contentType, CompiledTemplate.compile(String(source))];
      } catch (error) {
        if (error instanceof UnsupportedTemplateError)
          throw new UnsupportedFeatureError(`a mapping template it cannot evaluate (${error.message})`, where);
        throw error;
      }
    });
  }

  /**
   * A Lambda proxy integration, buffered (Invoke) or streamed (InvokeWithResponseStream). The
   * transfer mode and the URI must agree, as CDK's LambdaIntegration writes them; a mix is refused
   * because what API Gateway does with it is not documented.
   * https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode-lambda.html
   */
  function lambdaProxyModel(logicalId: string, integration: Record<string, unknown>): IntegrationModel {
    const where = `${logicalId}.Integration`;
    const mode =
      integration.ResponseTransferMode === undefined
        ? 'BUFFERED'
        : str(integration.ResponseTransferMode, `${where}.ResponseTransferMode`);
    if (mode !== 'BUFFERED' && mode !== 'STREAM')
      throw new UnsupportedFeatureError(`the response transfer mode ${mode}`, logicalId);
    const { logicalId: functionLogicalId, streaming } = lambdaUri(integration.Uri, `${where}.Uri`);
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
        : Number(resolver.resolve(integration.TimeoutInMillis, `${where}.TimeoutInMillis`));
    if (!Number.isInteger(timeoutMs) || timeoutMs < 50 || (streamed && timeoutMs > MAX_STREAM_TIMEOUT_MS)) {
      throw new UnresolvableValueError(
        `${where}.TimeoutInMillis`,
        `${timeoutMs} is outside what API Gateway allows (50 ms or more, at most ${MAX_STREAM_TIMEOUT_MS} ms when streaming)`,
      );
    }
    return { kind: 'lambda-proxy', functionLogicalId, timeoutMs, transferMode: streamed ? 'stream' : 'buffered' };
  }

  function integrationModel(logicalId: string, raw: unknown): IntegrationModel {
    if (raw === undefined) throw new UnsupportedFeatureError('a method without an integration', logicalId);
    const integration = raw as Record<string, unknown>;
    const type = str(integration.Type, `${logicalId}.Integration.Type`);
    if (
      integration.ConnectionType !== undefined &&
      str(integration.ConnectionType, `${logicalId}.Integration.ConnectionType`) !== 'INTERNET'
    ) {
      throw new UnsupportedFeatureError('a VPC link integration', logicalId);
    }
    if (type === 'AWS_PROXY') return lambdaProxyModel(logicalId, integration);
    if (type !== 'MOCK')
      throw new UnsupportedFeatureError(
        `a ${type} integration`,
        logicalId,
        'only AWS_PROXY (Lambda proxy) and MOCK integrations are emulated',
      );
    const requestTemplates =
      (resolver.resolve(integration.RequestTemplates ?? {}, `${logicalId}.Integration.RequestTemplates`) as Record<
        string,
        unknown
      >) ?? {};
    const requestTemplate = String(requestTemplates['application/json'] ?? Object.values(requestTemplates)[0] ?? '');
    let statusCode = 200;
    if (requestTemplate.trim() !== '') {
      const match = /^\s*\{\s*["']?statusCode["']?\s*:\s*(\d{3})\s*\}\s*$/.exec(requestTemplate);
      if (!match)
        throw new UnsupportedFeatureError(`a MOCK request template it cannot evaluate (${requestTemplate})`, logicalId);
      statusCode = Number(match[1]);
    }
    const responses = (
      (resolver.resolve(
        integration.IntegrationResponses ?? [],
        `${logicalId}.Integration.IntegrationResponses`,
      ) as Record<string, unknown>[]) ?? []
    ).map((response, index): MockResponseModel => {
      const where = `${logicalId}.Integration.IntegrationResponses[${index}]`;
      if (response.ContentHandling !== undefined)
        throw new UnsupportedFeatureError('content handling on a MOCK response', where);
      const headers = Object.entries((response.ResponseParameters ?? {}) as Record<string, unknown>).map(
        ([name, value]): [string, HeaderSource] => {
          const header = /^method\.response\.header\.(.+)$/.exec(name);
          if (!header) throw new UnsupportedFeatureError(`the response parameter ${name}`, where);
          return [header[1], headerSource(value, `${where}.ResponseParameters.${name}`)];
        },
      );
      return {
        selectionPattern:
          response.SelectionPattern === undefined || response.SelectionPattern === ''
            ? undefined
            : new RegExp(`^(?:${String(response.SelectionPattern)})$`, 's'),
        statusCode: Number(response.StatusCode),
        headers,
        templates: compileTemplates(response.ResponseTemplates, `${where}.ResponseTemplates`),
      };
    });
    return { kind: 'mock', statusCode, responses };
  }

  // --- Gateway responses ---
  const gatewayResponses = new Map<string, CustomGatewayResponse>();
  for (const [logicalId] of ofType('AWS::ApiGateway::GatewayResponse').filter(([id]) => belongsToApi(id))) {
    used.add(logicalId);
    const p = props(logicalId);
    const type = str(p.ResponseType, `${logicalId}.ResponseType`);
    const headers = Object.entries(
      (resolver.resolve(p.ResponseParameters ?? {}, `${logicalId}.ResponseParameters`) as Record<string, unknown>) ??
        {},
    ).map(([name, value]): [string, HeaderSource] => {
      const header = /^gatewayresponse\.header\.(.+)$/.exec(name);
      if (!header) throw new UnsupportedFeatureError(`the gateway response parameter ${name}`, logicalId);
      return [header[1], headerSource(value, `${logicalId}.ResponseParameters.${name}`)];
    });
    gatewayResponses.set(type, {
      logicalId,
      type,
      statusCode: p.StatusCode === undefined ? undefined : Number(str(p.StatusCode, `${logicalId}.StatusCode`)),
      headers,
      templates: Object.entries(
        (resolver.resolve(p.ResponseTemplates ?? {}, `${logicalId}.ResponseTemplates`) as Record<string, unknown>) ??
          {},
      ).map(([contentType, source]): [string, SubstitutionTemplate] => [
        contentType,
        SubstitutionTemplate.compile(String(source)),
      ]),
    });
  }

  // --- The AWS WAF web ACL associated with the stage ---
  const stageArn = `arn:${environment.partition}:apigateway:${environment.region}::/restapis/${apiId}/stages/${stage.name}`;
  const waf = webAclForStage(resources, stageArn, webAclArn, (value, where) => resolver.resolve(value, where));
  waf.used.forEach((logicalId) => used.add(logicalId));
  ignored.push(...waf.ignored);
  const wafListed = new Set(waf.ignored.map((item) => item.logicalId));

  // --- Everything else: refuse what changes behaviour, list what does not ---
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (used.has(logicalId) || wafListed.has(logicalId)) continue;
    const type = resource.Type;
    if (type === 'AWS::ApiGateway::RequestValidator' && belongsToApi(logicalId)) {
      ignored.push({ logicalId, type, reason: 'no served method uses it' });
      continue;
    }
    // Served by the local Secrets Manager endpoint with a value made for this run; not listed.
    if (type === 'AWS::SecretsManager::Secret') continue;
    const reason =
      NO_REQUEST_TIME_EFFECT[type] ??
      (type === 'AWS::Lambda::Function'
        ? 'not invoked by the API'
        : type === 'AWS::ApiGateway::Deployment'
          ? 'deployments only snapshot the API'
          : type.startsWith('AWS::ApiGateway::') && !belongsToApi(logicalId)
            ? 'belongs to another REST API'
            : 'not part of the request path');
    ignored.push({ logicalId, type, reason });
  }

  return {
    restApiLogicalId,
    apiId,
    stageName: stage.name,
    stageVariables,
    binaryMediaTypes,
    root,
    gatewayResponses,
    throttleSettings,
    functions,
    environment,
    ignored,
    webAcl: waf.webAcl,
    secrets: secretsOf(
      resources,
      (logicalId) => physical.ref(logicalId)!,
      (value, where) => resolver.resolve(value, where),
    ),
    secretGrants: secretGrantsOf(resources, [...functions.keys()], (value, where) => resolver.resolve(value, where)),
  };
}
