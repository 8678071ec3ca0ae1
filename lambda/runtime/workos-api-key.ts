/**
 * The WorkOS API key, from the Secrets Manager secret named by `WORKOS_API_KEY_SECRET_ARN` (only the
 * MCP function may read it), so the key is never in the template or the environment. It is read with
 * Powertools Parameters on the first lookup that needs it and kept for the container's life; a
 * failed or slow read is forgotten so the next lookup tries again, and a key WorkOS refuses is
 * forgotten so a rotated secret is read afresh.
 */
import { MCP_SETTINGS } from '../shared/settings/mcp';
import { type Env, nonEmpty } from '../shared/settings/setting';
import { McpRuntimeError } from './errors';

const WORKOS_API_KEY_SECRET_ARN = MCP_SETTINGS.workosApiKeySecretArn.variable;
// A secret read once is kept for the container's life (Powertools' cache age, in seconds).
const FOR_THE_CONTAINER = 10 * 365 * 24 * 3600;
/** Longest wait for Secrets Manager; the lookup that waits has its own, shorter bound as well. */
const READ_TIMEOUT_MS = 3_000;

/** Where the WorkOS API key comes from. */
export interface WorkOSApiKeySource {
  /** The key, or `undefined` when none is configured; rejects when it cannot be read now. */
  read(): Promise<string | undefined>;
  /** WorkOS refused the key: read it afresh next time (the secret may have been rotated). */
  forget?(): void;
}

/** The secret could not be read: the lookup that needed it fails, and the next one tries again. */
export class WorkOSApiKeyError extends McpRuntimeError {
  override readonly name = 'WorkOSApiKeyError';
  readonly code = 'WORKOS_API_KEY_UNAVAILABLE';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** A fixed key (tests, or a key the deployer reads elsewhere). */
export function fixedWorkOSApiKey(key: string | undefined): WorkOSApiKeySource {
  return { read: () => Promise.resolve(key) };
}

export function workosApiKeyFromEnvironment(env: Env = process.env): WorkOSApiKeySource {
  const arn = nonEmpty(env[WORKOS_API_KEY_SECRET_ARN]);
  if (arn === undefined) return fixedWorkOSApiKey(undefined);
  let pending: Promise<string> | undefined;
  let refresh = false;
  return {
    read() {
      if (pending === undefined) {
        const reading = readSecret(arn, refresh);
        refresh = false;
        pending = reading;
        reading.catch(() => {
          if (pending === reading) pending = undefined;
        });
      }
      return pending;
    },
    forget() {
      pending = undefined;
      refresh = true;
    },
  };
}

async function readSecret(arn: string, forceFetch: boolean): Promise<string> {
  let value: unknown;
  let timer: NodeJS.Timeout | undefined;
  try {
    const { getSecret } = await import('@aws-lambda-powertools/parameters/secrets');
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${READ_TIMEOUT_MS} ms`)), READ_TIMEOUT_MS);
    });
    value = await Promise.race([getSecret(arn, { maxAge: FOR_THE_CONTAINER, forceFetch }), timeout]);
  } catch (cause) {
    throw new WorkOSApiKeyError(
      `could not read the WorkOS API key from Secrets Manager (${WORKOS_API_KEY_SECRET_ARN}): ${(cause as Error).message}`,
      { cause },
    );
  } finally {
    clearTimeout(timer);
  }
  const key = typeof value === 'string' ? value.trim() : '';
  if (key === '') {
    throw new WorkOSApiKeyError(
      `the secret named by ${WORKOS_API_KEY_SECRET_ARN} holds no WorkOS API key; store the key (sk_...) as its plain-text value.`,
    );
  }
  return key;
}
