/**
 * Organizations at the gateway: the decision on a verified token's `org_id`, then the handler end to
 * end with tokens signed by jose and keys served over HTTP, as API Gateway would invoke it.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { loadAuthorizerConfig } from '../../../lambda/authorizer/config';
import { createAuthorizerHandler, type TokenAuthorizer } from '../../../lambda/authorizer/index';
import { organizationRefusal } from '../../../lambda/authorizer/organization';
import { API_WILDCARD_ARN, tokenAuthorizerEvent } from '../../../fixtures/events';
import { startJwksServer, type JwksServer } from '../../../fixtures/jwks-server';
import { captureOutput, emfCounts, type CapturedOutput } from './support/output-capture';
import {
  accessTokenClaims,
  createTestKey,
  ISSUER,
  PUBLIC_BASE_URL,
  signAccessToken,
  type TestKey,
} from './support/tokens';

const ACME = 'org_01EHZNVPK3SFK441A1RGBFSHRT';
const GLOBEX = 'org_01HGLOBEX0000000000000000A';
const OTHER = 'org_01HOTHER00000000000000000B';

describe('organizationRefusal', () => {
  const listed = { allowedOrganizations: [ACME, GLOBEX], requireOrganization: true };
  const required = { allowedOrganizations: [], requireOrganization: true };
  const open = { allowedOrganizations: [], requireOrganization: false };

  it.each([
    ['a listed organization', ACME, listed],
    ['another listed organization', GLOBEX, listed],
    ['any organization when one is only required', OTHER, required],
    ['any organization when nothing is configured', OTHER, open],
    ['no organization when nothing is configured', undefined, open],
  ])('accepts %s', (_case, orgId, policy) => {
    expect(organizationRefusal(orgId, policy)).toBeUndefined();
  });

  it.each([
    [
      'an organization that is not listed',
      OTHER,
      listed,
      /"org_01HOTHER00000000000000000B" is not one this server serves/,
    ],
    ['an organization id that differs in case only', ACME.toLowerCase(), listed, /is not one this server serves/],
    ['no organization when some are listed', undefined, listed, /Token has no org_id/],
    ['no organization when one is required', undefined, required, /Token has no org_id/],
    // The list alone is enough to refuse a token without one, whatever the flag says.
    [
      'no organization when some are listed and the flag is off',
      undefined,
      { ...listed, requireOrganization: false },
      /no org_id/,
    ],
  ])('refuses %s, saying why', (_case, orgId, policy, why) => {
    expect(organizationRefusal(orgId, policy)).toMatch(why);
  });

  it('quotes a hostile org_id bounded, so a token cannot flood the logs', () => {
    const refusal = organizationRefusal(`org_${'A'.repeat(5000)}`, listed) ?? '';
    expect(refusal.length).toBeLessThan(200);
  });
});

type Outcome = 'allow' | 'deny' | 'unauthorized' | 'error';

describe('the authorizer with organizations configured', () => {
  let server: JwksServer;
  let key: TestKey;
  let output: CapturedOutput;
  const secrets: string[] = [];
  /** Every line any decision wrote, kept across `output.clear()`. */
  const written: string[] = [];

  beforeAll(async () => {
    key = await createTestKey('key-org');
    server = await startJwksServer([key.jwk]);
    output = captureOutput();
  });

  afterAll(async () => {
    await server.close();
  });

  afterEach(() => output.stop());

  function authorizer(env: Record<string, string>): TokenAuthorizer {
    const config = loadAuthorizerConfig({
      PUBLIC_BASE_URL,
      AUTHKIT_ISSUER: ISSUER,
      AUTHKIT_JWKS_URL: server.url,
      POWERTOOLS_SERVICE_NAME: 'mcp-authorizer',
      POWERTOOLS_METRICS_NAMESPACE: 'McpAuthKit',
      ...env,
    });
    return createAuthorizerHandler({
      config,
      logger: new Logger({ serviceName: config.serviceName, logLevel: 'INFO' }),
      metrics: new Metrics({ namespace: config.metricsNamespace, serviceName: config.serviceName }),
    });
  }

  /** A user token of `org_id` (none when undefined), or a machine token: `sub` = `client_id`, no `sid`. */
  async function token(
    orgId: string | undefined,
    kind: 'user' | 'machine' = 'user',
    scope = 'mcp:tools',
  ): Promise<string> {
    const machine =
      kind === 'machine' ? { sub: 'client_01HMACHINE', client_id: 'client_01HMACHINE', sid: undefined } : {};
    const signed = await signAccessToken(key, accessTokenClaims({ org_id: orgId, scope, ...machine }));
    secrets.push(signed);
    return signed;
  }

  async function decide(authorize: TokenAuthorizer, bearerToken: string) {
    output.clear();
    output.start();
    try {
      const result = await authorize(tokenAuthorizerEvent(`Bearer ${bearerToken}`));
      const outcome: Outcome = result.policyDocument.Statement[0].Effect === 'Allow' ? 'allow' : 'deny';
      return { outcome, result };
    } catch (error) {
      return { outcome: ((error as Error).message === 'Unauthorized' ? 'unauthorized' : 'error') as Outcome };
    } finally {
      output.stop();
      written.push(...output.lines);
    }
  }

  const listed = { ALLOWED_ORGANIZATIONS: `${ACME},${GLOBEX}` };

  it.each([
    ['a user of a listed organization', listed, ACME, 'user'],
    ['a machine of a listed organization', listed, GLOBEX, 'machine'],
    ['a user of any organization when one is required', { REQUIRE_ORGANIZATION: 'true' }, OTHER, 'user'],
    ['a machine of any organization when one is required', { REQUIRE_ORGANIZATION: 'true' }, OTHER, 'machine'],
    ['a user without organization when nothing is configured', {}, undefined, 'user'],
  ] as const)('allows %s, with its org_id in the context', async (_case, env, orgId, kind) => {
    const { outcome, result } = await decide(authorizer(env), await token(orgId, kind));

    expect(outcome).toBe('allow');
    expect(result?.context?.org_id).toBe(orgId);
    expect(output.metrics().map(emfCounts)).toEqual([{ token_allowed: 1 }]);
  });

  it.each([
    [
      'a user of another organization',
      listed,
      OTHER,
      'user',
      /"org_01HOTHER00000000000000000B" is not one this server serves/,
    ],
    ['a machine of another organization', listed, OTHER, 'machine', /is not one this server serves/],
    ['a user without organization when some are listed', listed, undefined, 'user', /no org_id/],
    [
      'a user without organization when one is required',
      { REQUIRE_ORGANIZATION: 'true' },
      undefined,
      'user',
      /no org_id/,
    ],
    [
      'a machine without organization when one is required',
      { REQUIRE_ORGANIZATION: 'true' },
      undefined,
      'machine',
      /no org_id/,
    ],
  ] as const)('denies %s (403), logged and counted as wrong_organization', async (_case, env, orgId, kind, why) => {
    const { outcome, result } = await decide(authorizer(env), await token(orgId, kind));

    expect(outcome).toBe('deny');
    expect(result?.policyDocument.Statement).toEqual([
      { Action: 'execute-api:Invoke', Effect: 'Deny', Resource: API_WILDCARD_ARN },
    ]);
    // A Deny carries no identity: nothing behind the gateway may read it as a caller.
    expect(result?.context).toBeUndefined();
    const logs = output.logs();
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      level: 'INFO',
      reason: 'wrong_organization',
      message: 'Access token refused: its organization is not served here',
      sub: kind === 'machine' ? 'client_01HMACHINE' : 'user_01HXYZABCDEF',
    });
    expect(logs[0].detail).toMatch(why);
    expect(output.metrics().map(emfCounts)).toEqual([{ token_wrong_organization: 1 }]);
  });

  it('refuses another organization before a missing scope: more scopes would not help', async () => {
    const authorize = authorizer({ ...listed, REQUIRED_SCOPES: 'mcp:tools' });

    const { outcome } = await decide(authorize, await token(OTHER, 'user', 'openid'));

    expect(outcome).toBe('deny');
    expect(output.logs()[0]).toMatchObject({ reason: 'wrong_organization' });
  });

  it('still answers a token of a listed organization without the required scope as insufficient_scope', async () => {
    const authorize = authorizer({ ...listed, REQUIRED_SCOPES: 'mcp:tools' });

    const { outcome } = await decide(authorize, await token(ACME, 'user', 'openid'));

    expect(outcome).toBe('deny');
    expect(output.metrics().map(emfCounts)).toEqual([{ token_insufficient_scope: 1 }]);
  });

  it('judges the organization only on a verified token: a forged one is a bad signature, not wrong_organization', async () => {
    const forger = await createTestKey('key-org');
    const forged = await signAccessToken(forger, accessTokenClaims({ org_id: OTHER }));
    secrets.push(forged);

    const { outcome } = await decide(authorizer(listed), forged);

    expect(outcome).toBe('unauthorized');
    expect(output.metrics().map(emfCounts)).toEqual([{ token_bad_signature: 1 }]);
  });

  it('never writes a token or its signature to the logs', () => {
    const everything = written.join('');
    expect(everything).toContain('wrong_organization');
    expect(secrets.length).toBeGreaterThan(5);
    for (const secret of secrets) {
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(secret.split('.')[2]);
    }
  });
});
