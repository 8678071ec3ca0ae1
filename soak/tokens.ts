/**
 * Access tokens for the soak run: real AuthKit-shaped tokens minted by the stand-in (valid ones,
 * and ones it signs but that this server must refuse), plus forgeries built here without any key,
 * as an attacker would. Every token is distinct, so the gateway's authorizer cache cannot answer
 * for the authorizer.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { AuthKitTestControls, MintTokenRequest } from '../local/authkit/launch';

/** How a token should fare: accepted, or refused with a 401. */
export type TokenVerdict = 'valid' | 'invalid';

export interface SoakToken {
  /** The Authorization header value to send; undefined sends no header at all. */
  readonly header: string | undefined;
  readonly verdict: TokenVerdict;
  /** What kind of token this is, for the report (e.g. `expired`, `random kid`). */
  readonly kind: string;
  /** For valid tokens: the `sub` the server must report back through `whoami`. */
  readonly sub?: string;
}

/** The kinds of refused tokens that the stand-in signs with its real key. */
export const SIGNED_INVALID_KINDS = [
  'expired',
  'other audience',
  'two audiences',
  'other issuer',
  'not yet valid',
  'jku header',
] as const;
/** The kinds of refused tokens forged here, without the signing key. */
export const FORGED_INVALID_KINDS = [
  'bad signature',
  'random kid',
  'alg none',
  'HS256',
  'garbage',
  'Basic scheme',
  'no header',
] as const;

const base64url = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A small deterministic generator, so a run's mix can be repeated. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface TokenFactoryOptions {
  readonly controls: AuthKitTestControls;
  /** The canonical resource (the audience valid tokens carry). */
  readonly resource: string;
  readonly issuer: string;
  /** Parallel mint requests to the stand-in. @default 16 */
  readonly mintConcurrency?: number;
}

/** Runs `task` for 0..count-1 with at most `concurrency` in flight, keeping the order of results. */
export async function mapConcurrently<T>(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  });
  await Promise.all(workers);
  return results;
}

export class TokenFactory {
  private serial = 0;
  constructor(private readonly options: TokenFactoryOptions) {}

  private get concurrency(): number {
    return this.options.mintConcurrency ?? 16;
  }

  /** `count` valid tokens, each for a different user, so that a mixed-up identity shows. */
  async valid(count: number): Promise<SoakToken[]> {
    return mapConcurrently(count, this.concurrency, async () => {
      const sub = `user_SOAK${String(this.serial++).padStart(8, '0')}${randomBytes(5).toString('hex').toUpperCase()}`;
      const minted = await this.options.controls.mintToken({ aud: this.options.resource, claims: { sub } });
      return { header: `Bearer ${minted.accessToken}`, verdict: 'valid' as const, kind: 'valid', sub };
    });
  }

  /** Tokens signed with the stand-in's real key that this server must still refuse. */
  async signedInvalid(count: number, random: () => number): Promise<SoakToken[]> {
    const now = Math.floor(Date.now() / 1000);
    const requests: Record<(typeof SIGNED_INVALID_KINDS)[number], () => MintTokenRequest> = {
      // Past the 30 s clock tolerance.
      expired: () => ({ aud: this.options.resource, expiresInSeconds: -120 }),
      'other audience': () => ({ aud: 'https://other-resource.example.com/mcp' }),
      'two audiences': () => ({ aud: [this.options.resource, 'https://other-resource.example.com/mcp'] }),
      'other issuer': () => ({ aud: this.options.resource, claims: { iss: 'https://someone-else.authkit.app' } }),
      'not yet valid': () => ({ aud: this.options.resource, claims: { nbf: now + 3600 } }),
      // A header that would let the token name where its key comes from.
      'jku header': () => ({ aud: this.options.resource, header: { jku: 'https://attacker.example.com/jwks.json' } }),
    };
    return mapConcurrently(count, this.concurrency, async () => {
      const kind = SIGNED_INVALID_KINDS[Math.floor(random() * SIGNED_INVALID_KINDS.length)];
      const minted = await this.options.controls.mintToken(requests[kind]());
      return { header: `Bearer ${minted.accessToken}`, verdict: 'invalid' as const, kind };
    });
  }

  /**
   * Tokens an attacker can make without the key. `validSample` supplies real tokens whose
   * signatures are replaced. Claims are otherwise right (issuer, audience, expiry), so each one
   * reaches the key lookup or the signature check instead of failing on a cheap claim check.
   */
  forged(count: number, random: () => number, validSample: readonly SoakToken[]): SoakToken[] {
    const tokens: SoakToken[] = [];
    for (let i = 0; i < count; i++) {
      const kind = FORGED_INVALID_KINDS[Math.floor(random() * FORGED_INVALID_KINDS.length)];
      tokens.push({ header: this.forge(kind, validSample[i % validSample.length]), verdict: 'invalid', kind });
    }
    return tokens;
  }

  /** One token with a `kid` the JWKS has never published, signed with nothing (the lookup fails first). */
  randomKid(): string {
    return `Bearer ${this.forgedJws({ alg: 'RS256', typ: 'at+jwt', kid: randomUUID() })}`;
  }

  private claims(): Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: this.options.issuer,
      sub: `user_FORGED${randomBytes(6).toString('hex')}`,
      aud: this.options.resource,
      client_id: 'client_FORGED',
      scope: 'openid profile email',
      jti: randomUUID(),
      iat: now,
      exp: now + 600,
    };
  }

  private forgedJws(header: Record<string, unknown>): string {
    return `${base64url(header)}.${base64url(this.claims())}.${randomBytes(256).toString('base64url')}`;
  }

  private forge(kind: (typeof FORGED_INVALID_KINDS)[number], valid: SoakToken | undefined): string | undefined {
    switch (kind) {
      case 'bad signature': {
        // A real header and payload with a signature of the right length that the key did not make.
        const [header, payload] = (valid?.header ?? this.randomKid()).slice('Bearer '.length).split('.');
        return `Bearer ${header}.${payload}.${randomBytes(256).toString('base64url')}`;
      }
      case 'random kid':
        return this.randomKid();
      case 'alg none':
        return `Bearer ${base64url({ alg: 'none', typ: 'at+jwt' })}.${base64url(this.claims())}.${randomBytes(8).toString('base64url')}`;
      case 'HS256':
        return `Bearer ${this.forgedJws({ alg: 'HS256', typ: 'at+jwt' }).split('.').slice(0, 2).join('.')}.${randomBytes(32).toString('base64url')}`;
      case 'garbage':
        return `Bearer ${randomBytes(24).toString('base64url')}.${randomBytes(96).toString('base64url')}.${randomBytes(64).toString('base64url')}`;
      case 'Basic scheme':
        return `Basic ${randomBytes(24).toString('base64')}`;
      case 'no header':
        return undefined;
    }
  }
}
