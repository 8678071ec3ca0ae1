/**
 * The identity contract between the token authorizer and the MCP runtime: what the authorizer
 * writes is what the runtime reads back, after API Gateway turned every value into a string.
 */
import fc from 'fast-check';
import {
  authorizerIdentityContext,
  deliveredAuthorizerContext,
  FULL_IDENTITY,
  METHOD_ARN,
} from '../../../fixtures/events';
import type { AccessTokenPolicy, OrganizationPolicy } from '../../../lambda/authorizer/config';
import { createLocalJwks } from '../../../lambda/authorizer/jwks';
import { allowPolicy } from '../../../lambda/authorizer/policy';
import { createAccessTokenVerifier, type AccessTokenVerifier } from '../../../lambda/authorizer/verify-access-token';
import { authInfoFromAuthorizer } from '../../../lambda/runtime/auth-info';
import { callerOf } from '../../../lambda/runtime/caller';
import { bearerAuthorization } from '../../../lambda/shared/bearer-token';
import {
  AUTHORIZER_CONTEXT_KEYS,
  authorizerContextOf,
  readAuthorizerIdentity,
  type AuthorizerIdentity,
} from '../../../lambda/shared/identity-context';
import { createTestKey, ISSUER, RESOURCE, signAccessToken, type TestKey } from '../authorizer/support/tokens';

const SEED = 20260707;
const NOW_S = 1_800_000_000;

const IDENTITY: AuthorizerIdentity = { ...FULL_IDENTITY, aud: RESOURCE };

describe('the authorizer context keys', () => {
  it('are distinct and leave API Gateway its own keys', () => {
    const keys = Object.values(AUTHORIZER_CONTEXT_KEYS);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).not.toContain('principalId');
    expect(keys).not.toContain('integrationLatency');
  });
});

describe('authorizerContextOf', () => {
  it('writes each field under its claim name, scopes as one string and exp as a number', () => {
    expect(authorizerContextOf(IDENTITY)).toEqual({
      sub: 'user_1',
      client_id: 'client_1',
      org_id: 'org_1',
      sid: 'session_1',
      scope: 'openid mcp:tools',
      jti: 'jti_1',
      exp: 1_900_000_000,
      aud: RESOURCE,
    });
  });

  it('leaves out absent and empty claims rather than sending null or ""', () => {
    expect(authorizerContextOf({ sub: 'client_m2m', clientId: '', scopes: [], exp: 1 })).toEqual({
      sub: 'client_m2m',
      exp: 1,
    });
  });
});

describe('readAuthorizerIdentity', () => {
  it('reads the identity from the strings API Gateway delivers', () => {
    expect(readAuthorizerIdentity(authorizerIdentityContext(IDENTITY))).toEqual({ identity: IDENTITY });
  });

  it('reads numbers as a console test invocation delivers them', () => {
    expect(readAuthorizerIdentity({ sub: 'u', exp: 1_900_000_001 })).toEqual({
      identity: { sub: 'u', scopes: [], exp: 1_900_000_001 },
    });
  });

  it('reads empty values as absent', () => {
    expect(readAuthorizerIdentity({ sub: 'u', exp: '5', client_id: '', org_id: '', scope: '' })).toEqual({
      identity: { sub: 'u', scopes: [], exp: 5 },
    });
  });

  it.each<[string, Readonly<Record<string, unknown>> | null | undefined, string]>([
    ['no context', undefined, 'context'],
    ['a null context', null, 'context'],
    ['a context without sub', { client_id: 'c', exp: '5' }, 'sub'],
    ['an empty sub', { sub: '', exp: '5' }, 'sub'],
    ['a nested sub', { sub: { id: 'u' }, exp: '5' }, 'sub'],
    ['a context without exp', { sub: 'u' }, 'exp'],
    ['an exp that is not a number', { sub: 'u', exp: 'soon' }, 'exp'],
    ['an exp of zero', { sub: 'u', exp: '0' }, 'exp'],
    ['an infinite exp', { sub: 'u', exp: 'Infinity' }, 'exp'],
  ])('names what is missing in %s', (_case, context, missing) => {
    expect(readAuthorizerIdentity(context)).toEqual({ missing });
  });
});

/** Claim text as AuthKit could issue it: any characters, including non-ASCII ones. */
const claimText = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 24 });
/** A scope token: RFC 6749 §3.3 puts no space in one, but other whitespace may occur and must not split it. */
const scopeToken = fc.string({
  unit: fc.oneof(
    { arbitrary: fc.constantFrom('\t', '\n', '\u00a0'), weight: 1 },
    { arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }).filter((c) => c !== ' '), weight: 6 },
  ),
  minLength: 1,
  maxLength: 12,
});

