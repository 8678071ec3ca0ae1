import { sign } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { loadAuthorizerConfig, type AuthorizerConfig } from '../../../lambda/authorizer/config';
import { createAuthorizerHandler, type TokenAuthorizer } from '../../../lambda/authorizer/index';
import { API_WILDCARD_ARN, tokenAuthorizerEvent } from '../../../fixtures/events';
import { startJwksServer, type JwksServer } from '../../../fixtures/jwks-server';
import { captureOutput, emfCounts, type CapturedOutput } from './support/output-capture';
import {
  accessTokenClaims,
  b64url,
  compactJws,
  createTestKey,
  es256Signer,
  hmacWithPublicKeySigner,
  ISSUER,
  PUBLIC_BASE_URL,
  RESOURCE,
  rs256Signer,
  signAccessToken,
  type TestKey,
} from './support/tokens';

type Outcome = 'allow' | 'deny' | 'unauthorized' | 'upstream';

let server: JwksServer;
let key: TestKey;
let otherKey: TestKey;
let ecKey: TestKey;
let config: AuthorizerConfig;
let output: CapturedOutput;
let authorize: TokenAuthorizer;
/** Every token and header value handed to the authorizer, to prove none reaches the logs. */
const secretsSeen = new Set<string>();
const MIN_SECRET_LENGTH = 8;

beforeAll(async () => {
  key = await createTestKey('key-2024');
  otherKey = await createTestKey('key-2024'); // same kid, different key: a forger's guess
  ecKey = await createTestKey('ec-key', 'ES256');
  server = await startJwksServer([key.jwk, ecKey.jwk]);
  config = loadAuthorizerConfig({
    PUBLIC_BASE_URL,
    AUTHKIT_ISSUER: ISSUER,
    AUTHKIT_JWKS_URL: server.url,
    REQUIRED_SCOPES: 'mcp:tools',
    POWERTOOLS_SERVICE_NAME: 'mcp-authorizer',
    POWERTOOLS_METRICS_NAMESPACE: 'McpAuthKit',
  });
  output = captureOutput();
  authorize = createAuthorizerHandler({
    config,
    logger: new Logger({ serviceName: config.serviceName, logLevel: 'INFO' }),
    metrics: new Metrics({ namespace: config.metricsNamespace, serviceName: config.serviceName }),
  });
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  output.clear();
  output.start();
});

async function run(
  header: string,
): Promise<{ outcome: Outcome; result?: Awaited<ReturnType<TokenAuthorizer>>; error?: Error }> {
  // Anything long enough to be a credential (short API keys included); scheme names such as
  // "Bearer" or "Basic" are shorter and may be logged.
  if (header.trim().length >= MIN_SECRET_LENGTH) secretsSeen.add(header.trim());
  for (const part of header.split(/\s+/)) if (part.length >= MIN_SECRET_LENGTH) secretsSeen.add(part);
  try {
    const result = await authorize(tokenAuthorizerEvent(header));
    return { outcome: result.policyDocument.Statement[0].Effect === 'Allow' ? 'allow' : 'deny', result };
  } catch (error) {
    const e = error as Error;
    return { outcome: e.message === 'Unauthorized' ? 'unauthorized' : 'upstream', error: e };
  }
}

/** The context of an answer that must carry one. */
function contextOf(
  result: Awaited<ReturnType<TokenAuthorizer>> | undefined,
): NonNullable<typeof result>['context'] & object {
  if (!result?.context) throw new Error('the authorizer answered without a context');
  return result.context;
}

function lastDecision(): Record<string, unknown> {
  const logs = output.logs();
  expect(logs).toHaveLength(1);
  return logs[0];
}

const now = () => Math.floor(Date.now() / 1000);
const bearer = (token: string) => `Bearer ${token}`;
const signed = (
  claims: Record<string, unknown>,
  header: Record<string, unknown> = { alg: 'RS256', kid: 'key-2024', typ: 'JWT' },
) => compactJws(header, claims, rs256Signer(key));

interface Case {
  readonly name: string;
  readonly header: () => Promise<string> | string;
  readonly outcome: Outcome;
  readonly reason: string;
}

