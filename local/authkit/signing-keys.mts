/**
 * RS256 signing keys of the stand-in: generated at start (or one fixed key given by the caller),
 * rotated on request by the test controls. The newest key signs; older keys stay published until
 * dropped, as an authorization server does during a key rollover.
 */
import { randomInt } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';

/** A private RSA JWK with the fields oidc-provider and the JWKS document need. */
export interface SigningJwk extends JWK {
  readonly kty: 'RSA';
  readonly kid: string;
  readonly alg: 'RS256';
  readonly use: 'sig';
  readonly d: string;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A key id shaped like WorkOS's (`sso_oidc_key_pair_` + a ULID). */
function newKeyId(): string {
  let suffix = '';
  for (let i = 0; i < 24; i += 1) suffix += CROCKFORD[randomInt(CROCKFORD.length)];
  return `sso_oidc_key_pair_01${suffix}`;
}

export async function generateSigningKey(): Promise<SigningJwk> {
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kty: 'RSA', kid: newKeyId(), alg: 'RS256', use: 'sig', d: String(jwk.d) };
}

/** Accepts a caller's fixed key (JSON text of a private RSA JWK); it must carry a `kid`. */
export function parseSigningKey(json: string, source: string): SigningJwk {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new Error(
      `${source} is not JSON: set it to a private RSA JWK such as {"kty":"RSA","kid":"...","n":"...","e":"AQAB","d":"...",...}.`,
    );
  }
  const jwk = value as Partial<JWK>;
  if (
    typeof value !== 'object' ||
    value === null ||
    jwk.kty !== 'RSA' ||
    typeof jwk.d !== 'string' ||
    typeof jwk.n !== 'string'
  ) {
    throw new Error(`${source} must be a private RSA JWK (kty "RSA" with n, e, d, p, q, dp, dq, qi).`);
  }
  if (typeof jwk.kid !== 'string' || jwk.kid === '') {
    throw new Error(`${source} has no "kid": give the key an id so that tokens name the key that signed them.`);
  }
  if (jwk.alg !== undefined && jwk.alg !== 'RS256') {
    throw new Error(`${source} has alg "${jwk.alg}": the stand-in signs with RS256 only, as AuthKit does.`);
  }
  return { ...jwk, kty: 'RSA', kid: jwk.kid, alg: 'RS256', use: 'sig', d: jwk.d };
}

export class SigningKeyRing {
  #keys: SigningJwk[];

  constructor(initial: SigningJwk) {
    this.#keys = [initial];
  }

  /** Newest first: oidc-provider signs with the first RS256 key it finds. */
  get keys(): readonly SigningJwk[] {
    return this.#keys;
  }

  get current(): SigningJwk {
    return this.#keys[0];
  }

  /** Puts a new key in front; keeps the previous ones published unless told to drop them. */
  async rotate(keepPrevious: boolean): Promise<SigningJwk> {
    const next = await generateSigningKey();
    this.#keys = keepPrevious ? [next, ...this.#keys] : [next];
    return next;
  }

  async currentSigningKey(): Promise<CryptoKey> {
    return (await importJWK(this.current, 'RS256')) as CryptoKey;
  }
}
