/**
 * 6 (continued). The step-up challenge, on a stage that turns `stepUpChallenge` on: a 2026-07-28
 * `tools/call` of `server_config` (the sample's tool that needs a scope beyond sign-in) with a token
 * that lacks its scope gets 403 from the gateway with a real `WWW-Authenticate: Bearer
 * error="insufficient_scope", scope="…", resource_metadata="…"`, and the body names the scopes the
 * token lacked. The check cannot read the stage: a 403 whose challenge is only in the body (API
 * Gateway renamed the function's header) means the stage leaves it off, and the check is skipped
 * saying so, as it is when the token may call the tool.
 */
import { type Where, logsHint } from '../context';
import { bearerChallengeParams } from '../context';
import { describeFailure, headerValue, jsonObject, type HttpResponse } from '../http';
import { sectionResults, type CheckResult } from '../report';
import type { TokenSender } from './browser';
import { modernRequest } from './modern-protocol';

const { pass, fail, skip } = sectionResults('token');

/** The sample's tool that requires a scope (`mcp:admin`) a sign-in does not give by default. */
export const STEP_UP_TOOL = 'server_config';
const ID = 'mcp.step-up';
const TITLE = `A 2026-07-28 tools/call of ${STEP_UP_TOOL} without its scope gets 403 with WWW-Authenticate: Bearer error="insufficient_scope" (stepUpChallenge)`;
const GATEWAY_FIX =
  "the ACCESS_DENIED gateway response of a stage with stepUpChallenge carries the challenge (AuthKitMcpServer adds it): deploy the stack with the construct's gateway responses unchanged";

function scopesOf(text: unknown): string[] {
  return typeof text === 'string' ? text.split(' ').filter((scope) => scope !== '') : [];
}

/** Judges the gateway's step-up refusal: its header, and the body naming what the token lacks. */
export function judgeStepUp(
  response: HttpResponse,
  resourceMetadataUrl: string,
  tokenScopes: readonly string[],
): CheckResult {
  if (response.status !== 403)
    return skip(
      ID,
      TITLE,
      `${STEP_UP_TOOL} answered HTTP ${response.status}, not 403: the token may call it, or the server has no such tool; check with a token without its scope`,
    );
  const header = headerValue(response, 'www-authenticate');
  if (header === undefined)
    return skip(
      ID,
      TITLE,
      headerValue(response, 'x-amzn-remapped-www-authenticate') !== undefined
        ? 'the 403 came from the MCP function (its challenge is in the body; API Gateway renamed the header): the stage does not turn stepUpChallenge on'
        : 'the 403 has no challenge header: the stage does not turn stepUpChallenge on',
    );
  const params = bearerChallengeParams(header) ?? {};
  const headerScopes = scopesOf(params.scope);
  if (params.error !== 'insufficient_scope' || headerScopes.length === 0)
    return fail(
      ID,
      TITLE,
      `WWW-Authenticate is "${header}", without error="insufficient_scope" and a scope`,
      GATEWAY_FIX,
    );
  if (params.resource_metadata !== resourceMetadataUrl)
    return fail(
      ID,
      TITLE,
      `the challenge's resource_metadata is ${String(params.resource_metadata)}, the 401's is ${resourceMetadataUrl}`,
      GATEWAY_FIX,
    );
  const required = scopesOf(jsonObject(response)?.required_scope);
  const wrong = required.filter((scope) => !headerScopes.includes(scope) || tokenScopes.includes(scope));
  if (required.length === 0 || wrong.length > 0)
    return fail(
      ID,
      TITLE,
      `the body's required_scope is "${required.join(' ')}"; it must name the scopes the token lacks, each in the header's scope "${headerScopes.join(' ')}"`,
      `the authorizer's Deny must carry the missing scopes in its context and the ACCESS_DENIED body must read $context.authorizer.requiredScope: deploy the construct's authorizer and gateway responses unchanged`,
    );
  return pass(ID, TITLE, `WWW-Authenticate: ${header}; required_scope: ${required.join(' ')}`);
}

export async function checkStepUp(
  send: TokenSender,
  token: string,
  resourceMetadataUrl: string,
  tokenScopes: readonly string[],
  where: Where,
): Promise<CheckResult> {
  const request = modernRequest('tools/call', { name: STEP_UP_TOOL, arguments: {} }, 900);
  try {
    const response = await send(request.headers, request.body);
    if (response.body.includes(token)) return fail(ID, TITLE, 'the answer contains the access token', logsHint(where));
    return judgeStepUp(response, resourceMetadataUrl, tokenScopes);
  } catch (error) {
    return fail(ID, TITLE, describeFailure(error), logsHint(where));
  }
}

/** The check, skipped for one reason. */
export function skippedStepUp(reason: string): CheckResult {
  return skip(ID, TITLE, reason);
}
