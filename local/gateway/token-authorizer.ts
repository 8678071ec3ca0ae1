/**
 * Lambda authorizers as API Gateway runs them: the identity from its sources (TOKEN: one header;
 * REQUEST: every source present and non-empty, or 401 without an invocation), the Lambda invoked on
 * a cache miss, its result checked and cached by identity for the authorizer's TTL (0: no cache),
 * and the policy evaluated against the method ARN. A REQUEST authorizer's event carries the
 * request's headers, query, path and stage variables, never the body
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html).
 * A Deny keeps the authorizer's context for the gateway response's `$context.authorizer.<key>`.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { GATEWAY_MESSAGES, type GatewayError } from './gateway-responses';
import type { LocalFunction } from './lambda-runtime';
import type { IdentitySourceModel, TokenAuthorizerModel } from './model';
import { evaluatePolicy, MalformedPolicyError, parsePolicyDocument, type PolicyStatement } from './policy';
import { headerValue, type IncomingRequest, jsonObjectOf, parseQuery } from './proxy-event';

/**
 * What a TOKEN authorizer's failure gets, other than an `Unauthorized` error (401) or a policy that
 * does not allow the method (403): any other error it throws, a result that is not a valid policy
 * or has a nested or null context value, and its invocation failing (its own Timeout, a crash, a
 * throttle, which Lambda reports to API Gateway as a failed invocation like a thrown error) all get
 * 500 AUTHORIZER_CONFIGURATION_ERROR with `$context.error.message` null.
 * - "return badly formatted output or raise any other exception, which gets us 500
 *   AuthorizerConfigurationException": https://stackoverflow.com/questions/53101144
 * - "If CA throws an exception with any other message then user gets HTTP-500 ... (Authorizer
 *   Configuration Error)": https://newbedev.com/api-gateway-custom-authorizer-control-error-message-and-code
 * - the body `{"message": null}` for authorizer failures, a timeout included:
 *   https://dev.to/marcogrcr/api-gateway-lambda-authorizer-lambda-proxy-integration-failure-modes-52bc
 * - AUTHORIZER_CONFIGURATION_ERROR, 500, "failing to connect to a custom ... authorizer":
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
 * AUTHORIZER_FAILURE is not produced: no source shows a Lambda TOKEN authorizer leading to it.
 */
const AUTHORIZER_BROKEN: GatewayError = { type: 'AUTHORIZER_CONFIGURATION_ERROR', message: null };

export interface CachedAuthorization {
  readonly principalId: string;
  readonly statements: readonly PolicyStatement[];
  readonly context: Record<string, string>;
  readonly expiresAt: number;
}

type CacheOutcome = 'hit' | 'miss' | 'skipped';

type AuthorizationFailure = {
  readonly ok: false;
  readonly error: GatewayError;
  readonly reason: string;
  readonly cache: CacheOutcome;
  /** A Deny's principal and context, which the gateway response's templates may read. */
  readonly authorizer?: Record<string, string>;
};

/** What an authorizer is asked about: the request, its method ARN, and a REQUEST event's request part, built on demand. */
export interface AuthorizationRequest {
  readonly request: IncomingRequest;
  readonly arn: string;
  /** The REQUEST event but `type` and `methodArn`: resource, path, httpMethod, headers, query, path parameters, stage variables, request context. */
  readonly requestEvent: () => Record<string, unknown>;
}

export type AuthorizationResult =
  | { readonly ok: true; readonly authorizer: Record<string, string>; readonly cache: 'hit' | 'miss' }
  | AuthorizationFailure;

function unauthorized(reason: string, cache: CacheOutcome): AuthorizationFailure {
  return { ok: false, error: { type: 'UNAUTHORIZED', message: GATEWAY_MESSAGES.unauthorized }, reason, cache };
}

/** The value of one identity source (a repeated parameter: its last value). */
function sourceValue(source: IdentitySourceModel, request: IncomingRequest): string | undefined {
  if (source.location === 'header') return headerValue(request.rawHeaders, source.name.toLowerCase());
  const values = parseQuery(request.rawQuery).get(source.name);
  return values?.[values.length - 1];
}

/** The identity values (TOKEN: the token), or why the authorizer is not invoked. */
function identityOf(authorizer: TokenAuthorizerModel, request: IncomingRequest): string[] | AuthorizationFailure {
  const values: string[] = [];
  for (const source of authorizer.identitySources) {
    const value = sourceValue(source, request);
    if (value === undefined || value === '') return unauthorized(`no ${source.name} ${source.location}`, 'skipped');
    values.push(value);
  }
  if (authorizer.validation && !authorizer.validation.test(values[0])) {
    return unauthorized(
      `the ${authorizer.identitySources[0].name} header does not match the authorizer's validation expression`,
      'skipped',
    );
  }
  return values;
}

