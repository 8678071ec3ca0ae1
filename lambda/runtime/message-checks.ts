/**
 * The checks of a parsed JSON-RPC message and its caller, run in {@link createMessageChecks} order
 * before the message is dispatched; the first refusal answers. A new per-message rule (a per-tool
 * policy, say) is one more {@link MessageCheck} in that list; a check may be async.
 */
import type { AuthInfo } from '@modelcontextprotocol/server';
import { isScopeToken } from '../shared/scopes';
import { insufficientScopeChallenge } from '../shared/urls';
import { missingScopes } from './auth-info';
import type { readRuntimeSettings } from './config';
import { RuntimeConfigError } from './errors';
import type { ParsedMessage } from './json-rpc';
import { type Refusal, refusal } from './refusal';
import type { RequestStates } from './request-state';
import { RequestStateKeyError } from './request-state-key';
import { INTERNAL_ERROR, jsonRpcErrorResponse, METHOD_NOT_FOUND, TRANSPORT_ERROR } from './responses';

/** The 2026-07-28 method that opens a server-to-client notification stream. */
export const LISTEN_METHOD = 'subscriptions/listen';

export type ToolScopes = Readonly<Record<string, readonly string[]>>;

/** What a message check reads: the parsed message and its verified caller. */
export interface MessageFacts {
  readonly parsed: ParsedMessage;
  readonly authInfo: AuthInfo;
}

export type MessageCheck = (facts: MessageFacts) => Refusal | undefined | Promise<Refusal | undefined>;

/** The message checks, in the order they run. */
export function createMessageChecks(
  settings: ReturnType<typeof readRuntimeSettings>,
  toolScopes: ToolScopes,
  requestStates?: RequestStates,
): readonly MessageCheck[] {
  const checks: MessageCheck[] = [];
  if (settings.responseTransferMode !== 'stream') checks.push(listenCheck);
  checks.push(scopeCheck(settings.urls, toolScopes));
  if (requestStates) checks.push(requestStateKeyCheck(requestStates));
  return checks;
}

/**
 * A retry that echoes a `requestState` needs the key to verify it. A key that cannot be read now is
 * the server's fault: the client gets a retryable `-32603` (503, `Retry-After`), not the SDK's
 * `-32602` for an invalid state, which would tell it to start the call over.
 */
export function requestStateKeyCheck(requestStates: RequestStates): MessageCheck {
  return async ({ parsed }) => {
    if (typeof parsed.params?.requestState !== 'string') return undefined;
    try {
      await requestStates.ready();
      return undefined;
    } catch (error) {
      if (!(error instanceof RequestStateKeyError)) throw error;
      const refused = jsonRpcErrorResponse(503, INTERNAL_ERROR, error.message, {
        id: parsed.id,
        data: { retryable: true },
        headers: { 'Retry-After': '1' },
      });
      return refusal(refused, 'the requestState key could not be read, so the echoed state cannot be verified now');
    }
  };
}

/** Buffered, the SDK would open an endless event stream, which the integration can never deliver. */
export const listenCheck: MessageCheck = ({ parsed }) => {
  if (parsed.rpcMethod !== LISTEN_METHOD) return undefined;
  return refusal(
    jsonRpcErrorResponse(
      404,
      METHOD_NOT_FOUND,
      `Method not found: ${LISTEN_METHOD} needs response streaming, which this endpoint does not use`,
      { id: parsed.id },
    ),
    `${LISTEN_METHOD} needs a long-lived event stream, which a buffered integration cannot hold`,
  );
};

/** The 403 `insufficient_scope` answer when the token lacks a scope the called tool requires. */
export function scopeCheck(urls: ReturnType<typeof readRuntimeSettings>['urls'], toolScopes: ToolScopes): MessageCheck {
  return ({ parsed: { tool, id }, authInfo }) => {
    if (tool === undefined) return undefined;
    const required = scopesOfTool(toolScopes, tool);
    if (!required || required.length === 0) return undefined;
    const missing = missingScopes(authInfo, required);
    if (missing.length === 0) return undefined;
    const refused = jsonRpcErrorResponse(
      403,
      TRANSPORT_ERROR,
      `insufficient_scope: the tool "${tool}" requires the scope(s) ${missing.join(', ')} that the access token lacks`,
      {
        id,
        data: { error: 'insufficient_scope', tool, requiredScopes: [...required], missingScopes: missing },
        headers: { 'WWW-Authenticate': insufficientScopeChallenge(urls, required) },
      },
    );
    return refusal(refused, `tool ${tool} needs scopes the caller lacks`);
  };
}

/** Scopes a tool requires: own entries only, so a tool named `constructor` or `__proto__` needs none. */
function scopesOfTool(toolScopes: ToolScopes, tool: string): readonly string[] | undefined {
  return Object.hasOwn(toolScopes, tool) ? toolScopes[tool] : undefined;
}

export function validateToolScopes(toolScopes: ToolScopes): void {
  for (const [tool, scopes] of Object.entries(toolScopes)) {
    if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string' || !isScopeToken(s))) {
      throw new RuntimeConfigError(
        'toolScopes',
        `toolScopes["${tool}"] must be a list of OAuth scope tokens (no spaces or quotes), got ${JSON.stringify(scopes)}.`,
      );
    }
  }
}
