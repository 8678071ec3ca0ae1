/**
 * The request pipeline shared by both transfer modes. Per request, in this order: Origin (403),
 * CORS preflight (204), identity (401), the {@link HTTP_CHECKS} (405, 413, 406, 415), the body as
 * one JSON-RPC message (400), the message checks (`subscriptions/listen` when buffered, each tool's
 * policy, the requestState key), the tasks step (`tasks/methods.ts`: the task methods and task
 * tools, answered before the SDK; absent when no tool supports tasks), the per-caller limit (`lease-step.ts`: 429 or 503 for a request
 * that holds from the start, a grace-period lease for the others), then {@link dispatch} hands the
 * message to the MCP SDK. Each check returns a refusal or
 * nothing; the pipeline alone writes what they return on the request's record. Whatever happens,
 * the answer is JSON-RPC with the CORS headers.
 */
import type { AuthInfo, RequestId } from '@modelcontextprotocol/server';
import {
  bodyTextOf,
  headerValuesOf,
  proxyResultFromResponse,
  publicBaseOf,
  requestFromProxyEvent,
  type ProxyEvent,
  type ProxyResult,
} from './adapter';
import type { readRuntimeSettings } from './config';
import { InvalidProxyEventError, StreamingResponseError } from './errors';
import { HTTP_CHECKS, originCheck, type HttpFacts } from './http-checks';
import { createIdentify } from './identity-check';
import { parseMessage, type ParsedMessage } from './json-rpc';
import { createMessageChecks, firstMessageRefusal, LISTEN_METHOD } from './message-checks';
import { isRefusal, type Refusal } from './refusal';
import { hooksOf, type RequestRecord } from './request-record';
import type { CallerLeases } from './caller-leases';
import { createCallerLimitStep, DEFAULT_LEASE_AFTER_MS } from './lease-step';
import type { RequestLimits } from './request-limits';
import type { RequestStates } from './request-state';
import { corsHeaders, INTERNAL_ERROR, INVALID_REQUEST, jsonRpcErrorResponse, preflightResponse } from './responses';
import type { SdkServe } from './sdk-bridge';
import type { ToolPolicies } from './tool-policy';
import type { TasksStep } from './tasks';
import type { RoleResolver } from './workos-access';

type Settings = ReturnType<typeof readRuntimeSettings>;

/** Answers one request; always resolves with a response carrying the CORS headers. */
export type Answerer = (event: ProxyEvent, record: RequestRecord, limits: RequestLimits) => Promise<Response>;

export interface PipelineOptions {
  readonly settings: Settings;
  readonly requestStates?: RequestStates;
  /** Each tool's policy, from the tool definitions. */
  readonly policies: ToolPolicies;
  /** Resolves a person's access for policies that name roles or permissions. */
  readonly roleResolver?: RoleResolver;
  /** The MCP SDK, for a message every check let through. */
  readonly sdk: SdkServe;
  /** The per-caller leases; absent, no request takes one. @default - none */
  readonly leases?: CallerLeases;
  /** How long a request that does not hold from the start runs before it takes a lease. @default 5000 */
  readonly leaseAfterMs?: number;
  /** The tasks extension's methods and task tools, answered before the SDK (tasks/methods.ts). @default - none */
  readonly tasks?: TasksStep;
}

export function createPipeline({
  settings,
  policies,
  roleResolver,
  requestStates,
  sdk,
  tasks,
  ...limit
}: PipelineOptions): Answerer {
  const identify = createIdentify(settings);
  const messageChecks = createMessageChecks(settings, policies, roleResolver, requestStates);
  const callerLimit =
    limit.leases === undefined
      ? undefined
      : createCallerLimitStep({
          leases: limit.leases,
          leaseAfterMs: limit.leaseAfterMs ?? DEFAULT_LEASE_AFTER_MS,
          policies,
        });
  const dispatch = createDispatch(settings, sdk);

  const serve = async (event: ProxyEvent, record: RequestRecord, limits: RequestLimits) => {
    const headers = headerValuesOf(event);
    const header = (name: string): string | undefined => headers.get(name)?.join(', ');
    const origin = originCheck(header('origin'), settings.origins);
    if (isRefusal(origin)) return refuse(record, origin);
    record.allowedOrigin = origin.allowedOrigin;
    if (record.httpMethod === 'OPTIONS') return preflightResponse();
    const identity = identify(event, header('authorization'));
    record.sub = identity.sub;
    if (isRefusal(identity)) return refuse(record, identity);
    const body = bodyTextOf(event);
    const http: HttpFacts = {
      method: record.httpMethod,
      byteLength: body.byteLength,
      maxBodyBytes: settings.maxBodyBytes,
      header,
    };
    const httpRefusal = firstRefusal(HTTP_CHECKS, http);
    if (httpRefusal) return refuse(record, httpRefusal);
    const parsed = parseMessage(body.text);
    if (isRefusal(parsed)) return refuse(record, parsed);
    record.rpcId = parsed.id;
    record.rpcMethod = parsed.rpcMethod;
    record.tool = parsed.tool;
    const messageRefusal = await firstMessageRefusal(messageChecks, { parsed, authInfo: identity.authInfo });
    if (messageRefusal) return refuse(record, messageRefusal);
    const taskAnswer = tasks?.({ parsed, authInfo: identity.authInfo, header, record });
    if (taskAnswer) return taskAnswer;
    const limitRefusal = await callerLimit?.({ parsed, authInfo: identity.authInfo, record, limits });
    if (limitRefusal) return refuse(record, limitRefusal);
    return dispatch({ event, headers, parsed, authInfo: identity.authInfo, record, limits });
  };

  return async (event, record, limits) => {
    let response: Response;
    try {
      response = await serve(event, record, limits);
    } catch (error) {
      response = errorResponse(error, record);
    }
    return withCors(response, record, settings.origins.any);
  };
}

