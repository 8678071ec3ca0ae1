/**
 * The Lambda functions the served API invokes, added to the model as integrations and authorizers
 * name them, each checked for what cannot run locally.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GatewayStartError, UnresolvableValueError, UnsupportedFeatureError } from './errors';
import type { LocalFunctionSpec } from './lambda-runtime';
import { type ModelContext, ofType, props, str } from './model-context';
import type { CfnResource } from './template';

const LAMBDA_ARN = /^arn:[^:]+:lambda:[^:]+:[^:]+:function:([^:]+)(?::[^:]+)?$/;
const INVOKE_URI = /:lambda:path\/2015-03-31\/functions\/(.+)\/invocations$/;
const STREAM_URI = /:lambda:path\/2021-11-15\/functions\/(.+)\/response-streaming-invocations$/;

/** The functions the API invokes, by logical id, and how to find one by its name. */
export interface FunctionCatalog {
  readonly logicalIdsByName: ReadonlyMap<string, string>;
  readonly specs: Map<string, LocalFunctionSpec>;
}

export function functionCatalog(context: ModelContext): FunctionCatalog {
  const logicalIdsByName = new Map<string, string>();
  for (const [logicalId] of ofType(context, 'AWS::Lambda::Function'))
    logicalIdsByName.set(context.names.functionName(logicalId), logicalId);
  return { logicalIdsByName, specs: new Map() };
}

/**
 * The function an Invoke URI names, added to the catalog; with `allowStreaming` an
 * InvokeWithResponseStream URI is accepted too, and `streaming` says which one it was.
 */
export function functionOfUri(
  context: ModelContext,
  catalog: FunctionCatalog,
  uri: unknown,
  where: string,
  allowStreaming: boolean,
): { logicalId: string; streaming: boolean } {
  const resolved = str(context, uri, where);
  const invoke = INVOKE_URI.exec(resolved);
  const stream = allowStreaming ? STREAM_URI.exec(resolved) : null;
  const arn = LAMBDA_ARN.exec((invoke ?? stream)?.[1] ?? '');
  if (!arn) throw new UnsupportedFeatureError(`an integration URI that is not a Lambda function (${resolved})`, where);
  const logicalId = catalog.logicalIdsByName.get(arn[1]);
  if (!logicalId) throw new UnresolvableValueError(where, `function ${arn[1]} is not defined in this stack`);
  addFunction(context, catalog, logicalId);
  return { logicalId, streaming: stream !== null };
}

function addFunction(context: ModelContext, catalog: FunctionCatalog, logicalId: string): void {
  if (catalog.specs.has(logicalId)) return;
  context.used.add(logicalId);
  const p = props(context, logicalId);
  const runtime = checkRunsLocally(context, logicalId, p);
  const environment = functionEnvironment(context, logicalId, p);
  const { resolver, options } = context;
  catalog.specs.set(logicalId, {
    logicalId,
    functionName: context.names.functionName(logicalId),
    arn: context.names.functionArn(logicalId),
    codeDir: codeDirectory(context, logicalId, context.resources[logicalId]),
    handler: str(context, p.Handler, `${logicalId}.Handler`),
    runtime,
    timeoutSeconds: p.Timeout === undefined ? 3 : Number(resolver.resolve(p.Timeout, `${logicalId}.Timeout`)),
    memoryMb: p.MemorySize === undefined ? 128 : Number(resolver.resolve(p.MemorySize, `${logicalId}.MemorySize`)),
    reservedConcurrency:
      p.ReservedConcurrentExecutions === undefined
        ? undefined
        : Number(resolver.resolve(p.ReservedConcurrentExecutions, `${logicalId}.ReservedConcurrentExecutions`)),
    environment,
    region: options.region,
  });
}

/** Refuses what a local Node.js process cannot stand in for; returns the runtime. */
function checkRunsLocally(context: ModelContext, logicalId: string, p: Record<string, unknown>): string {
  const runtime = str(context, p.Runtime, `${logicalId}.Runtime`);
  if (!/^nodejs\d+\.x$/.test(runtime))
    throw new UnsupportedFeatureError(`the Lambda runtime ${runtime}`, logicalId, 'only Node.js functions run locally');
  if (p.PackageType === 'Image')
    throw new UnsupportedFeatureError('container image functions (PackageType Image)', logicalId);
  if (p.Layers !== undefined) throw new UnsupportedFeatureError('Lambda layers (Layers)', logicalId);
  if (p.FileSystemConfigs !== undefined)
    throw new UnsupportedFeatureError('EFS file systems (FileSystemConfigs)', logicalId);
  return runtime;
}

/** The template's environment with the overrides for this function applied over it. */
function functionEnvironment(
  context: ModelContext,
  logicalId: string,
  p: Record<string, unknown>,
): Record<string, string> {
  const overrides = context.options.environmentOverrides ?? {};
  // CDK logical ids end in an 8-digit hex hash; the id without it is stable across edits.
  const unhashed = /^(.+)[0-9A-F]{8}$/.exec(logicalId)?.[1];
  const override = {
    ...(overrides['*'] ?? {}),
    ...(unhashed ? (overrides[unhashed] ?? {}) : {}),
    ...(overrides[context.names.functionName(logicalId)] ?? {}),
    ...(overrides[logicalId] ?? {}),
  };
  const declared = ((p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<
    string,
    unknown
  >;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(declared)) {
    if (key in override) continue;
    env[key] = str(context, value, `${logicalId}.Environment.Variables.${key}`);
  }
  return Object.assign(env, override);
}

/** The folder holding the function's code: its bundled asset, or its inline code written out. */
function codeDirectory(context: ModelContext, logicalId: string, resource: CfnResource): string {
  const { stack } = context;
  const code = (resource.Properties?.Code ?? {}) as Record<string, unknown>;
  if (code.ZipFile !== undefined) {
    const dir = path.join(context.options.scratchDir, `inline-${logicalId}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'index.js'), str(context, code.ZipFile, `${logicalId}.Code.ZipFile`));
    return dir;
  }
  if (code.ImageUri !== undefined)
    throw new UnsupportedFeatureError('container image functions (Code.ImageUri)', logicalId);
  const metadataPath = resource.Metadata?.['aws:asset:path'];
  let assetPath = typeof metadataPath === 'string' ? path.resolve(stack.assemblyDir, metadataPath) : undefined;
  if (!assetPath && code.S3Key !== undefined)
    assetPath = stack.assetPathByObjectKey.get(str(context, code.S3Key, `${logicalId}.Code.S3Key`));
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
}
