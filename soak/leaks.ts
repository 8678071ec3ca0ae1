/**
 * Finds sent tokens in log lines. A token counts as logged when any 24 or more consecutive
 * characters of its secret parts appear in a line: for a JWS its `header.payload` (the claims,
 * and the signing input) and its signature; for another scheme the whole credential. So a token
 * that was cut short, split at its dots, or logged only in part is found too.
 */
import type { SoakToken } from './tokens';

/** The shortest run of a token's characters that counts as logging it. */
export const LEAK_MIN_CHARS = 24;
/**
 * Any run of LEAK_MIN_CHARS characters of a string contains one whole block of this length that
 * starts at a multiple of it, so indexing a token's blocks at those offsets finds every such run.
 */
const BLOCK = LEAK_MIN_CHARS / 2;
/** Characters of base64, base64url and the dots between JWS parts. */
const CANDIDATE_RUN = new RegExp(`[A-Za-z0-9_\\-+/=.]{${LEAK_MIN_CHARS},}`, 'g');

/**
 * The parts of an Authorization header value that must never appear in a log: a JWS's
 * `header.payload` and its signature, or the whole credential of another scheme. Parts shorter
 * than LEAK_MIN_CHARS cannot be told apart from chance and are left out.
 */
export function watchedSegments(header: string | undefined): string[] {
  if (!header) return [];
  const credentials = header.replace(/^\S+\s+/, '');
  const parts = credentials.split('.');
  const segments = parts.length === 3 ? [`${parts[0]}.${parts[1]}`, parts[2]] : [credentials];
  return segments.filter((segment) => segment.length >= LEAK_MIN_CHARS);
}

export class TokenLeakScanner {
  /** Every distinct run of token-like characters seen in a line. */
  private readonly runs = new Set<string>();
  lines = 0;

  readonly onLine = (line: string): void => {
    this.lines++;
    for (const match of line.matchAll(CANDIDATE_RUN)) this.runs.add(match[0]);
  };

  /** How many of `tokens` have LEAK_MIN_CHARS or more consecutive characters of a watched segment in some line. */
  leaks(tokens: readonly SoakToken[]): number {
    const segments = tokens.map((token) => watchedSegments(token.header));
    // Block text → where it occurs, packed as one number (token, segment, offset) or a list of them
    // for blocks that several tokens share (e.g. the JWS header of one signing key).
    const index = new Map<string, number | number[]>();
    for (const [tokenIndex, list] of segments.entries()) {
      for (const [segmentIndex, segment] of list.entries()) {
        for (let offset = 0; offset + BLOCK <= segment.length; offset += BLOCK) {
          const block = segment.slice(offset, offset + BLOCK);
          const place = pack(tokenIndex, segmentIndex, offset);
          const places = index.get(block);
          if (places === undefined) index.set(block, place);
          else if (typeof places === 'number') index.set(block, [places, place]);
          else places.push(place);
        }
      }
    }
    const leaked = new Set<number>();
    for (const run of this.runs) {
      for (let at = 0; at + BLOCK <= run.length; at++) {
        const places = index.get(run.slice(at, at + BLOCK));
        if (places === undefined) continue;
        for (const place of typeof places === 'number' ? [places] : places) {
          const { tokenIndex, segmentIndex, offset } = unpack(place);
          if (
            !leaked.has(tokenIndex) &&
            commonRunLength(run, at, segments[tokenIndex][segmentIndex], offset) >= LEAK_MIN_CHARS
          )
            leaked.add(tokenIndex);
        }
      }
    }
    return leaked.size;
  }

  /**
   * Proves on planted lines that a logged token would be found, whole or in part, and that a run
   * one character short of the threshold is not, so a zero means something.
   */
  static selfCheck(): void {
    const header = 'eyJhbGciOiJSUzI1NiIsImtpZCI6InBsYW50ZWQifQ';
    const payload = 'eyJzdWIiOiJ1c2VyXzAxUExBTlRFRCIsImF1ZCI6Imh0dHBzOi8vbWNwLmV4YW1wbGUuY29tL21jcCJ9';
    const signature = 'c2lnbmF0dXJlLW9mLXRoZS1wbGFudGVkLXRva2VuLWxvbmctZW5vdWdoLXRvLWNoZWNr';
    const headerValue = `Bearer ${header}.${payload}.${signature}`;
    const token: SoakToken = { header: headerValue, verdict: 'valid', kind: 'planted' };
    const cases: Array<[string, string, number]> = [
      ['the whole header value', headerValue, 1],
      ['24 characters from inside the payload', payload.slice(20, 44), 1],
      ['24 characters from inside the signature', signature.slice(30, 54), 1],
      ['24 characters across the header.payload dot', `${header.slice(-12)}.${payload.slice(0, 11)}`, 1],
      ['23 characters of the signature', signature.slice(30, 53), 0],
    ];
    for (const [what, fragment, expected] of cases) {
      const scanner = new TokenLeakScanner();
      scanner.onLine(
        `{"level":"INFO","message":"request","note":"${fragment}","requestId":"3f0c2a51-9d7e-4c1b-8a2f-6e5d4c3b2a19"}`,
      );
      if (scanner.leaks([token]) !== expected) {
        throw new Error(
          `The log scanner ${expected ? 'misses' : 'wrongly reports'} ${what} of a planted token; the leak figure would mean nothing.`,
        );
      }
    }
  }
}

// Segments are far shorter than 2^20 characters (a request header is at most a few KB).
const OFFSETS = 2 ** 20;
const pack = (tokenIndex: number, segmentIndex: number, offset: number): number =>
  (tokenIndex * 2 + segmentIndex) * OFFSETS + offset;
const unpack = (place: number) => {
  const slot = Math.floor(place / OFFSETS);
  return { tokenIndex: slot >> 1, segmentIndex: slot & 1, offset: place % OFFSETS };
};

/** Length of the common run of `a` and `b` that contains a[at..at+BLOCK) = b[offset..offset+BLOCK). */
function commonRunLength(a: string, at: number, b: string, offset: number): number {
  let before = 0;
  while (at - before > 0 && offset - before > 0 && a[at - before - 1] === b[offset - before - 1]) before++;
  let after = BLOCK;
  while (at + after < a.length && offset + after < b.length && a[at + after] === b[offset + after]) after++;
  return before + after;
}
