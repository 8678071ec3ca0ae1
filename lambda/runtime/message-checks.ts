/**
 * The checks of a parsed JSON-RPC message and its caller, run in {@link createMessageChecks} order
 * before the message is dispatched; the first refusal answers. A new per-message rule is one more
 * {@link MessageCheck} in that list; a check may answer asynchronously (the tool policy may ask
 * WorkOS for the person's access).
 */
import type { AuthInfo } from '@modelcontextprotocol/server';
import type { readRuntimeSettings } from './config';
import type { ParsedMessage } from './json-rpc';
import { policyCheck } from './policy-check';
import { type Refusal, refusal } from './refusal';
import type { RequestStates } from './request-state';
import { RequestStateKeyError } from './request-state-key';
import { INTERNAL_ERROR, jsonRpcErrorResponse, METHOD_NOT_FOUND } from './responses';
import type { ToolPolicies } from './tool-policy';
import type { RoleResolver } from './workos-access';

/** The 2026-07-28 method that opens a server-to-client notification stream. */
export const LISTEN_METHOD = 'subscriptions/listen';

/** What a message check reads: the parsed message and its verified caller. */
export interface MessageFacts {
  readonly parsed: ParsedMessage;
  readonly authInfo: AuthInfo;
}

export type MessageCheck = (facts: MessageFacts) => Refusal | undefined | Promise<Refusal | undefined>;

/** The message checks, in the order they run. */
export function createMessageChecks(
  settings: ReturnType<typeof readRuntimeSettings>,
  policies: ToolPolicies,
  roleResolver: RoleResolver | undefined,
  requestStates?: RequestStates,
): readonly MessageCheck[] {
  const checks: MessageCheck[] = [];
  if (settings.responseTransferMode !== 'stream') checks.push(listenCheck);
  checks.push(policyCheck(settings.urls, policies, roleResolver));
  if (requestStates) checks.push(requestStateKeyCheck(requestStates));
  return checks;
}

/** The first refusal of `checks`, run in order; a check is awaited only when it answers a promise. */
export async function firstMessageRefusal(
  checks: readonly MessageCheck[],
  facts: MessageFacts,
): Promise<Refusal | undefined> {
  for (const check of checks) {
    const answer = check(facts);
    const refused = answer instanceof Promise ? await answer : answer;
    if (refused) return refused;
  }
  return undefined;
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
