/**
 * The API Gateway Lambda authorizer: a thin handler over the AWS-free core in this folder. It
 * answers a TOKEN event (the default gate, cached per token) and, when the stage turns the step-up
 * challenge on, a REQUEST event (no cache): the same verification, plus a Deny for a 2026-07-28
 * `tools/call` of a tool whose scopes (STEP_UP_TOOL_SCOPES) the token lacks, with the missing
 * scopes in the context (`STEP_UP_CONTEXT_KEY`) for the ACCESS_DENIED gateway response's body.
 *
 * Outcomes, as API Gateway sees them:
 * - valid token → Allow policy on the whole API, identity in the context;
 * - valid token of an organization not in ALLOWED_ORGANIZATIONS, or of none when one is required →
 *   Deny policy (403, `wrong_organization`);
 * - valid token lacking REQUIRED_SCOPES → Deny policy (403, `insufficient_scope`);
 * - missing or invalid token → throws exactly `Unauthorized` (401 with the challenge);
 * - AuthKit's keys unreachable → throws another error (500, which the construct maps to 503 + Retry-After).
 * Every decision writes one log line with its reason (Powertools Logger) and one count metric
 * (Powertools Metrics, EMF); never the token.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type {
  APIGatewayAuthorizerResult,
  APIGatewayRequestAuthorizerEvent,
  APIGatewayTokenAuthorizerEvent,
  Handler,
} from 'aws-lambda';
import { decisionMetricName } from '../shared/authorizer-decisions';
import { STEP_UP_CONTEXT_KEY } from '../shared/challenges';
import { AUTHORIZER_CONTEXT_KEYS } from '../shared/identity-context';
import { parseBearerHeader } from './bearer';
import { loadAuthorizerConfig, type AuthorizerConfig } from './config';
import {
  AccessTokenError,
  InsufficientScopeError,
  InvalidTokenError,
  OrganizationRefusedError,
  type DecisionReason,
  type VerifiedAccessToken,
} from './errors';
import { createRemoteJwks } from './jwks';
import { allowPolicy, denyPolicy } from './policy';
import { headerOf, stepUpShortfall } from './step-up';
import { createAccessTokenVerifier, type AccessTokenVerifier } from './verify-access-token';
import { AuthorizerError } from './errors';

export interface AuthorizerHandlerDependencies {
  readonly config: AuthorizerConfig;
  /** @default verifies against the remote JWKS at `config.jwksUrl` */
  readonly verifier?: AccessTokenVerifier;
  /** @default a Powertools Logger for `config.serviceName` at `config.logLevel` */
  readonly logger?: Logger;
  /** @default Powertools Metrics in `config.metricsNamespace`, dimensioned by service */
  readonly metrics?: Metrics;
}

/** The events API Gateway sends a TOKEN authorizer and a REQUEST authorizer. */
export type AuthorizerEvent = APIGatewayTokenAuthorizerEvent | APIGatewayRequestAuthorizerEvent;

