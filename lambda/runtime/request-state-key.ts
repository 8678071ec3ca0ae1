/**
 * The HMAC key of `requestState`, from the Secrets Manager secret named by
 * `REQUEST_STATE_SECRET_ARN` (the construct generates it at deploy time, so it is never in the
 * template or the environment). The secret is read once per container, on the first request that
 * needs it, with Powertools Parameters; the Secrets Manager client is the one the Lambda Node.js
 * runtime provides. A key given as the `requestStateKey` option never comes here.
 *
 * A read is bounded ({@link KEY_READ_TIMEOUT_MS}): an endpoint that accepts the connection and never
 * answers fails the read instead of holding every request that waits for it. A failed or timed-out
 * read is forgotten, so the next request reads again.
 */
import { MCP_SETTINGS } from '../shared/settings/mcp';
import { type Env, nonEmpty } from '../shared/settings/setting';
import { McpRuntimeError } from './errors';

const REQUEST_STATE_SECRET_ARN = MCP_SETTINGS.requestStateSecretArn.variable;

/** The key, loaded at most once while it succeeds; `undefined` when none is configured. */
export type RequestStateKeyLoader = () => Promise<string | Uint8Array | undefined>;

/** How long one read of the secret may take, connection included. */
export const KEY_READ_TIMEOUT_MS = 2000;
/** HMAC-SHA256 keys shorter than this are refused, as the SDK's codec refuses them. */
const MIN_KEY_BYTES = 32;
// A secret read once is kept for the container's life (Powertools' cache age, in seconds).
const FOR_THE_CONTAINER = 10 * 365 * 24 * 3600;

/** The secret could not be read: the tool that needed it fails, and the next request tries again. */
export class RequestStateKeyError extends McpRuntimeError {
  override readonly name = 'RequestStateKeyError';
  readonly code = 'REQUEST_STATE_KEY_UNAVAILABLE';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

export interface RequestStateKeyLoaderOptions {
  /** @default KEY_READ_TIMEOUT_MS */
  readonly timeoutMs?: number;
}

export function requestStateKeyLoader(
  env: Env = process.env,
  { timeoutMs = KEY_READ_TIMEOUT_MS }: RequestStateKeyLoaderOptions = {},
): RequestStateKeyLoader {
  const arn = nonEmpty(env[REQUEST_STATE_SECRET_ARN]);
  if (arn === undefined) return () => Promise.resolve(undefined);
  const provider = secretsProvider(timeoutMs);
  let pending: Promise<string | Uint8Array> | undefined;
  return () => {
    pending ??= withinTime(readSecret(arn, provider), timeoutMs).catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

/** What this module uses of Powertools' `SecretsProvider`. */
interface Provider {
  get(name: string, options: { maxAge: number }): Promise<unknown>;
}

/** One Powertools provider per loader, made on first use, whose client gives up on a silent endpoint too. */
function secretsProvider(timeoutMs: number): () => Promise<Provider> {
  let provider: Promise<Provider> | undefined;
  return () => {
    provider ??= import('@aws-lambda-powertools/parameters/secrets').then(
      ({ SecretsProvider }) =>
        new SecretsProvider({
          clientConfig: { requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs } },
        }),
    );
    return provider;
  };
}

function withinTime<T>(read: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new RequestStateKeyError(
            `Secrets Manager did not answer the requestState key read (${REQUEST_STATE_SECRET_ARN}) within ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
  });
  return Promise.race([read, timedOut]).finally(() => clearTimeout(timer));
}

async function readSecret(arn: string, provider: () => Promise<Provider>): Promise<string | Uint8Array> {
  let value: string | Uint8Array | undefined;
  try {
    const read = await (await provider()).get(arn, { maxAge: FOR_THE_CONTAINER });
    value = typeof read === 'string' || read instanceof Uint8Array ? read : undefined;
  } catch (cause) {
    throw new RequestStateKeyError(
      `could not read the requestState key from Secrets Manager (${REQUEST_STATE_SECRET_ARN}): ${(cause as Error).message}`,
      { cause },
    );
  }
  const length = typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : (value?.byteLength ?? 0);
  if (value === undefined || length < MIN_KEY_BYTES) {
    throw new RequestStateKeyError(
      `the requestState secret (${REQUEST_STATE_SECRET_ARN}) holds ${length} bytes; it needs at least ${MIN_KEY_BYTES}.`,
    );
  }
  return value;
}
