/**
 * The HMAC key of `requestState`, from the Secrets Manager secret named by
 * `REQUEST_STATE_SECRET_ARN` (the construct generates it at deploy time, so it is never in the
 * template or the environment). The secret is read once per container, on the first request that
 * needs it, with Powertools Parameters; the Secrets Manager client is the one the Lambda Node.js
 * runtime provides. A key given as the `requestStateKey` option never comes here.
 */
import { MCP_SETTINGS } from '../shared/settings/mcp';
import { type Env, nonEmpty } from '../shared/settings/setting';

const REQUEST_STATE_SECRET_ARN = MCP_SETTINGS.requestStateSecretArn.variable;

/** The key, loaded at most once while it succeeds; `undefined` when none is configured. */
export type RequestStateKeyLoader = () => Promise<string | Uint8Array | undefined>;

/** HMAC-SHA256 keys shorter than this are refused, as the SDK's codec refuses them. */
const MIN_KEY_BYTES = 32;
// A secret read once is kept for the container's life (Powertools' cache age, in seconds).
const FOR_THE_CONTAINER = 10 * 365 * 24 * 3600;

/** The secret could not be read: the tool that needed it fails, and the next request tries again. */
export class RequestStateKeyError extends Error {
  readonly code = 'REQUEST_STATE_KEY_UNAVAILABLE';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RequestStateKeyError';
  }
}

export function requestStateKeyLoader(env: Env = process.env): RequestStateKeyLoader {
  const arn = nonEmpty(env[REQUEST_STATE_SECRET_ARN]);
  if (arn === undefined) return () => Promise.resolve(undefined);
  let pending: Promise<string | Uint8Array> | undefined;
  return () => {
    pending ??= readSecret(arn).catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

async function readSecret(arn: string): Promise<string | Uint8Array> {
  let value: string | Uint8Array | undefined;
  try {
    const { getSecret } = await import('@aws-lambda-powertools/parameters/secrets');
    value = await getSecret(arn, { maxAge: FOR_THE_CONTAINER });
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
