import {
  evaluatePolicy,
  MalformedPolicyError,
  parsePolicyDocument,
  wildcardMatch,
} from '../../../local/gateway/policy';

const ARN = 'arn:aws:execute-api:us-east-1:000000000000:abc123/prod/POST/mcp';
const statement = (Effect: string, Resource: unknown, Action: unknown = 'execute-api:Invoke') => ({
  Effect,
  Action,
  Resource,
});

describe('authorizer policy evaluation', () => {
  it.each([
    ['the exact method ARN', ARN, true],
    ['the API-wide wildcard', 'arn:aws:execute-api:us-east-1:000000000000:abc123/prod/*/*', true],
    ['a ? for one character', 'arn:aws:execute-api:us-east-1:000000000000:abc123/prod/POS?/mcp', true],
    ['another stage', 'arn:aws:execute-api:us-east-1:000000000000:abc123/dev/*/*', false],
    ['another method', 'arn:aws:execute-api:us-east-1:000000000000:abc123/prod/GET/mcp', false],
    ['a differently cased path', 'arn:aws:execute-api:us-east-1:000000000000:abc123/prod/POST/MCP', false],
  ])('an Allow for %s applies: %s', (_name, resource, allowed) => {
    expect(evaluatePolicy(parsePolicyDocument({ Statement: [statement('Allow', resource)] }), ARN)).toBe(
      allowed ? 'ALLOW' : 'IMPLICIT_DENY',
    );
  });

  it('lets a matching Deny win over a matching Allow', () => {
    const statements = parsePolicyDocument({ Statement: [statement('Allow', '*'), statement('Deny', [ARN])] });
    expect(evaluatePolicy(statements, ARN)).toBe('EXPLICIT_DENY');
  });

  it('matches actions case-insensitively and with wildcards, and honours NotResource', () => {
    expect(evaluatePolicy(parsePolicyDocument({ Statement: statement('Allow', '*', 'Execute-API:*') }), ARN)).toBe(
      'ALLOW',
    );
    expect(evaluatePolicy(parsePolicyDocument({ Statement: [statement('Allow', '*', 's3:GetObject')] }), ARN)).toBe(
      'IMPLICIT_DENY',
    );
    expect(
      evaluatePolicy(parsePolicyDocument({ Statement: [{ Effect: 'Allow', Action: '*', NotResource: ARN }] }), ARN),
    ).toBe('IMPLICIT_DENY');
  });

  it.each([
    ['no document', undefined],
    ['no statements', { Statement: [] }],
    ['a bad effect', { Statement: [statement('allow', '*')] }],
    ['a missing resource', { Statement: [{ Effect: 'Allow', Action: '*' }] }],
    ['a condition', { Statement: [{ ...statement('Allow', '*'), Condition: { IpAddress: {} } }] }],
    ['a non-string resource', { Statement: [statement('Allow', [1])] }],
  ])('rejects a policy with %s', (_name, document) => {
    expect(() => parsePolicyDocument(document)).toThrow(MalformedPolicyError);
  });

  it('escapes regular-expression characters in patterns', () => {
    expect(wildcardMatch('a.b', 'axb')).toBe(false);
    expect(wildcardMatch('a(b)*', 'a(b)zz')).toBe(true);
  });
});