const badTokens: Case[] = [
  { name: 'an empty header value', header: () => '', outcome: 'unauthorized', reason: 'missing' },
  { name: 'a header of spaces only', header: () => '   ', outcome: 'unauthorized', reason: 'missing' },
  {
    name: 'the Basic scheme',
    header: () => 'Basic dXNlcjpwYXNzd29yZA==',
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'a short API key without scheme',
    header: () => 'sk_live_4f9a8b7c6d5e',
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'an 8-character secret without scheme',
    header: () => 'k3y_8chr',
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'a short API key under its own scheme',
    header: () => 'ApiKey sk_4f9a8b7c',
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'a bare token without scheme',
    header: async () => signAccessToken(key),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  { name: 'the scheme without a token', header: () => 'Bearer', outcome: 'unauthorized', reason: 'malformed' },
  {
    name: 'two tokens',
    header: async () => `Bearer ${await signAccessToken(key)} ${await signAccessToken(key)}`,
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'a tab instead of a space after the scheme',
    header: async () => `Bearer\t${await signAccessToken(key)}`,
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'a token glued to the scheme',
    header: async () => `Bearer${await signAccessToken(key)}`,
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'an opaque (non-JWT) token',
    header: () => 'Bearer 7f3a9c2e1b4d5f6a8b9c0d1e2f3a4b5c',
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'alg none with an empty signature',
    header: () => bearer(compactJws({ alg: 'none' }, accessTokenClaims(), () => '')),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'alg none with a made-up signature',
    header: () => bearer(compactJws({ alg: 'none', kid: 'key-2024' }, accessTokenClaims(), () => 'c2lnbmF0dXJl')),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'alg NONE in upper case',
    header: () => bearer(compactJws({ alg: 'NONE' }, accessTokenClaims(), () => 'c2lnbmF0dXJl')),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'HS256 signed with the public key',
    header: () =>
      bearer(compactJws({ alg: 'HS256', kid: 'key-2024' }, accessTokenClaims(), hmacWithPublicKeySigner(key))),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'HS512 signed with the public key',
    header: () =>
      bearer(
        compactJws({ alg: 'HS512', kid: 'key-2024' }, accessTokenClaims(), hmacWithPublicKeySigner(key, 'sha512')),
      ),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'an embedded jwk header carrying the signer’s own key',
    header: () =>
      bearer(
        compactJws({ alg: 'RS256', kid: 'key-2024', jwk: otherKey.jwk }, accessTokenClaims(), rs256Signer(otherKey)),
      ),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'a jku header',
    header: () =>
      bearer(signed(accessTokenClaims(), { alg: 'RS256', kid: 'key-2024', jku: 'https://evil.example/jwks' })),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'an x5u header',
    header: () =>
      bearer(signed(accessTokenClaims(), { alg: 'RS256', kid: 'key-2024', x5u: 'https://evil.example/cert.pem' })),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'an x5c header',
    header: () =>
      bearer(signed(accessTokenClaims(), { alg: 'RS256', kid: 'key-2024', x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOC'] })),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'an unknown crit extension',
    header: () =>
      bearer(
        signed(
          { ...accessTokenClaims(), 'urn:x': 1 },
          { alg: 'RS256', kid: 'key-2024', crit: ['urn:x'], 'urn:x': true },
        ),
      ),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'an unencoded-payload (b64) header',
    header: () => bearer(signed(accessTokenClaims(), { alg: 'RS256', kid: 'key-2024', b64: false, crit: ['b64'] })),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'a 5-part JWE',
    header: () =>
      bearer(
        `${b64url(JSON.stringify({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: 'key-2024' }))}.ZW5jcnlwdGVka2V5.aXZpdml2aXY.Y2lwaGVydGV4dA.dGFndGFndGFn`,
      ),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'a 4-part token',
    header: async () => bearer(`${await signAccessToken(key)}.ZXh0cmE`),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'a header with impossible base64url length',
    header: async () => bearer(`eyJhb${(await signAccessToken(key)).slice((await signAccessToken(key)).indexOf('.'))}`),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'a header with non-zero base64url padding bits',
    header: () => {
      const canonical = b64url(JSON.stringify({ alg: 'RS256', kid: 'key-2024' }));
      // 32 bytes end in a character whose two low bits are padding; setting one keeps the decoded bytes but breaks canonical form.
      expect(canonical).toMatch(/0$/);
      return bearer(compactJws(canonical.replace(/0$/, '1'), accessTokenClaims(), rs256Signer(key)));
    },
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'a header that is not JSON',
    header: () => bearer(compactJws(b64url('not json at all'), accessTokenClaims(), rs256Signer(key))),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'a header that is a JSON array',
    header: () => bearer(compactJws(b64url('["RS256"]'), accessTokenClaims(), rs256Signer(key))),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'a payload that is not JSON',
    header: () => bearer(compactJws({ alg: 'RS256', kid: 'key-2024' }, b64url('{"sub": "user"'), rs256Signer(key))),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'an oversized token',
    header: () => bearer(signed(accessTokenClaims({ padding: 'x'.repeat(9000) }))),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'a token without exp',
    header: () => bearer(signed(accessTokenClaims({ exp: undefined }))),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'an exp that is a string',
    header: () => bearer(signed(accessTokenClaims({ exp: String(now() + 3600) }))),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'a token without sub',
    header: () => bearer(signed(accessTokenClaims({ sub: undefined }))),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'a scope claim that is an array',
    header: () => bearer(signed(accessTokenClaims({ scope: ['mcp:tools'] }))),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'RS384, which is not in TOKEN_ALGORITHMS',
    header: () =>
      bearer(
        compactJws({ alg: 'RS384', kid: 'key-2024' }, accessTokenClaims(), (input) =>
          sign('sha384', input, key.privateKey),
        ),
      ),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'ES256 signed by a published EC key but not allowed',
    header: () => bearer(compactJws({ alg: 'ES256', kid: 'ec-key' }, accessTokenClaims(), es256Signer(ecKey))),
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'a wrong issuer',
    header: () => bearer(signed(accessTokenClaims({ iss: 'https://evil.authkit.app' }))),
    outcome: 'unauthorized',
    reason: 'wrong_issuer',
  },
  {
    name: 'the issuer with a trailing slash',
    header: () => bearer(signed(accessTokenClaims({ iss: `${ISSUER}/` }))),
    outcome: 'unauthorized',
    reason: 'wrong_issuer',
  },
  {
    name: 'an audience of another resource',
    header: () => bearer(signed(accessTokenClaims({ aud: 'https://other.example.com/mcp' }))),
    outcome: 'unauthorized',
    reason: 'wrong_audience',
  },
  {
    name: 'the resource with a trailing slash as audience',
    header: () => bearer(signed(accessTokenClaims({ aud: `${RESOURCE}/` }))),
    outcome: 'unauthorized',
    reason: 'wrong_audience',
  },
  {
    name: 'AuthKit’s environment-wide client audience',
    header: () => bearer(signed(accessTokenClaims({ aud: 'client_01HDEFAULTAUDIENCE' }))),
    outcome: 'unauthorized',
    reason: 'wrong_audience',
  },
  {
    name: 'an audience array naming this and another resource',
    header: () => bearer(signed(accessTokenClaims({ aud: [RESOURCE, 'https://other.example.com/mcp'] }))),
    outcome: 'unauthorized',
    reason: 'wrong_audience',
  },
  {
    name: 'no audience',
    header: () => bearer(signed(accessTokenClaims({ aud: undefined }))),
    outcome: 'unauthorized',
    reason: 'wrong_audience',
  },
  {
    name: 'an expired token',
    header: () => bearer(signed(accessTokenClaims({ exp: now() - 120 }))),
    outcome: 'unauthorized',
    reason: 'expired',
  },
  {
    name: 'a token expired just beyond the clock tolerance',
    header: () => bearer(signed(accessTokenClaims({ exp: now() - 31 }))),
    outcome: 'unauthorized',
    reason: 'expired',
  },
  {
    name: 'a token not valid before ten minutes from now',
    header: () => bearer(signed(accessTokenClaims({ nbf: now() + 600 }))),
    outcome: 'unauthorized',
    reason: 'not_yet_valid',
  },
  {
    name: 'a signature truncated by three bytes',
    header: async () => {
      const t = await signAccessToken(key);
      const [h, p, sig] = t.split('.');
      return bearer(`${h}.${p}.${b64url(Buffer.from(sig, 'base64url').subarray(0, -3))}`);
    },
    outcome: 'unauthorized',
    reason: 'bad_signature',
  },
  {
    name: 'a signature cut inside a base64url character',
    header: async () => {
      const t = await signAccessToken(key);
      return bearer(t.slice(0, -1));
    },
    outcome: 'unauthorized',
    reason: 'malformed',
  },
  {
    name: 'a signature with a byte appended',
    header: async () => {
      const t = await signAccessToken(key);
      const [h, p, sig] = t.split('.');
      return bearer(`${h}.${p}.${b64url(Buffer.concat([Buffer.from(sig, 'base64url'), Buffer.from([0])]))}`);
    },
    outcome: 'unauthorized',
    reason: 'bad_signature',
  },
  {
    name: 'a bit-flipped payload under the original signature',
    header: async () => {
      const [h, p, s] = (await signAccessToken(key)).split('.');
      const payload = Buffer.from(p, 'base64url');
      payload[payload.indexOf('user_01H') + 5] ^= 0x01;
      return bearer(`${h}.${b64url(payload)}.${s}`);
    },
    outcome: 'unauthorized',
    reason: 'bad_signature',
  },
  {
    name: 'a signature by another key under the published kid',
    header: async () => bearer(await signAccessToken(otherKey)),
    outcome: 'unauthorized',
    reason: 'bad_signature',
  },
  {
    name: 'a zeroed signature of the right length',
    header: async () => {
      const t = await signAccessToken(key);
      return bearer(`${t.slice(0, t.lastIndexOf('.'))}.${b64url(Buffer.alloc(256))}`);
    },
    outcome: 'unauthorized',
    reason: 'bad_signature',
  },
  {
    name: 'a kid the JWKS does not publish',
    header: () => bearer(compactJws({ alg: 'RS256', kid: 'key-unknown' }, accessTokenClaims(), rs256Signer(key))),
    outcome: 'unauthorized',
    reason: 'unknown_key',
  },
  {
    name: 'the EC key’s kid on an RS256 token',
    header: () => bearer(compactJws({ alg: 'RS256', kid: 'ec-key' }, accessTokenClaims(), rs256Signer(key))),
    outcome: 'unauthorized',
    reason: 'unknown_key',
  },
  {
    name: 'a valid token without the required scope',
    header: async () => bearer(await signAccessToken(key, accessTokenClaims({ scope: 'openid profile' }))),
    outcome: 'deny',
    reason: 'insufficient_scope',
  },
  {
    name: 'a valid token without any scope',
    header: async () => bearer(await signAccessToken(key, accessTokenClaims({ scope: undefined }))),
    outcome: 'deny',
    reason: 'insufficient_scope',
  },
];

const goodTokens: Case[] = [
  {
    name: 'the canonical Bearer scheme',
    header: async () => `Bearer ${await signAccessToken(key)}`,
    outcome: 'allow',
    reason: 'allowed',
  },
  {
    name: 'a lower-case scheme',
    header: async () => `bearer ${await signAccessToken(key)}`,
    outcome: 'allow',
    reason: 'allowed',
  },
  {
    name: 'an upper-case scheme',
    header: async () => `BEARER ${await signAccessToken(key)}`,
    outcome: 'allow',
    reason: 'allowed',
  },
  {
    name: 'a mixed-case scheme',
    header: async () => `bEaReR ${await signAccessToken(key)}`,
    outcome: 'allow',
    reason: 'allowed',
  },
  {
    name: 'several spaces after the scheme',
    header: async () => `Bearer   ${await signAccessToken(key)}`,
    outcome: 'allow',
    reason: 'allowed',
  },
  {
    name: 'surrounding whitespace',
    header: async () => `  Bearer ${await signAccessToken(key)} `,
    outcome: 'allow',
    reason: 'allowed',
  },
  {
    name: 'an audience array of one',
    header: async () => bearer(await signAccessToken(key, accessTokenClaims({ aud: [RESOURCE] }))),
    outcome: 'allow',
    reason: 'allowed',
  },
  {
    name: 'an exp just inside the clock tolerance',
    header: async () => bearer(await signAccessToken(key, accessTokenClaims({ exp: now() - 10 }))),
    outcome: 'allow',
    reason: 'allowed',
  },
  {
    name: 'an nbf just inside the clock tolerance',
    header: async () => bearer(await signAccessToken(key, accessTokenClaims({ nbf: now() + 10 }))),
    outcome: 'allow',
    reason: 'allowed',
  },
  {
    name: 'a token without kid when one RS256 key is published',
    header: () => bearer(compactJws({ alg: 'RS256' }, accessTokenClaims(), rs256Signer(key))),
    outcome: 'allow',
    reason: 'allowed',
  },
];

/** Payloads that fail a claim check, and the reason a genuine signature earns them. */
const wrongClaims: ReadonlyArray<readonly [string, () => Record<string, unknown>, string]> = [
  ['an expired', () => accessTokenClaims({ exp: now() - 3600 }), 'expired'],
  ['a wrong-audience', () => accessTokenClaims({ aud: 'https://other.example.com/mcp' }), 'wrong_audience'],
  ['a wrong-issuer', () => accessTokenClaims({ iss: 'https://evil.authkit.app' }), 'wrong_issuer'],
];

/** Ways to present a payload without AuthKit's signature over it, and what they may be counted as. */
const forgeries: ReadonlyArray<readonly [string, (claims: Record<string, unknown>) => string, string]> = [
  [
    'without a signature',
    (claims) => compactJws({ alg: 'RS256', kid: 'key-2024', typ: 'JWT' }, claims, () => ''),
    'malformed',
  ],
  [
    'signed by another key under the published kid',
    (claims) => compactJws({ alg: 'RS256', kid: 'key-2024', typ: 'JWT' }, claims, rs256Signer(otherKey)),
    'bad_signature',
  ],
  [
    'with the signature of another token',
    (claims) =>
      `${compactJws({ alg: 'RS256', kid: 'key-2024', typ: 'JWT' }, claims, () => '').slice(0, -1)}.${b64url(sign('sha256', Buffer.from('another token'), key.privateKey))}`,
    'bad_signature',
  ],
  ['with alg none', (claims) => compactJws({ alg: 'none', typ: 'JWT' }, claims, () => ''), 'malformed'],
  [
    'with alg none and a made-up signature',
    (claims) => compactJws({ alg: 'none', kid: 'key-2024' }, claims, () => 'c2lnbmF0dXJl'),
    'malformed',
  ],
  [
    'HS256-signed with the public key',
    (claims) => compactJws({ alg: 'HS256', kid: 'key-2024' }, claims, hmacWithPublicKeySigner(key)),
    'malformed',
  ],
];

describe('token authorizer handler', () => {
  it('has a corpus of at least 30 bad tokens', () => {
    expect(badTokens.length).toBeGreaterThanOrEqual(30);
  });

  it.each(badTokens.map((c) => [c.name, c] as const))('refuses %s', async (_name, c) => {
    const { outcome, result, error } = await run(await c.header());

    expect(outcome).toBe(c.outcome);
    if (c.outcome === 'unauthorized') expect(error?.message).toBe('Unauthorized');
    if (c.outcome === 'deny') {
      expect(result?.policyDocument.Statement[0]).toEqual({
        Action: 'execute-api:Invoke',
        Effect: 'Deny',
        Resource: API_WILDCARD_ARN,
      });
      expect(result?.context).toBeUndefined();
    }
    const decision = lastDecision();
    expect(decision.reason).toBe(c.reason);
    expect(typeof decision.detail === 'string' || c.reason === 'insufficient_scope').toBe(true);
    expect(output.metrics().map(emfCounts)).toEqual([{ [`token_${c.reason}`]: 1 }]);
  });

  it.each(wrongClaims.map(([payload, claims, reason]) => [payload, claims, reason] as const))(
    'counts %s payload signed by AuthKit’s key under its claim reason (the control for the forgeries below)',
    async (_payload, claims, reason) => {
      const { outcome } = await run(bearer(signed(claims())));

      expect(outcome).toBe('unauthorized');
      expect(lastDecision().reason).toBe(reason);
      expect(output.metrics().map(emfCounts)).toEqual([{ [`token_${reason}`]: 1 }]);
    },
  );

  it.each(
    wrongClaims.flatMap(([payload, claims, claimReason]) =>
      forgeries.map(([forgery, forge, reason]) => [payload, forgery, claims, forge, reason, claimReason] as const),
    ),
  )(
    'counts %s payload %s as a forgery, never as its claim reason',
    async (_payload, _forgery, claims, forge, reason, claimReason) => {
      const { outcome } = await run(bearer(forge(claims())));

      expect(outcome).toBe('unauthorized');
      const decision = lastDecision();
      expect(decision.reason).toBe(reason);
      expect(decision.reason).not.toBe(claimReason);
      expect(output.metrics().map(emfCounts)).toEqual([{ [`token_${reason}`]: 1 }]);
    },
  );

  it.each(goodTokens.map((c) => [c.name, c] as const))('allows %s', async (_name, c) => {
    const { outcome, result } = await run(await c.header());

    expect(outcome).toBe('allow');
    expect(result?.principalId).toBe('user_01HXYZABCDEF');
    expect(result?.policyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: API_WILDCARD_ARN }],
    });
    expect(lastDecision()).toMatchObject({
      level: 'INFO',
      reason: 'allowed',
      sub: 'user_01HXYZABCDEF',
      client_id: 'client_01HCLIENT',
      service: 'mcp-authorizer',
    });
    expect(output.metrics().map(emfCounts)).toEqual([{ token_allowed: 1 }]);
  });

  it('puts the identity in a flat context with the contract keys, and never the token', async () => {
    const token = await signAccessToken(key);
    const { result } = await run(`Bearer ${token}`);

    const claims = accessTokenClaims();
    expect(result?.context).toEqual({
      sub: claims.sub,
      client_id: claims.client_id,
      org_id: claims.org_id,
      sid: claims.sid,
      scope: 'openid profile mcp:tools',
      jti: claims.jti,
      exp: expect.any(Number),
      aud: RESOURCE,
    });
    for (const value of Object.values(contextOf(result))) expect(['string', 'number']).toContain(typeof value);
    expect(JSON.stringify(result)).not.toContain(token.split('.')[2]);
  });

  it('omits absent claims from the context rather than sending null', async () => {
    const { result } = await run(
      bearer(
        await signAccessToken(
          key,
          accessTokenClaims({ org_id: undefined, sid: undefined, jti: undefined, client_id: undefined }),
        ),
      ),
    );

    expect(Object.keys(contextOf(result)).sort()).toEqual(['aud', 'exp', 'scope', 'sub']);
    expect(lastDecision()).not.toHaveProperty('client_id');
  });

  it('logs who lacked which scopes on a Deny', async () => {
    await run(bearer(await signAccessToken(key, accessTokenClaims({ scope: 'openid' }))));

    expect(lastDecision()).toMatchObject({
      reason: 'insufficient_scope',
      sub: 'user_01HXYZABCDEF',
      client_id: 'client_01HCLIENT',
      missing_scopes: 'mcp:tools',
    });
  });

  it('fails with a 500-class error, not Unauthorized, when the methodArn is not an API Gateway ARN', async () => {
    const token = await signAccessToken(key);
    secretsSeen.add(token);

    await expect(authorize(tokenAuthorizerEvent(`Bearer ${token}`, 'not-an-arn'))).rejects.toMatchObject({
      name: 'AuthorizerUnavailableError',
    });
    expect(lastDecision()).toMatchObject({ level: 'ERROR', message: 'Authorizer failed' });
  });

  it('never writes a token, a signature or the header to the logs or metrics', () => {
    // Runs after the corpus: every line any case produced is still in `allOutput`.
    const everything = allOutput.join('');
    expect(secretsSeen.size).toBeGreaterThan(50);
    for (const secret of secretsSeen) {
      expect(everything).not.toContain(secret);
      const parts = secret.replace(/^\s*\S+\s+/, '').split('.');
      if (parts.length >= 3 && parts[2].length > 16) expect(everything).not.toContain(parts[2]);
    }
  });
});

/** Every line written during this file, kept across `output.clear()`. */
const allOutput: string[] = [];
afterEach(() => {
  output.stop();
  allOutput.push(...output.lines);
});
