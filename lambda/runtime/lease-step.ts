/**
 * The per-caller limit in the request pipeline (`maxConcurrentRequestsPerCaller`): one caller
 * (`sub` + `client_id`) holds at most `limit` executions of the function at once, counted with a
 * lease each in DynamoDB ({@link createCallerLeases}). What a lease costs (a Query and a PutItem,
 * then a DeleteItem) is paid only by requests that hold an execution:
 *
 * - **Up front**, after every check and before dispatch: a `subscriptions/listen` stream and a
 *   `tools/call` of a tool whose policy says `longRunning`. A caller at its limit gets 429 with
 *   `Retry-After` before anything runs; DynamoDB out of reach gives 503 with `Retry-After` (fail
 *   closed).
 * - **Lazily**, for every other request: nothing unless it is still running after `leaseAfterMs`;
 *   then it takes a lease, and when refused it is given up through its {@link RequestLimits} (an
 *   SSE error event if it streams already, else the 429 or 503 answer) and its tool aborted. A
 *   caller can therefore hold at most the limit plus what it starts within one grace period.
 *
 * A lease expires at the request's own deadline (Lambda's remaining time) and is released once the
 * request is finished, whatever ended it (the record's cleanups run exactly once).
 */
import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { callerOf } from './caller';
import { type CallerLeases, createCallerLeases, type LeaseAcquisition, type LeaseLogger } from './caller-leases';
import type { RuntimeSettings } from './config';
import type { ParsedMessage } from './json-rpc';
import { LISTEN_METHOD } from './message-checks';
import { type Refusal, refusal } from './refusal';
import type { GiveUpAnswer, RequestLimits } from './request-limits';
import { onFinished, type RequestRecord } from './request-record';
import { jsonRpcErrorResponse, TRANSPORT_ERROR } from './responses';
import { policyOf, type ToolPolicies } from './tool-policy';

/** How long a request runs before it needs a lease, unless `leaseAfterMs` says otherwise. */
export const DEFAULT_LEASE_AFTER_MS = 5000;
/** A lease's hold when no Lambda context says what is left: Lambda's longest invocation, 15 minutes. */
const FALLBACK_HOLD_MS = 900_000;
/** The setting a refusal names, so that an operator knows what to raise. */
const SETTING = 'maxConcurrentRequestsPerCaller';

export interface CallerLimitOptions {
  readonly leases: CallerLeases;
  /** Milliseconds a request that does not hold from the start may run before it takes a lease. */
  readonly leaseAfterMs: number;
  readonly policies: ToolPolicies;
}

/** One request as the limit sees it. */
export interface LeaseRequest {
  readonly parsed: ParsedMessage;
  readonly authInfo: AuthInfo;
  readonly record: RequestRecord;
  readonly limits: RequestLimits;
}

/**
 * Takes a lease before dispatch for a request that holds from the start (a refusal when refused),
 * or arms the grace-period timer for any other; the lease, or the timer, ends with the request.
 */
export type CallerLimitStep = (request: LeaseRequest) => Promise<Refusal | undefined>;

/**
 * The leases for these settings, or undefined when the limit is off or no table is configured:
 * then no request takes a lease and no DynamoDB client is ever made.
 */
