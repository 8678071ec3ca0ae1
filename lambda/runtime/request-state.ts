/**
 * The `requestState` codec: HMAC-SHA256 with the function's key (signed, not encrypted: the client
 * can read the payload), bound to the verified caller (`sub` and `client_id`) and to the request it
 * was minted for (its method and {@link requestDigest}: for `tools/call`, the tool name and the
 * arguments). A state captured from one user, client, tool or set of arguments fails verification
 * (`-32602`) for any other. A key given as an option is checked at once. One in Secrets Manager is
 * read when a tool first seals or a request first echoes a state, so requests that never use one
 * never wait for it.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { createRequestStateCodec, type RequestStateCodec, type ServerContext } from '@modelcontextprotocol/server';
import { MCP_SETTINGS } from '../shared/settings/mcp';
import { nonEmpty } from '../shared/settings/setting';
import { RuntimeConfigError } from './errors';
import type { ParsedMessage } from './json-rpc';
import { requestDigest } from './request-digest';
import { RequestStateKeyError, requestStateKeyLoader } from './request-state-key';

const REQUEST_STATE_SECRET_ARN = MCP_SETTINGS.requestStateSecretArn.variable;
const DEFAULT_TTL_SECONDS = 600;

export interface RequestStateOptions {
  /** A key given in code; wins over the secret. */
  readonly key?: string | Uint8Array;
  readonly ttlSeconds?: number;
}

/** The function's `requestState` keys, handing each request a codec bound to it. */
export interface RequestStates {
  /** Resolves once the key is loaded; rejects with a {@link RequestStateKeyError} when it cannot be. */
  ready(): Promise<void>;
  /** The codec for one request: what it mints verifies only for the same caller, method and params. */
  forRequest(parsed: Pick<ParsedMessage, 'rpcMethod' | 'params'>): RequestStateCodec;
}

/** The request states, or undefined when neither a key nor a secret is configured. */
export function requestStatesOf(options: RequestStateOptions, logger: Logger): RequestStates | undefined {
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  if (options.key !== undefined) {
    const key = options.key;
    requestStateCodecFor(key, ttlSeconds, 'requestStateKey', '');
    return requestStatesWith(() => Promise.resolve(key), ttlSeconds, 'requestStateKey');
  }
  if (nonEmpty(process.env[REQUEST_STATE_SECRET_ARN]) === undefined) return undefined;
  const loadKey = requestStateKeyLoader();
  const secretKey = async (): Promise<string | Uint8Array> => {
    try {
      const key = await loadKey();
      if (key === undefined) throw new Error(`${REQUEST_STATE_SECRET_ARN} names no secret`);
      return key;
    } catch (error) {
      // The reason goes to the log; the client learns only that the server could not do it now.
      logger.error('requestState key unavailable', { reason: (error as Error).message });
      throw new RequestStateKeyError('The server could not load its requestState key; try again shortly.');
    }
  };
  return requestStatesWith(secretKey, ttlSeconds, REQUEST_STATE_SECRET_ARN);
}

function requestStatesWith(key: () => Promise<string | Uint8Array>, ttlSeconds: number, source: string): RequestStates {
  return {
    ready: async () => void (await key()),
    forRequest: ({ rpcMethod, params }) => {
      // Computed on the first mint or verify only: most requests never use a state.
      let digest: string | undefined;
      const codec = async () => {
        digest ??= requestDigest(rpcMethod, params);
        return requestStateCodecFor(await key(), ttlSeconds, source, digest);
      };
      return {
        mint: async (payload, ctx) => (await codec()).mint(payload, ctx),
        verify: async (state, ctx) => (await codec()).verify(state, ctx),
      };
    },
  };
}

function requestStateCodecFor(
  key: string | Uint8Array,
  ttlSeconds: number,
  source: string,
  digest: string,
): RequestStateCodec {
  try {
    return createRequestStateCodec({ key, ttlSeconds, bind: (ctx) => `${callerBinding(ctx)}\0${digest}` });
  } catch (error) {
    throw new RuntimeConfigError(source, `${source} is unusable: ${(error as Error).message}`);
  }
}

function callerBinding(ctx: ServerContext): string {
  const authInfo = ctx.http?.authInfo;
  const sub = (authInfo?.extra as { sub?: unknown } | undefined)?.sub;
  return `${typeof sub === 'string' ? sub : ''}\0${authInfo?.clientId ?? ''}`;
}