const identities: fc.Arbitrary<AuthorizerIdentity> = fc.record(
  {
    sub: claimText,
    clientId: claimText,
    orgId: claimText,
    sid: claimText,
    scopes: fc.array(scopeToken, { maxLength: 5 }),
    jti: claimText,
    exp: fc.maxSafeNat().filter((n) => n > 0),
    aud: claimText,
  },
  { requiredKeys: ['sub', 'scopes', 'exp'] },
);

describe('the identity round trip', () => {
  it('reads back every identity written, after API Gateway turned the values into strings', () => {
    fc.assert(
      fc.property(identities, (identity) => {
        const delivered = deliveredAuthorizerContext({
          principalId: identity.sub,
          context: authorizerContextOf(identity),
        });
        expect(Object.values(delivered).every((value) => typeof value === 'string')).toBe(true);
        expect(readAuthorizerIdentity(delivered)).toEqual({ identity });
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  describe('from token claims to the caller a tool sees', () => {
    let key: TestKey;
    let verifier: AccessTokenVerifier;

    beforeAll(async () => {
      key = await createTestKey('key_round_trip', 'ES256');
      const policy: AccessTokenPolicy & OrganizationPolicy = {
        issuer: ISSUER,
        audiences: [RESOURCE],
        allowMultipleAudiences: false,
        algorithms: ['ES256'],
        clockToleranceSeconds: 30,
        requiredScopes: [],
        allowedOrganizations: [],
        requireOrganization: false,
      };
      verifier = createAccessTokenVerifier(policy, {
        jwks: createLocalJwks({ keys: [key.jwk] }),
        now: () => NOW_S * 1000,
      });
    });

    /** Optional claims, sometimes absent, sometimes empty (which reads as absent). */
    const optionalClaim = fc.option(fc.oneof(claimText, fc.constant('')), { nil: undefined });
    const userClaims = fc.record({
      sub: claimText,
      client_id: optionalClaim,
      org_id: optionalClaim,
      sid: optionalClaim,
      jti: optionalClaim,
      scope: fc.option(
        fc
          .array(fc.tuple(scopeToken, fc.constantFrom(' ', '  ')), { maxLength: 5 })
          .map((parts) => parts.map(([token, space]) => `${token}${space}`).join('')),
        { nil: undefined },
      ),
      exp: fc.integer({ min: NOW_S + 1, max: NOW_S + 86_400 }),
    });
    // An M2M token as WorkOS documents it: `sub` is the application's client id, and no `sid`.
    const claims = fc.oneof(
      userClaims,
      userClaims.map((claim) => ({ ...claim, client_id: claim.sub, sid: undefined })),
    );
    const present = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);

    it('keeps the identity AuthKit issued, whatever the claims hold', async () => {
      await fc.assert(
        fc.asyncProperty(claims, async (claim) => {
          const token = await signAccessToken(key, { ...claim, iss: ISSUER, aud: RESOURCE, iat: NOW_S - 5 });
          const answer = allowPolicy(await verifier.verifyAccessToken(token), METHOD_ARN);

          const authInfo = authInfoFromAuthorizer({
            authorizer: deliveredAuthorizerContext(answer),
            authorizationHeader: bearerAuthorization(token),
            resource: new URL(RESOURCE),
            resourceMetadataUrl: `${RESOURCE}/metadata`,
            nowSeconds: NOW_S,
          });

          const scopes = (claim.scope ?? '').split(' ').filter((scope) => scope !== '');
          expect(authInfo).toMatchObject({
            token,
            clientId: present(claim.client_id) ?? '',
            scopes,
            expiresAt: claim.exp,
          });
          const { access, ...caller } = callerOf(authInfo);
          const machine = present(claim.sid) === undefined && claim.sub === present(claim.client_id);
          expect(caller).toEqual({
            kind: machine ? 'machine' : 'user',
            sub: claim.sub,
            ...(present(claim.org_id) === undefined ? {} : { organizationId: claim.org_id }),
            clientId: present(claim.client_id) ?? '',
            scopes,
            expiresAt: claim.exp,
            audience: RESOURCE,
            ...(present(claim.sid) === undefined ? {} : { sessionId: claim.sid }),
          });
          expect(typeof access).toBe('function');
          expect(authInfo.extra).toEqual({
            sub: claim.sub,
            ...(present(claim.org_id) === undefined ? {} : { orgId: claim.org_id }),
            ...(present(claim.sid) === undefined ? {} : { sid: claim.sid }),
            ...(present(claim.jti) === undefined ? {} : { jti: claim.jti }),
            aud: RESOURCE,
          });
        }),
        { seed: SEED, numRuns: 150 },
      );
    });
  });
});
