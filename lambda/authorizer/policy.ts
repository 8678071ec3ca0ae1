/**
 * The authorizer's answer to API Gateway: an IAM policy plus a flat context.
 *
 * The policy names the whole API (`<apiId>/<stage>/*\/*`), not the one method that was called:
 * API Gateway caches the answer per token, and a policy naming one route would deny every other
 * route for as long as the cache holds it.
 */
import { authorizerContextOf, type AuthorizerContext } from '../shared/identity-context';
import type { VerifiedAccessToken } from './errors';
import { AuthorizerError } from './errors';

/** Structurally the `APIGatewayAuthorizerResult` of @types/aws-lambda, kept here so the core stays AWS-free. */
export interface AuthorizerPolicyResult {
  readonly principalId: string;
  readonly policyDocument: {
    readonly Version: '2012-10-17';
    // Mutable array type so the result is assignable to @types/aws-lambda's APIGatewayAuthorizerResult.
    readonly Statement: Array<{
      readonly Action: 'execute-api:Invoke';
      readonly Effect: 'Allow' | 'Deny';
      readonly Resource: string;
    }>;
  };
  readonly context?: AuthorizerContext;
}

export class MalformedMethodArnError extends AuthorizerError {
  override readonly name = 'MalformedMethodArnError';
  constructor(methodArn: string) {
    super(
      `methodArn "${methodArn.slice(0, 200)}" is not an execute-api method ARN (arn:<partition>:execute-api:<region>:<account>:<apiId>/<stage>/<method>/<path>)`,
    );
  }
}

const METHOD_ARN = /^arn:(aws[a-z-]*):execute-api:([a-z0-9-]+):(\d{12}):([A-Za-z0-9]+)\/([A-Za-z0-9_-]+)\/[^/]+\/?.*$/;

/** `arn:aws:execute-api:<region>:<account>:<apiId>/<stage>/GET/mcp` → `arn:aws:execute-api:<region>:<account>:<apiId>/<stage>/*\/*`. */
export function apiWildcardArn(methodArn: string): string {
  const match = METHOD_ARN.exec(methodArn);
  if (!match) throw new MalformedMethodArnError(methodArn);
  const [, partition, region, account, apiId, stage] = match;
  return `arn:${partition}:execute-api:${region}:${account}:${apiId}/${stage}/*/*`;
}

/** The identity of a verified token, as the context API Gateway passes to the backend. */
export function authorizerContext(token: VerifiedAccessToken): AuthorizerContext {
  return authorizerContextOf(token);
}

function policy(principalId: string, effect: 'Allow' | 'Deny', methodArn: string): AuthorizerPolicyResult {
  return {
    principalId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: apiWildcardArn(methodArn) }],
    },
  };
}

/** Lets the token through to every route of the API, with its identity in the context. */
export function allowPolicy(token: VerifiedAccessToken, methodArn: string): AuthorizerPolicyResult {
  return { ...policy(token.sub, 'Allow', methodArn), context: authorizerContext(token) };
}

/** Refuses a valid token (API Gateway answers 403); used when required scopes are missing. */
export function denyPolicy(principalId: string, methodArn: string): AuthorizerPolicyResult {
  return policy(principalId, 'Deny', methodArn);
}
