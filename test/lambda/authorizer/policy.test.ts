import { FULL_IDENTITY } from '../../../fixtures/events';
import type { VerifiedAccessToken } from '../../../lambda/authorizer/errors';
import {
  allowPolicy,
  apiWildcardArn,
  authorizerContext,
  denyPolicy,
  MalformedMethodArnError,
} from '../../../lambda/authorizer/policy';

const token: VerifiedAccessToken = {
  ...FULL_IDENTITY,
  aud: 'https://mcp.example.com/mcp',
  iss: 'https://acme.authkit.app',
};

describe('apiWildcardArn', () => {
  it.each([
    [
      'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/mcp',
      'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/*',
    ],
    [
      'arn:aws:execute-api:eu-west-1:123456789012:abc123/dev/GET/.well-known/oauth-protected-resource/mcp',
      'arn:aws:execute-api:eu-west-1:123456789012:abc123/dev/*/*',
    ],
    [
      'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/',
      'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/*',
    ],
    [
      'arn:aws-cn:execute-api:cn-north-1:123456789012:abc123/prod/DELETE/mcp',
      'arn:aws-cn:execute-api:cn-north-1:123456789012:abc123/prod/*/*',
    ],
    [
      'arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:abc123/live/POST/mcp',
      'arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:abc123/live/*/*',
    ],
  ])('widens %s to the whole API', (methodArn, expected) => {
    expect(apiWildcardArn(methodArn)).toBe(expected);
  });

  it.each([
    [''],
    ['not-an-arn'],
    ['arn:aws:lambda:us-east-1:123456789012:function:f'],
    ['arn:aws:execute-api:us-east-1:123:abc/prod/GET/mcp'],
    ['arn:aws:execute-api:us-east-1:123456789012:abc123'],
  ])('refuses %j', (methodArn) => {
    expect(() => apiWildcardArn(methodArn)).toThrow(MalformedMethodArnError);
  });
});

describe('policies', () => {
  const methodArn = 'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/mcp';

  it('allows every route of the API for a valid token, with a flat context', () => {
    expect(allowPolicy(token, methodArn)).toEqual({
      principalId: 'user_1',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Action: 'execute-api:Invoke',
            Effect: 'Allow',
            Resource: 'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/*',
          },
        ],
      },
      context: {
        sub: 'user_1',
        client_id: 'client_1',
        org_id: 'org_1',
        sid: 'session_1',
        scope: 'openid mcp:tools',
        jti: 'jti_1',
        exp: 1_900_000_000,
        aud: 'https://mcp.example.com/mcp',
      },
    });
  });

  it('denies on the same wildcard resource without a context', () => {
    expect(denyPolicy('user_1', methodArn)).toEqual({
      principalId: 'user_1',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Action: 'execute-api:Invoke',
            Effect: 'Deny',
            Resource: 'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/*',
          },
        ],
      },
    });
  });

  it('leaves absent claims out of the context', () => {
    const context = authorizerContext({ sub: 'client_m2m', scopes: [], exp: 1, aud: 'a', iss: 'i' });

    expect(context).toEqual({ sub: 'client_m2m', exp: 1, aud: 'a' });
    expect(Object.values(context)).not.toContain(null);
  });
});
