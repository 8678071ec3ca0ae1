import type { APIGatewayTokenAuthorizerEvent } from 'aws-lambda';

export const METHOD_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abc123def4/prod/POST/mcp';
export const API_WILDCARD_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abc123def4/prod/*/*';

/** The event API Gateway sends a TOKEN authorizer: the whole Authorization header value and the called method. */
export function tokenAuthorizerEvent(
  authorizationToken: string,
  methodArn = METHOD_ARN,
): APIGatewayTokenAuthorizerEvent {
  return { type: 'TOKEN', authorizationToken, methodArn };
}
