/**
 * `Accept` read as the list of media ranges it is (RFC 9110 §12.5.1), not as a substring: each
 * element is `type/subtype` with optional parameters, and `q=0` says the type is not acceptable.
 *
 * The Streamable HTTP transport says the client MUST list both `application/json` and
 * `text/event-stream` in `Accept`; the MCP SDK's own transport checks that both names appear. A
 * type therefore counts only when it is listed by name: a wildcard (all types, or `application/*`) does
 * not list it, so the runtime answers such a request as the SDK would, with 406, in both eras.
 */

/** One element of an `Accept` header. */
export interface MediaRange {
  /** `type/subtype`, lower-cased. */
  readonly essence: string;
  /** The `q` weight, 0 to 1; 1 when absent. */
  readonly q: number;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i;
// RFC 9110 qvalue: 0, 0.x to 0.xxx, 1, 1.0 to 1.000.
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/** The media ranges of an `Accept` value; malformed elements are left out. */
export function mediaRangesOf(accept: string | undefined): MediaRange[] {
  if (accept === undefined) return [];
  const ranges: MediaRange[] = [];
  for (const element of splitOutsideQuotes(accept, ',')) {
    const [range = '', ...params] = splitOutsideQuotes(element, ';').map((part) => part.trim());
    const [type, subtype, extra] = range.split('/');
    if (extra !== undefined || !type || !subtype || !TOKEN.test(type) || !TOKEN.test(subtype)) continue;
    const q = weightOf(params);
    if (q !== undefined) ranges.push({ essence: `${type}/${subtype}`.toLowerCase(), q });
  }
  return ranges;
}

/** Whether `accept` lists `essence` by name with a weight above 0 (and never with weight 0). */
export function listsAcceptable(accept: string | undefined, essence: string): boolean {
  return listsAllAcceptable(accept, [essence]);
}

/** Whether `accept` lists every one of `essences` as {@link listsAcceptable} says, reading the header once. */
export function listsAllAcceptable(accept: string | undefined, essences: readonly string[]): boolean {
  const ranges = mediaRangesOf(accept);
  return essences.every((essence) => {
    let named = false;
    for (const range of ranges) {
      if (range.essence !== essence) continue;
      if (range.q <= 0) return false;
      named = true;
    }
    return named;
  });
}

/** The `q` parameter's weight: 1 without one, undefined when it is malformed. */
function weightOf(params: readonly string[]): number | undefined {
  let q = 1;
  for (const param of params) {
    const [name = '', value = ''] = param.split('=', 2).map((part) => part.trim());
    if (name.toLowerCase() !== 'q') continue;
    if (!QVALUE.test(value)) return undefined;
    q = Number(value);
  }
  return q;
}

/**
 * The non-blank parts of `text` between separators that are not inside a quoted string. Parts are
 * sliced out of `text`, not built a character at a time: this runs on every request's `Accept`.
 */
function splitOutsideQuotes(text: string, separator: ',' | ';'): string[] {
  if (!text.includes('"')) return text.split(separator).filter((part) => part.trim() !== '');
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (quoted && char === '\\') index++;
    else if (char === '"') quoted = !quoted;
    else if (char === separator && !quoted) {
      parts.push(text.slice(start, index));
      start = index + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.filter((part) => part.trim() !== '');
}
