import { authInfoFromAuthorizer, missingScopes, type IdentitySource } from '../../../lambda/runtime/auth-info';
import { callerOf } from '../../../lambda/runtime/caller';
import { ExpiredTokenError, MissingIdentityError, NoCallerError } from '../../../lambda/runtime/errors';
import { authorizerContext, PUBLIC_BASE_URL, RESOURCE, TOKEN } from './fixtures';

function source(overrides: Partial<IdentitySource> = {}): IdentitySource {
  return {
    authorizer: authorizerContext(),
    authorizationHeader: `Bearer ${TOKEN}`,
    resource: new URL(RESOURCE),
    resourceMetadataUrl: `${PUBLIC_BASE_URL}/.well-known/oauth-protected-resource/mcp`,
    ...overrides,
  };
}

describe('authInfoFromAuthorizer', () => {
  it('maps every claim of the authorizer context', () => {
    expect(authInfoFromAuthorizer(source())).toEqual({
      token: TOKEN,
      clientId: 'client_01C',
      scopes: ['openid', 'profile', 'email'],
      expiresAt: 1900000000,
      resource: new URL(RESOURCE),
      resourceMetadataUrl: `${PUBLIC_BASE_URL}/.well-known/oauth-protected-resource/mcp`,
      extra: { sub: 'user_01H', orgId: 'org_01O', sid: 'session_01S', jti: 'jti-1', aud: RESOURCE },
    });
  });

  it('omits claims the token did not carry', () => {
    const info = authInfoFromAuthorizer(source({ authorizer: { sub: 'user_2', exp: '1900000000' } }));
    expect(info).toMatchObject({ clientId: '', scopes: [], expiresAt: 1900000000 });
    expect(info.extra).toEqual({ sub: 'user_2' });
  });

  it('accepts numbers as API Gateway test invocations deliver them', () => {
    expect(authInfoFromAuthorizer(source({ authorizer: { sub: 'u', exp: 1900000001 } })).expiresAt).toBe(1900000001);
  });

  it.each<[string, Partial<IdentitySource>]>([
    ['no authorizer context', { authorizer: undefined }],
    ['a null authorizer context', { authorizer: null }],
    ['a context without sub', { authorizer: { client_id: 'c' } }],
    ['an empty sub', { authorizer: { sub: '' } }],
    ['no Authorization header', { authorizationHeader: undefined }],
    ['a non-bearer Authorization header', { authorizationHeader: 'Basic dXNlcjpwYXNz' }],
    ['a context without exp', { authorizer: authorizerContext({ exp: undefined }) }],
    ['an exp that is not a number', { authorizer: authorizerContext({ exp: 'not-a-number' }) }],
    ['an exp of zero', { authorizer: authorizerContext({ exp: '0' }) }],
  ])('refuses %s', (_case, overrides) => {
    expect(() => authInfoFromAuthorizer(source(overrides))).toThrow(MissingIdentityError);
  });
});