/** The policy's answer for the method ARN; an allowed request carries the authorizer's context on. */
function decide(
  entry: CachedAuthorization,
  arn: string,
  cache: 'hit' | 'miss',
  integrationLatency: number,
): AuthorizationResult {
  const decision = evaluatePolicy(entry.statements, arn);
  if (decision !== 'ALLOW') {
    const explicit = decision === 'EXPLICIT_DENY';
    return {
      ok: false,
      authorizer: { principalId: entry.principalId, ...entry.context },
      error: {
        type: 'ACCESS_DENIED',
        message: explicit ? GATEWAY_MESSAGES.explicitDeny : GATEWAY_MESSAGES.implicitDeny,
      },
      reason: explicit
        ? 'the authorizer policy denies this method explicitly'
        : 'the authorizer policy does not allow this method',
      cache,
    };
  }
  return {
    ok: true,
    authorizer: { principalId: entry.principalId, ...entry.context, integrationLatency: String(integrationLatency) },
    cache,
  };
}

/** The gateway's Lambda authorizers with their shared result cache. */
export class TokenAuthorizers {
  private readonly cache = new Map<string, CachedAuthorization>();
  private hits = 0;
  private misses = 0;

  constructor(private readonly functionOf: (logicalId: string) => LocalFunction) {}

  stats(): { readonly hits: number; readonly misses: number; readonly entries: number } {
    return { hits: this.hits, misses: this.misses, entries: this.cache.size };
  }

  async authorize(authorizer: TokenAuthorizerModel, asked: AuthorizationRequest): Promise<AuthorizationResult> {
    const identity = identityOf(authorizer, asked.request);
    if (!Array.isArray(identity)) return identity;
    const { arn } = asked;
    // Identities are kept only as hashes, so the cache never holds a credential.
    const cacheKey = `${authorizer.logicalId}\0${createHash('sha256').update(identity.join('\0')).digest('hex')}`;
    const now = Date.now();
    const cached = this.cache.get(cacheKey);
    if (cached && cached.expiresAt > now) {
      this.hits++;
      return decide(cached, arn, 'hit', 0);
    }
    if (cached) this.cache.delete(cacheKey);
    this.misses++;
    const event =
      authorizer.type === 'TOKEN'
        ? { type: 'TOKEN', authorizationToken: identity[0], methodArn: arn }
        : { type: 'REQUEST', methodArn: arn, ...asked.requestEvent() };
    const invoked = await this.invoke(authorizer, event, identity, now);
    if (!invoked.ok) return invoked;
    if (authorizer.ttlSeconds > 0) this.cache.set(cacheKey, invoked.entry);
    return decide(invoked.entry, arn, 'miss', invoked.latency);
  }

  /** Invokes the authorizer's function and checks its result; the failure says what went wrong. */
  private async invoke(
    authorizer: TokenAuthorizerModel,
    event: Record<string, unknown>,
    identity: readonly string[],
    now: number,
  ): Promise<
    { readonly ok: true; readonly entry: CachedAuthorization; readonly latency: number } | AuthorizationFailure
  > {
    const fn = this.functionOf(authorizer.functionLogicalId);
    const started = performance.now();
    const outcome = await fn.invoke(event);
    const latency = Math.round(performance.now() - started);
    if (!outcome.ok) {
      if (outcome.failure === 'function' && outcome.error.errorMessage === 'Unauthorized')
        return unauthorized('the authorizer rejected the token (Unauthorized)', 'miss');
      // An authorizer's message could quote the token; the log gets it without.
      const message = identity.reduce(
        (text, value) => text.split(value).join('[identity]'),
        outcome.error.errorMessage,
      );
      return {
        ok: false,
        error: AUTHORIZER_BROKEN,
        reason: `the authorizer failed (${outcome.failure}): ${outcome.error.errorType}: ${message}`,
        cache: 'miss',
      };
    }
    try {
      return { ok: true, entry: parseAuthorizerResult(outcome.payload, now + authorizer.ttlSeconds * 1000), latency };
    } catch (error) {
      return { ok: false, error: AUTHORIZER_BROKEN, reason: (error as Error).message, cache: 'miss' };
    }
  }
}

/** Checks an authorizer's output as API Gateway does: a principal, a valid policy, a flat context. */
export function parseAuthorizerResult(payload: string, expiresAt: number): CachedAuthorization {
  const r = jsonObjectOf(payload, (reason) => new MalformedPolicyError(reason));
  if (typeof r.principalId !== 'string' && typeof r.principalId !== 'number')
    throw new MalformedPolicyError('principalId is missing');
  const statements = parsePolicyDocument(r.policyDocument);
  const context: Record<string, string> = {};
  if (r.context !== undefined && r.context !== null) {
    if (typeof r.context !== 'object' || Array.isArray(r.context))
      throw new MalformedPolicyError('context must be an object');
    for (const [key, value] of Object.entries(r.context)) {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw new MalformedPolicyError(
          `context.${key} must be a string, number or boolean (API Gateway rejects nested or null values)`,
        );
      }
      context[key] = String(value);
    }
  }
  return { principalId: String(r.principalId), statements, context, expiresAt };
}
