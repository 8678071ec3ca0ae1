/**
 * The `requestState` codec: HMAC-SHA256 with the function's key, bound to the verified caller, so
 * a state captured by one user or client fails verification (`-32602`) for any other. A key given
 * as an option is checked at once. One in Secrets Manager is read when a tool first seals or a
 * request first echoes a state, so requests that never use one never wait for it.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { createRequestStateCodec, type RequestStateCodec } from '@modelcontextprotocol/server';
import { MCP_SETTINGS } from '../shared/settings/mcp';
import { nonEmpty } from '../shared/settings/setting';
import { RuntimeConfigError } from './errors';
import { RequestStateKeyError, requestStateKeyLoader } from './request-state-key';

const REQUEST_STATE_SECRET_ARN = MCP_SETTINGS.requestStateSecretArn.variable;
const DEFAULT_TTL_SECONDS = 600;

export interface RequestStateOptions {
  /** A key given in code; wins over the secret. */
  readonly key?: string | Uint8Array;
  readonly ttlSeconds?: number;
}

/** The codec tools get, or undefined when neither a key nor a secret is configured. */
export function requestStateCodecOf(options: RequestStateOptions, logger: Logger): RequestStateCodec | undefined {
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  if (options.key !== undefined) return requestStateCodecFor(options.key, ttlSeconds, 'requestStateKey');
  if (nonEmpty(process.env[REQUEST_STATE_SECRET_ARN]) === undefined) return undefined;
  const loadKey = requestStateKeyLoader();
  const codec = async (): Promise<RequestStateCodec> => {
    try {
      const key = await loadKey();
      if (key === undefined) throw new Error(`${REQUEST_STATE_SECRET_ARN} names no secret`);
      return requestStateCodecFor(key, ttlSeconds, REQUEST_STATE_SECRET_ARN);
    } catch (error) {
      // The reason goes to the log; the client learns only that the server could not do it now.
      logger.error('requestState key unavailable', { reason: (error as Error).message });
      throw new RequestStateKeyError('The server could not load its requestState key; try again shortly.');
    }
  };
  return {
    mint: async (payload, ctx) => (await codec()).mint(payload, ctx),
    verify: async (state, ctx) => (await codec()).verify(state, ctx),
  };
}

function requestStateCodecFor(key: string | Uint8Array, ttlSeconds: number, source: string): RequestStateCodec {
  try {
    return createRequestStateCodec({
      key,
      ttlSeconds,
      bind: (ctx) => {
        const authInfo = ctx.http?.authInfo;
        const sub = (authInfo?.extra as { sub?: unknown } | undefined)?.sub;
        return `${typeof sub === 'string' ? sub : ''}\0${authInfo?.clientId ?? ''}`;
      },
    });
  } catch (error) {
    throw new RuntimeConfigError(source, `${source} is unusable: ${(error as Error).message}`);
  }
}