describe('expiry, checked on every request', () => {
  const NOW = 1_800_000_000;

  it.each([
    ['long ago, inside a 5-minute authorizer cache', NOW - 240, 30],
    ['just beyond the clock tolerance', NOW - 31, 30],
    ['exactly at the tolerance', NOW - 30, 30],
    ['a second ago with no tolerance', NOW - 1, 0],
  ])('refuses a token that expired %s', (_case, exp, tolerance) => {
    const act = () =>
      authInfoFromAuthorizer(
        source({
          authorizer: authorizerContext({ exp: String(exp) }),
          nowSeconds: NOW,
          clockToleranceSeconds: tolerance,
        }),
      );
    expect(act).toThrow(ExpiredTokenError);
    try {
      act();
    } catch (error) {
      expect(error).toMatchObject({
        code: 'TOKEN_EXPIRED',
        sub: 'user_01H',
        expiresAt: exp,
        clockToleranceSeconds: tolerance,
      });
      expect((error as Error).message).toContain(new Date(exp * 1000).toISOString());
      expect((error as Error).message).not.toContain(TOKEN);
    }
  });

  it.each([
    ['expires in an hour', NOW + 3600, 30],
    ['expired inside the clock tolerance', NOW - 29, 30],
  ])('accepts a token that %s', (_case, exp, tolerance) => {
    const info = authInfoFromAuthorizer(
      source({
        authorizer: authorizerContext({ exp: String(exp) }),
        nowSeconds: NOW,
        clockToleranceSeconds: tolerance,
      }),
    );
    expect(info.expiresAt).toBe(exp);
  });

  it('uses the real clock and a 30-second tolerance by default', () => {
    const past = Math.floor(Date.now() / 1000) - 60;
    expect(() => authInfoFromAuthorizer(source({ authorizer: authorizerContext({ exp: String(past) }) }))).toThrow(
      ExpiredTokenError,
    );
    const recent = Math.floor(Date.now() / 1000) - 10;
    expect(authInfoFromAuthorizer(source({ authorizer: authorizerContext({ exp: String(recent) }) })).expiresAt).toBe(
      recent,
    );
  });
});

describe('callerOf', () => {
  it('gives a tool the caller without the token', () => {
    const caller = callerOf(authInfoFromAuthorizer(source()));
    expect({ ...caller, access: undefined }).toEqual({
      kind: 'user',
      sub: 'user_01H',
      organizationId: 'org_01O',
      clientId: 'client_01C',
      scopes: ['openid', 'profile', 'email'],
      expiresAt: 1900000000,
      audience: RESOURCE,
      sessionId: 'session_01S',
      access: undefined,
    });
    expect(JSON.stringify(caller)).not.toContain(TOKEN);
  });

  it('knows an M2M token as a machine: sub equals client_id and no sid', () => {
    const context = authorizerContext({ sub: 'client_01M', client_id: 'client_01M', sid: undefined });
    expect(callerOf(authInfoFromAuthorizer(source({ authorizer: context }))).kind).toBe('machine');
  });

  it.each([
    ['a user token whose client is another', { sub: 'user_01H', client_id: 'client_01C', sid: 'session_01S' }],
    ['a token with sub equal to client_id but a sid', { sub: 'client_01M', client_id: 'client_01M', sid: 's' }],
    ['a token without client_id', { client_id: undefined, sid: undefined }],
  ])('knows %s as a user', (_case, changes) => {
    const caller = callerOf(authInfoFromAuthorizer(source({ authorizer: authorizerContext(changes) })));
    expect(caller.kind).toBe('user');
  });

  it.each([
    ['a machine', { sub: 'client_01M', client_id: 'client_01M', sid: undefined }, 'NOT_A_PERSON', /machine/],
    ['a user without an organization', { org_id: undefined }, 'NO_ORGANIZATION', /org_id/],
  ])('gives %s no role or permissions, with the reason', async (_case, changes, code, reason) => {
    const caller = callerOf(authInfoFromAuthorizer(source({ authorizer: authorizerContext(changes) })));
    const resolution = await caller.access();
    expect(resolution).toEqual({ refusal: { code, retryable: false, reason: expect.stringMatching(reason) } });
  });

  it('throws a NoCallerError when the request carried no identity', () => {
    expect(() => callerOf(undefined)).toThrow(NoCallerError);
    expect(() => callerOf({ token: 't', clientId: 'c', scopes: [] })).toThrow(NoCallerError);
  });
});

describe('missingScopes', () => {
  it('lists the required scopes the token lacks, in order', () => {
    const info = authInfoFromAuthorizer(source({ authorizer: authorizerContext({ scope: 'b' }) }));
    expect(missingScopes(info, ['a', 'b', 'c'])).toEqual(['a', 'c']);
    expect(missingScopes(info, ['b'])).toEqual([]);
  });
});
