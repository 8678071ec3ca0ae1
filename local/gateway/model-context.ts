/**
 * What every step of building the API model shares: the stack, the served API, how template values
 * resolve, and the bookkeeping of which resources the model accounts for.
 */
import { GatewayStartError } from './errors';
import { PhysicalNames, type ServedApi, servedApi } from './physical-names';
import { type CfnResource, type DeploymentEnvironment, IntrinsicResolver, type LoadedStack } from './template';

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

export interface IgnoredResource {
  readonly logicalId: string;
  readonly type: string;
  readonly reason: string;
}

export interface ModelContext {
  readonly stack: LoadedStack;
  readonly resources: Readonly<Record<string, CfnResource>>;
  readonly options: ModelOptions;
  readonly environment: DeploymentEnvironment;
  readonly api: ServedApi;
  readonly names: PhysicalNames;
  readonly resolver: IntrinsicResolver;
  /** Resources the model accounts for; every other one is refused or listed as ignored. */
  readonly used: Set<string>;
  readonly ignored: IgnoredResource[];
}

/** The template's resources of one type, as `[logicalId, resource]`. */
export function ofType(context: ModelContext, type: string): Array<[string, CfnResource]> {
  return Object.entries(context.resources).filter(([, r]) => r.Type === type);
}

/** The resources of one type that belong to the served REST API (their RestApiId is its id). */
export function ofApi(context: ModelContext, type: string): Array<[string, CfnResource]> {
  return ofType(context, type).filter(([id]) => belongsToApi(context, id));
}

export function str(context: ModelContext, value: unknown, where: string): string {
  return context.resolver.resolveString(value, where);
}

export function props(context: ModelContext, logicalId: string): Record<string, unknown> {
  return (context.resources[logicalId].Properties ?? {}) as Record<string, unknown>;
}

export function belongsToApi(context: ModelContext, logicalId: string): boolean {
  const restApiId = props(context, logicalId).RestApiId;
  return restApiId !== undefined && str(context, restApiId, `${logicalId}.RestApiId`) === context.api.apiId;
}

/** The one RestApi to serve: the only one, or the one `restApiLogicalId` names. */
function chooseRestApi(stack: LoadedStack, options: ModelOptions): string {
  const restApis = Object.entries(stack.template.Resources).filter(([, r]) => r.Type === 'AWS::ApiGateway::RestApi');
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
  return chosenApis[0][0];
}

/** Chooses the API to serve and sets up resolving the template's values around it. */
export function createModelContext(stack: LoadedStack, options: ModelOptions): ModelContext {
  const api = servedApi(stack.stackName, chooseRestApi(stack, options));
  const environment: DeploymentEnvironment = {
    region: options.region,
    accountId: options.accountId,
    partition: 'aws',
    urlSuffix: 'amazonaws.com',
    stackName: stack.stackName,
  };
  // Names resolve template values and the resolver needs names: the resolver is bound once made.
  let resolver: IntrinsicResolver | undefined;
  const names = new PhysicalNames(stack, options, api, (value, where) => {
    if (!resolver) throw new Error(`${where} was needed before the template's values could be resolved.`);
    return resolver.resolveString(value, where);
  });
  const deployedOrigin = `https://${api.apiId}.execute-api.${environment.region}.${environment.urlSuffix}`;
  const localOrigin = options.executeApiOrigin;
  resolver = new IntrinsicResolver(
    stack.template,
    environment,
    names,
    localOrigin === undefined ? undefined : (built) => built.split(deployedOrigin).join(localOrigin),
  );
  return {
    stack,
    resources: stack.template.Resources,
    options,
    environment,
    api,
    names,
    resolver,
    used: new Set([api.restApiLogicalId]),
    ignored: [],
  };
}