function firstRefusal<T>(checks: readonly ((facts: T) => Refusal | undefined)[], facts: T): Refusal | undefined {
  for (const check of checks) {
    const refused = check(facts);
    if (refused) return refused;
  }
  return undefined;
}

function refuse(record: RequestRecord, { refused, reason }: Refusal): Response {
  record.reasons.push(reason);
  return refused;
}

/** A message every check let through, with what serving it needs. */
interface Checked {
  readonly event: ProxyEvent;
  readonly headers: ReturnType<typeof headerValuesOf>;
  readonly parsed: ParsedMessage;
  readonly authInfo: AuthInfo;
  readonly record: RequestRecord;
  readonly limits: RequestLimits;
}

/**
 * Where a checked JSON-RPC message is served: today every method goes to the MCP SDK. A method the
 * runtime serves itself is routed here, before the SDK.
 */
function createDispatch(settings: Settings, sdk: SdkServe): (checked: Checked) => Promise<Response> {
  const base = publicBaseOf(settings.urls.base);
  return async ({ event, headers, parsed, authInfo, record, limits }) => {
    if (parsed.rpcMethod === LISTEN_METHOD) limits.holdFor(settings.listenMaxSeconds);
    // The SDK gets the parsed message as `parsedBody` on both paths and then never reads the body,
    // so the request carries none.
    const request = requestFromProxyEvent(event, base, { headers, withoutBody: true, signal: limits.signal });
    const response = await sdk(request, parsed, authInfo, hooksOf(record));
    // The SDK already answered JSON-RPC; add the request id so the caller can quote it.
    if (response.status >= 500) {
      await response.body?.cancel().catch(() => undefined);
      return internalError(record.requestId, parsed.id);
    }
    return response;
  };
}

function errorResponse(error: unknown, record: RequestRecord): Response {
  if (error instanceof InvalidProxyEventError) {
    record.reasons.push(error.message);
    return jsonRpcErrorResponse(400, INVALID_REQUEST, `Bad Request: ${error.message}`);
  }
  record.error = error instanceof Error ? error : new Error(String(error));
  record.reasons.push(`unexpected ${record.error.name}: ${record.error.message}`);
  return internalError(record.requestId, record.rpcId ?? null);
}

/** The response with the CORS headers the request's Origin earns. */
export function withCors(response: Response, record: RequestRecord, anyOrigin: boolean): Response {
  const cors = corsHeaders(record.allowedOrigin, anyOrigin);
  try {
    for (const [name, values] of Object.entries(cors)) response.headers.set(name, values.join(', '));
    return response;
  } catch {
    // A response with immutable headers (Response.error(), a fetched one): copy them.
    const headers = new Headers(response.headers);
    for (const [name, values] of Object.entries(cors)) headers.set(name, values.join(', '));
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
}

export function internalError(requestId: string, id: RequestId | null): Response {
  return jsonRpcErrorResponse(500, INTERNAL_ERROR, `Internal error (request id ${requestId})`, {
    id,
    data: { requestId },
  });
}

/** A buffered answer as one proxy result; an event stream (which buffered cannot carry) becomes a 500. */
export async function bufferedResult(
  response: Response,
  record: RequestRecord,
  anyOrigin: boolean,
): Promise<ProxyResult> {
  try {
    return await proxyResultFromResponse(response);
  } catch (error) {
    if (!(error instanceof StreamingResponseError)) throw error;
    // Backstop: buffered, only listen-class requests stream, and those are refused up front.
    record.reasons.push(error.message);
    return proxyResultFromResponse(withCors(internalError(record.requestId, record.rpcId ?? null), record, anyOrigin));
  }
}
