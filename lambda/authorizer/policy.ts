/**
 * The authorizer's answer to API Gateway: an IAM policy plus a flat context.
 *
 * The policy names the whole API (`<apiId>/<stage>/*\/*`), not the one method that was called:
 * API Gateway caches the answer per token, and a policy naming one route would deny every other
 * route for as long as the cache holds it.
 */
import type { VerifiedAccessToken } from './errors';

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

/**
 * What the backend finds in `event.requestContext.authorizer` (as strings). Flat, because API
 * Gateway rejects nested values; absent claims are left out rather than set to null.
 */
// A type alias, not an interface, so it stays assignable to API Gateway's index-signature context type.
export type AuthorizerContext = {
  readonly sub: string;
  readonly client_id?: string;
  readonly org_id?: string;
  readonly sid?: string;
  /** Granted scopes, space separated. */
  readonly scope?: string;
  readonly jti?: string;
  /** Expiry, seconds since the epoch. */
  readonly exp: number;
  /** The audience that made the token acceptable here. */
  readonly aud: string;
};

export class MalformedMethodArnError extends Error {
  constructor(methodArn: string) {
    super(
      `methodArn "${methodArn.slice(0, 200)}" is not an execute-api method ARN (arn:<partition>:execute-api:<region>:<account>:<apiId>/<stage>/<method>/<path>)`,
    );
    this.name = 'MalformedMethodArnError';
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

export function authorizerContext(token: VerifiedAccessToken): AuthorizerContext {
  const context: Record<string, string | number> = { sub: token.sub };
  if (token.clientId !== undefined) context.client_id = token.clientId;
  if (token.orgId !== undefined) context.org_id = token.orgId;
  if (token.sid !== undefined) context.sid = token.sid;
  if (token.scopes.length > 0) context.scope = token.scopes.join(' ');
  if (token.jti !== undefined) context.jti = token.jti;
  context.exp = token.exp;
  context.aud = token.aud;
  return context as unknown as AuthorizerContext;
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
