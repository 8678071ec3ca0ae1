/**
 * What Lambda's execution environment gives a function besides its own variables, made local:
 * credentials for its role (a local access key per function, so a call to a local AWS service can
 * be checked against that function's role), the AWS SDK v3 the Node.js runtime ships (the
 * project's own copy, found through NODE_PATH as the runtime's is), and the endpoint of each
 * AWS service the template uses that the local stack provides: Secrets Manager, DynamoDB, and
 * Lambda (its `Invoke`, synchronous and asynchronous, on the gateway's own function processes).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type RunningDynamoDb, startLocalDynamoDb } from '../aws/dynamodb';
import { type AsyncEventStats, type InvocableFunction, type LocalLambda, startLocalLambda } from '../aws/lambda';
import { type LocalSecret, startLocalSecretsManager, type LocalSecretsManager } from '../aws/secrets-manager';
import { DEFAULT_ASYNC_INVOKE_SETTINGS } from './async-invoke';
import type { LocalFunction } from './lambda-runtime';
import type { ApiModel } from './model';

export interface LocalAwsServices {
  /** The variables a function's processes get, besides the template's. */
  environmentOf(functionLogicalId: string): Readonly<Record<string, string>>;
  /** Gives the local Lambda endpoint the functions it invokes (they are made after the environments they need). */
  attachFunctions(functions: ReadonlyMap<string, LocalFunction>): void;
  /** What became of each function's asynchronous events, by function name. */
  asyncEvents(): Readonly<Record<string, Readonly<AsyncEventStats>>>;
  stop(): Promise<void>;
}

/** The access key id a function's processes sign with: stable per function, obviously local. */
export function localAccessKeyId(functionLogicalId: string): string {
  return `ASIALOCAL${createHash('sha256').update(functionLogicalId).digest('hex').slice(0, 11).toUpperCase()}`;
}

/** A folder whose node_modules holds only the AWS SDK v3, as the Lambda Node.js runtime provides it. */
function runtimeSdkPath(scratchDir: string): string | undefined {
  let sdk: string;
  try {
    // The @aws-sdk scope folder of the project's installed SDK v3.
    sdk = path.dirname(path.dirname(require.resolve('@aws-sdk/client-secrets-manager/package.json')));
  } catch {
    return undefined;
  }
  const modules = path.join(scratchDir, 'runtime-sdk', 'node_modules');
  fs.mkdirSync(modules, { recursive: true });
  fs.symlinkSync(sdk, path.join(modules, '@aws-sdk'), 'dir');
  return modules;
}

/** The function that signs with `accessKeyId`, if it is one of the model's. */
type KeyOwner = (accessKeyId: string | undefined) => string | undefined;

/** The Lambda endpoint, serving the functions once they are attached; until then every name is unknown. */
async function startLambdaEndpoint(
  model: ApiModel,
  ownerOf: KeyOwner,
  log: (line: string) => void,
): Promise<{ lambda: LocalLambda; attach: (functions: ReadonlyMap<string, LocalFunction>) => void }> {
  let byName: ReadonlyMap<string, InvocableFunction> = new Map();
  const lambda = await startLocalLambda({
    functions: () => byName,
    mayInvoke: (accessKeyId, action, arn) => {
      const owner = ownerOf(accessKeyId);
      return owner !== undefined && model.lambdaGrants.mayAccess(owner, action, arn);
    },
    log,
  });
  const attach = (functions: ReadonlyMap<string, LocalFunction>) => {
    byName = new Map(
      [...functions].map(([logicalId, fn]) => {
        const settings = model.asyncInvokeSettings.get(logicalId) ?? DEFAULT_ASYNC_INVOKE_SETTINGS;
        const target: InvocableFunction = {
          functionName: fn.spec.functionName,
          arn: fn.spec.arn,
          ...settings,
          invoke: (event, requestId) => fn.invoke(event, requestId),
        };
        return [fn.spec.functionName, target];
      }),
    );
  };
  return { lambda, attach };
}

/** A secret of the account that the template does not create: its name and value. */
export interface AccountSecret {
  readonly name: string;
  readonly value: string;
}

/** An account secret as Secrets Manager names it: the name plus a hyphen and six random characters. */
function accountSecretOf(model: ApiModel, { name, value }: AccountSecret): LocalSecret {
  const { partition, region, accountId } = model.environment;
  const suffix = createHash('sha256')
    .update(name)
    .digest('base64url')
    .replace(/[^A-Za-z0-9]/g, 'x')
    .slice(0, 6);
  return { arn: `arn:${partition}:secretsmanager:${region}:${accountId}:secret:${name}-${suffix}`, name, value };
}

export async function startLocalAwsServices(
  model: ApiModel,
  scratchDir: string,
  log: (line: string) => void = () => {},
  accountSecrets: readonly AccountSecret[] = [],
): Promise<LocalAwsServices> {
  const keyOwners = new Map([...model.functions.keys()].map((id) => [localAccessKeyId(id), id]));
  const ownerOf: KeyOwner = (accessKeyId) => (accessKeyId === undefined ? undefined : keyOwners.get(accessKeyId));
  const secrets = [...model.secrets, ...accountSecrets.map((secret) => accountSecretOf(model, secret))];
  let secretsManager: LocalSecretsManager | undefined;
  if (secrets.length > 0) {
    secretsManager = await startLocalSecretsManager(secrets, (accessKeyId, action, arn) => {
      const owner = ownerOf(accessKeyId);
      return owner !== undefined && model.secretGrants.mayAccess(owner, action, arn);
    });
  }
  let dynamoDb: RunningDynamoDb | undefined;
  if (model.tables.length > 0) {
    const { region, accountId } = model.environment;
    dynamoDb = await startLocalDynamoDb(
      model.tables,
      (accessKeyId, action, arn) => {
        const owner = ownerOf(accessKeyId);
        return owner !== undefined && model.tableGrants.mayAccess(owner, action, arn);
      },
      region,
      accountId,
    );
  }
  const { lambda, attach } = await startLambdaEndpoint(model, ownerOf, log);
  const sdk = runtimeSdkPath(scratchDir);
  return {
    environmentOf: (functionLogicalId) => ({
      AWS_ACCESS_KEY_ID: localAccessKeyId(functionLogicalId),
      AWS_SECRET_ACCESS_KEY: 'local-secret-access-key',
      AWS_SESSION_TOKEN: 'local-session-token',
      ...(sdk ? { NODE_PATH: sdk } : {}),
      ...(secretsManager ? { AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.endpoint } : {}),
      ...(dynamoDb ? { AWS_ENDPOINT_URL_DYNAMODB: dynamoDb.endpoint } : {}),
      AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint,
    }),
    attachFunctions: attach,
    asyncEvents: () => Object.fromEntries(lambda.asyncEvents),
    stop: async () => {
      await Promise.all([secretsManager?.close(), dynamoDb?.close(), lambda.close()]);
    },
  };
}