export type TokenAuthorizer = (event: AuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

/** Thrown for any failure that is not the caller's fault; API Gateway answers 500 (AUTHORIZER_FAILURE). */
export class AuthorizerUnavailableError extends AuthorizerError {
  override readonly name = 'AuthorizerUnavailableError';
}

/** Writes one decision: a log line with its reason and one count metric. */
type RecordDecision = (
  reason: DecisionReason,
  message: string,
  attributes: Record<string, unknown>,
  level?: 'info' | 'error',
) => void;

function identity(token: VerifiedAccessToken): Record<string, unknown> {
  // Logged under the context's keys, so the decision line and the backend's view of the caller read alike.
  const { sub, clientId } = AUTHORIZER_CONTEXT_KEYS;
  return token.clientId === undefined ? { [sub]: token.sub } : { [sub]: token.sub, [clientId]: token.clientId };
}

/**
 * The answer to a token the verifier refused: Deny for a valid token this server does not serve
 * (another organization, a missing scope), or the error that makes API Gateway answer 401 or 5xx.
 */
function refusal(
  error: unknown,
  methodArn: string,
  record: RecordDecision,
  stepUp: boolean,
): APIGatewayAuthorizerResult {
  if (error instanceof OrganizationRefusedError) {
    const result = denyPolicy(error.token.sub, methodArn);
    record('wrong_organization', 'Access token refused: its organization is not served here', {
      ...identity(error.token),
      detail: error.message,
    });
    return result;
  }
  if (error instanceof InsufficientScopeError) {
    const result = stepUp
      ? { ...denyPolicy(error.token.sub, methodArn), context: { [STEP_UP_CONTEXT_KEY]: error.missingScopes.join(' ') } }
      : denyPolicy(error.token.sub, methodArn);
    record('insufficient_scope', 'Access token lacks required scopes', {
      ...identity(error.token),
      missing_scopes: error.missingScopes.join(' '),
    });
    return result;
  }
  if (error instanceof InvalidTokenError) {
    record(error.reason, 'Access token rejected', { detail: error.message });
    // The exact message API Gateway turns into a 401 with the gateway response's challenge.
    throw new Error('Unauthorized');
  }
  if (error instanceof AccessTokenError) {
    record(
      error.reason,
      'Cannot verify access tokens: AuthKit signing keys are unavailable',
      { detail: error.message },
      'error',
    );
    throw new AuthorizerUnavailableError(error.message, { cause: error });
  }
  throw error;
}

export function createAuthorizerHandler(dependencies: AuthorizerHandlerDependencies): TokenAuthorizer {
  const { config } = dependencies;
  const logger = dependencies.logger ?? new Logger({ serviceName: config.serviceName, logLevel: config.logLevel });
  const metrics =
    dependencies.metrics ?? new Metrics({ namespace: config.metricsNamespace, serviceName: config.serviceName });
  const verifier =
    dependencies.verifier ??
    createAccessTokenVerifier(config, {
      jwks: createRemoteJwks({
        url: config.jwksUrl,
        timeoutMs: config.jwksTimeoutMs,
        cooldownMs: config.jwksCooldownMs,
        onStaleKeysKept: (error) =>
          logger.warn('Refreshing AuthKit signing keys failed; still using the cached keys', { detail: error.message }),
      }),
    });

  const record: RecordDecision = (reason, message, attributes, level = 'info') => {
    logger[level](message, { reason, ...attributes });
    metrics.addMetric(decisionMetricName(reason), MetricUnit.Count, 1);
  };

  return async (event) => {
    try {
      return await decide(event, verifier, config, record);
    } catch (error) {
      if (error instanceof Error && (error.message === 'Unauthorized' || error instanceof AuthorizerUnavailableError))
        throw error;
      // A bug or a malformed event: fail closed with a 500, and say why.
      logger.error('Authorizer failed', {
        detail: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      throw new AuthorizerUnavailableError('Authorizer failed', { cause: error });
    } finally {
      // Nothing is stored when the handler failed before a decision; Powertools would warn about an empty publish.
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}

/**
 * One decision. A REQUEST event (the step-up challenge) carries the Authorization header among its
 * headers, and its Deny for a tool's missing scopes names them in the context.
 */
async function decide(
  event: AuthorizerEvent,
  verifier: AccessTokenVerifier,
  config: AuthorizerConfig,
  record: RecordDecision,
): Promise<APIGatewayAuthorizerResult> {
  const stepUp = event.type === 'REQUEST';
  const header = stepUp ? headerOf(event.headers, 'Authorization') : event.authorizationToken;
  let verified: VerifiedAccessToken;
  try {
    verified = await verifier.verifyAccessToken(parseBearerHeader(header));
  } catch (error) {
    return refusal(error, event.methodArn, record, stepUp);
  }
  const shortfall = stepUp ? stepUpShortfall(event.headers, config.stepUpToolScopes, verified.scopes) : undefined;
  if (shortfall !== undefined) {
    const missing = shortfall.missingScopes.join(' ');
    record('insufficient_scope', 'Access token lacks the scopes of the tool it calls', {
      ...identity(verified),
      tool: shortfall.tool,
      missing_scopes: missing,
    });
    return { ...denyPolicy(verified.sub, event.methodArn), context: { [STEP_UP_CONTEXT_KEY]: missing } };
  }
  const result = allowPolicy(verified, event.methodArn);
  record('allowed', 'Access token accepted', identity(verified));
  return result;
}

let defaultAuthorizer: TokenAuthorizer | undefined;

/**
 * The deployed entry point. Configuration, JWKS cache, logger and metrics are built on the first
 * invocation and kept for the life of the container; a bad setting fails every invocation with
 * an error naming the variable (500), never an Allow.
 */
export const handler: Handler<AuthorizerEvent, APIGatewayAuthorizerResult> = async (event) => {
  defaultAuthorizer ??= createAuthorizerHandler({ config: loadAuthorizerConfig(process.env) });
  return defaultAuthorizer(event);
};