export function callerLeasesOf(
  settings: Pick<RuntimeSettings, 'stateTableName' | 'maxConcurrentRequestsPerCaller'>,
  options: { readonly clientConfig?: DynamoDBClientConfig; readonly logger?: LeaseLogger } = {},
): CallerLeases | undefined {
  const limit = settings.maxConcurrentRequestsPerCaller;
  if (limit === false || settings.stateTableName === undefined) return undefined;
  return createCallerLeases({
    tableName: settings.stateTableName,
    limit,
    ...(options.clientConfig === undefined ? {} : { clientConfig: options.clientConfig }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
}

export function createCallerLimitStep({ leases, leaseAfterMs, policies }: CallerLimitOptions): CallerLimitStep {
  const holdsFromStart = (parsed: ParsedMessage): boolean =>
    parsed.rpcMethod === LISTEN_METHOD || policyOf(policies, parsed.tool)?.longRunning === true;
  return async (request) => {
    if (holdsFromStart(request.parsed)) return leaseUpFront(leases, request);
    leaseAfterGrace(leases, request, leaseAfterMs);
    return undefined;
  };
}

async function leaseUpFront(leases: CallerLeases, { authInfo, record, limits, parsed }: LeaseRequest) {
  const acquired = await leases.acquire(callerOf(authInfo), holdMs(limits));
  if (acquired.kind === 'held') {
    record.reasons.push(`caller lease taken on slot ${acquired.lease.slot} before dispatch`);
    onFinished(record, () => releaseNoting(record, () => acquired.lease.release()));
    return undefined;
  }
  const answer = refusalAnswer(acquired);
  return refusal(
    jsonRpcErrorResponse(answer.status, answer.code, answer.message, {
      id: parsed.id,
      data: answer.data,
      headers: answer.headers,
    }),
    `${refusalReason(acquired)}; refused before dispatch`,
  );
}

function leaseAfterGrace(leases: CallerLeases, { authInfo, record, limits }: LeaseRequest, afterMs: number): void {
  const caller = callerOf(authInfo);
  const timer = setTimeout(() => {
    void (async () => {
      const acquired = await leases.acquire(caller, holdMs(limits));
      if (acquired.kind === 'held') {
        // A request that finished meanwhile releases at once (onFinished runs it then).
        if (!record.finished)
          record.reasons.push(`caller lease taken on slot ${acquired.lease.slot} after ${afterMs} ms`);
        onFinished(record, () => releaseNoting(record, () => acquired.lease.release()));
        return;
      }
      if (record.finished) return;
      record.reasons.push(`${refusalReason(acquired)}; given up after ${afterMs} ms`);
      limits.refuse(refusalAnswer(acquired));
    })();
  }, afterMs);
  onFinished(record, () => clearTimeout(timer));
}

/** What the lease may hold: the rest of the invocation, so that it expires when the request must have ended. */
function holdMs(limits: RequestLimits): number {
  return limits.remainingMs() ?? FALLBACK_HOLD_MS;
}

async function releaseNoting(record: RequestRecord, release: () => Promise<string>): Promise<void> {
  const outcome = await release();
  if (outcome !== 'released') record.reasons.push(`caller lease ${outcome} at the end of the request`);
}

type Refused = Exclude<LeaseAcquisition, { kind: 'held' }>;

/** The answer of a refused lease: 429 at the limit, 503 when DynamoDB could not say; both with `Retry-After`. */
export function refusalAnswer(acquired: Refused): GiveUpAnswer {
  const retryAfter = String(acquired.retryAfterSeconds);
  if (acquired.kind === 'limit-reached') {
    return {
      status: 429,
      code: TRANSPORT_ERROR,
      message: `Too many concurrent requests: this caller already holds ${acquired.held} of ${acquired.limit} (${SETTING}); retry after ${retryAfter} s`,
      data: { limit: acquired.limit, retryAfterSeconds: acquired.retryAfterSeconds },
      headers: { 'Retry-After': retryAfter },
    };
  }
  return {
    status: 503,
    code: TRANSPORT_ERROR,
    message: `Service unavailable: the per-caller limit (${SETTING}) could not be checked; retry after ${retryAfter} s`,
    data: { retryable: true, retryAfterSeconds: acquired.retryAfterSeconds },
    headers: { 'Retry-After': retryAfter },
  };
}

function refusalReason(acquired: Refused): string {
  return acquired.kind === 'limit-reached'
    ? `per-caller limit reached: the caller holds ${acquired.held} of ${acquired.limit} (${SETTING})`
    : `per-caller limit unavailable, refused (fail closed): ${acquired.reason}`;
}
