/**
 * The digest a `requestState` is bound to: SHA-256 of the request's method and the canonical JSON
 * of its params, less what a client changes when it retries a multi-round-trip request (the SDK
 * client resends the original params plus `inputResponses` and a byte-exact `requestState`, under a
 * new id; `_meta` carries per-request envelope keys and progress tokens). For `tools/call` that is
 * the tool name and its arguments.
 */
import { createHash } from 'node:crypto';

/** Params a multi-round-trip retry may legitimately change. */
const RETRY_FIELDS: ReadonlySet<string> = new Set(['_meta', 'inputResponses', 'requestState']);

export function requestDigest(
  method: string | undefined,
  params: Readonly<Record<string, unknown>> | undefined,
): string {
  const bound: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(params ?? {})) if (!RETRY_FIELDS.has(name)) bound[name] = value;
  return createHash('sha256')
    .update(canonicalJson([method ?? null, bound]))
    .digest('base64url');
}

/** JSON with object keys sorted at every level, so the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
