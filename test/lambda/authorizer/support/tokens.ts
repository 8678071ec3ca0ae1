/**
 * Keys and tokens for tests: real key pairs from jose, well-formed tokens signed with jose, and
 * hand-assembled compact JWS for the malformed and hostile shapes jose refuses to produce.
 */
import { createHmac, KeyObject, sign } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

export const ISSUER = 'https://acme.authkit.app';
export const PUBLIC_BASE_URL = 'https://mcp.example.com';
export const RESOURCE = 'https://mcp.example.com/mcp';

export interface TestKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The public JWK as AuthKit publishes it (kid, alg, use). */
  readonly jwk: JWK;
}

export async function createTestKey(kid: string, alg: 'RS256' | 'ES256' = 'RS256'): Promise<TestKey> {
  const pair = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' };
  return { kid, privateKey: KeyObject.from(pair.privateKey), publicKey: KeyObject.from(pair.publicKey), jwk };
}

/** The claims of a typical AuthKit access token for this server, valid for an hour. */
export function accessTokenClaims(
  overrides: Record<string, unknown> = {},
  nowSeconds = Math.floor(Date.now() / 1000),
): Record<string, unknown> {
  return {
    iss: ISSUER,
    sub: 'user_01HXYZABCDEF',
    aud: RESOURCE,
    client_id: 'client_01HCLIENT',
    org_id: 'org_01HORG',
    sid: 'session_01HSESSION',
    scope: 'openid profile mcp:tools',
    jti: 'jti_01HJTI',
    iat: nowSeconds - 5,
    exp: nowSeconds + 3600,
    ...overrides,
  };
}

/** A token signed by jose, the way AuthKit's tokens are produced. */
export async function signAccessToken(
  key: TestKey,
  claims: Record<string, unknown> = accessTokenClaims(),
  alg = key.jwk.alg as string,
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
}

export const b64url = (value: string | Buffer): string => Buffer.from(value).toString('base64url');

/** Assembles `header.payload.signature` by hand; `signer` receives the signing input. */
export function compactJws(
  header: object | string,
  payload: object | string,
  signer: (signingInput: Buffer) => Buffer | string,
): string {
  const h = typeof header === 'string' ? header : b64url(JSON.stringify(header));
  const p = typeof payload === 'string' ? payload : b64url(JSON.stringify(payload));
  const signature = signer(Buffer.from(`${h}.${p}`));
  return `${h}.${p}.${typeof signature === 'string' ? signature : b64url(signature)}`;
}

export const rs256Signer = (key: TestKey) => (input: Buffer) => sign('sha256', input, key.privateKey);
export const es256Signer = (key: TestKey) => (input: Buffer) =>
  sign('sha256', input, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
/** The classic key-confusion attack: HMAC keyed with the server's public key. */
export const hmacWithPublicKeySigner =
  (key: TestKey, hash = 'sha256') =>
  (input: Buffer) =>
    createHmac(hash, key.publicKey.export({ type: 'spki', format: 'pem' }))
      .update(input)
      .digest();
