/**
 * What counts as "this machine" for the stand-in's browser-facing decisions: which origins may read
 * its responses cross-origin (CORS), which redirect URIs a sign-in may complete to without a person
 * pressing the button, and which Client ID Metadata Documents it may fetch over plain http in tests.
 * Shared by the ES-module stand-in and its CommonJS launcher.
 */

/** Host names (as `URL.hostname` spells them) that always mean the local machine. */
export const LOOPBACK_HOSTNAMES: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

/** True for an http(s) URL whose host is loopback, e.g. `http://127.0.0.1:43117/callback`. */
export function isLoopbackUrl(value: string | URL | undefined | null): boolean {
  if (value === undefined || value === null || value === '') return false;
  const url = typeof value === 'string' ? URL.parse(value) : value;
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) return false;
  // Credentials in the authority (`http://localhost@evil.example`) parse to the real host; refuse them anyway.
  if (url.username !== '' || url.password !== '') return false;
  return LOOPBACK_HOSTNAMES.has(url.hostname);
}

/** True for a browser `Origin` value on loopback; `null` (opaque origins) and anything else are false. */
export function isLoopbackOrigin(origin: string | undefined | null): boolean {
  if (!origin || origin === 'null') return false;
  const url = URL.parse(origin);
  return url !== null && url.origin === origin && isLoopbackUrl(url);
}
