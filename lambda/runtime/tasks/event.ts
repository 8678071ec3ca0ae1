/**
 * The event that starts a task's worker: an asynchronous `Invoke` of the MCP function itself with
 * `{ mcpTask, mac }` at the top level. API Gateway always wraps a client's request in a proxy event
 * (`httpMethod`, `requestContext`, the body a string), so an `mcpTask` at the top level can only come
 * from a direct `Invoke`, which IAM allows to the function's own role alone (the construct grants
 * `lambda:InvokeFunction` on the function itself only). Defence in depth: `mac` is an HMAC-SHA256
 * of the event's JSON with a key derived from the `requestState` key the function already holds,
 * checked before anything else, and an event older than {@link MAX_EVENT_AGE_MS} is refused (the
 * construct also lets Lambda drop events that waited longer, `maxEventAge`).
 *
 * The event carries the caller as the authorizer vouched for it at creation (`sub`, `client_id`,
 * scopes, organization), never the access token.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AuthInfo } from '@modelcontextprotocol/server';

/** Lambda's shortest `maxEventAge` (60 s) plus a clock margin: older events are refused. */
export const MAX_EVENT_AGE_MS = 65_000;
const KEY_LABEL = 'mcp-task-event-v1';

/** The caller's identity as the worker needs it: what the authorizer vouched for, no token. */
export interface TaskIdentity {
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly resource?: string;
  readonly extra?: Readonly<Record<string, unknown>>;
}

export interface TaskEventBody {
  readonly taskId: string;
  /** 1 for the creating call, one more for each round resumed by the `tasks/update` that answered the last question. */
  readonly round: number;
  readonly identity: TaskIdentity;
  /** The `tools/call` params, on round 1 only (later rounds read them from the task). */
  readonly call?: Readonly<Record<string, unknown>>;
  /** Epoch milliseconds. */
  readonly issuedAt: number;
}

export interface TaskEvent {
  readonly mcpTask: TaskEventBody;
  readonly mac: string;
}

/** Whether a Lambda event is a task event (the one check every invocation pays). */
export function isTaskEvent(event: unknown): event is TaskEvent {
  return typeof event === 'object' && event !== null && 'mcpTask' in event;
}

export function identityOf(authInfo: AuthInfo): TaskIdentity {
  return {
    clientId: authInfo.clientId,
    scopes: [...authInfo.scopes],
    ...(authInfo.resource === undefined ? {} : { resource: authInfo.resource.href }),
    ...(authInfo.extra === undefined ? {} : { extra: authInfo.extra }),
  };
}

/** The `AuthInfo` the worker runs the tool with: the vouched identity, an empty token. */
export function authInfoOf(identity: TaskIdentity): AuthInfo {
  return {
    token: '',
    clientId: identity.clientId,
    scopes: [...identity.scopes],
    ...(identity.resource === undefined ? {} : { resource: new URL(identity.resource) }),
    ...(identity.extra === undefined ? {} : { extra: { ...identity.extra } }),
  };
}

function macOf(key: string | Uint8Array, body: string): string {
  const derived = createHmac('sha256', key).update(KEY_LABEL).digest();
  return createHmac('sha256', derived).update(body).digest('base64url');
}

export function signTaskEvent(key: string | Uint8Array, body: TaskEventBody): string {
  const json = JSON.stringify(body);
  return `{"mcpTask":${json},"mac":${JSON.stringify(macOf(key, json))}}`;
}

/** The event's body when its MAC verifies and it is recent; otherwise the reason it was refused. */
export function verifyTaskEvent(
  key: string | Uint8Array,
  event: TaskEvent,
  now: number,
): { readonly body: TaskEventBody } | { readonly refused: string } {
  if (typeof event.mac !== 'string' || typeof event.mcpTask !== 'object' || event.mcpTask === null)
    return { refused: 'the task event has no mac or no body' };
  const expected = Buffer.from(macOf(key, JSON.stringify(event.mcpTask)));
  const given = Buffer.from(event.mac);
  if (expected.length !== given.length || !timingSafeEqual(expected, given))
    return { refused: 'the task event MAC does not verify (not signed with this function’s key)' };
  const age = now - event.mcpTask.issuedAt;
  if (!Number.isFinite(age) || age > MAX_EVENT_AGE_MS || age < -MAX_EVENT_AGE_MS)
    return { refused: `the task event was issued ${age} ms ago, outside the ${MAX_EVENT_AGE_MS} ms it may be used` };
  return { body: event.mcpTask };
}
