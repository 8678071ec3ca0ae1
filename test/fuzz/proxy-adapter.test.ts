/**
 * Fuzzing of the event ↔ Request adapter (fast-check, fixed seed) with events no well-behaved
 * gateway would send: odd methods, header names and values HTTP forbids, paths with `%`, `..`,
 * `//host` and non-ASCII text, bodies in either encoding. The adapter either builds a Request on
 * this server's own origin or refuses with InvalidProxyEventError (a 400), never anything else.
 */
import fc from 'fast-check';
import {
  headerValuesOf,
  proxyResultFromResponse,
  publicBaseOf,
  requestFromProxyEvent,
  responseFromProxyResult,
  type ProxyEvent,
} from '../../lambda/runtime/adapter';
import { InvalidProxyEventError } from '../../lambda/runtime/errors';

const SEED = 20260707;

const BASES = [
  'https://mcp.example.com',
  'https://abc123.execute-api.us-east-1.amazonaws.com/prod',
  'http://localhost:8787',
].map(publicBaseOf);

// Mostly plausible parts, so that many events get through and the invariants on built requests are exercised too.
const method = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      'POST',
      'GET',
      'OPTIONS',
      'DELETE',
      'HEAD',
      'post',
      'PATCH',
      'CONNECT',
      'TRACE',
      'TRACK',
    ),
    weight: 4,
  },
  fc.string({ maxLength: 10 }),
);
const headerName = fc.oneof(
  { arbitrary: fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/), weight: 3 },
  fc.constantFrom(
    'Authorization',
    'content-type',
    'Accept',
    'Origin',
    'Host',
    'MCP-Protocol-Version',
    'Mcp-Session-Id',
    'X-Forwarded-Host',
    'Content-Length',
    'Transfer-Encoding',
  ),
  fc.string({ maxLength: 20 }),
);
const headerValue = fc.oneof(
  { arbitrary: fc.stringMatching(/^[!-~]([ -~]{0,40}[!-~])?$/), weight: 4 },
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.constantFrom('evil.example.com', 'https://evil.example.com', '\r\nX-Injected: 1', ' padded '),
);
const pathSegment = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom(
    '..',
    '.',
    '%',
    '%2e%2e',
    '%2F',
    '@evil.example.com',
    'evil.example.com',
    'mcp',
    'prod',
    '\u00e9t\u00e9',
    '?',
    '#frag',
  ),
);
const path = fc.oneof(
  fc.array(pathSegment, { maxLength: 5 }).map((segments) => `/${segments.join('/')}`),
  fc.constantFrom(
    '//evil.example.com/mcp',
    '/prod/mcp',
    '/mcp',
    '',
    'mcp',
    '\\\\evil.example.com',
    '/%',
    'http://evil.example.com/mcp',
  ),
);
const query = fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 12 }), { maxKeys: 3 }), {
  nil: null,
});
const body = fc.option(
  fc.oneof(
    fc.string({ maxLength: 200 }).map((text) => ({ body: text, isBase64Encoded: false })),
    fc
      .uint8Array({ maxLength: 200 })
      .map((bytes) => ({ body: Buffer.from(bytes).toString('base64'), isBase64Encoded: true })),
  ),
  { nil: undefined },
);

const hostileEvent: fc.Arbitrary<ProxyEvent> = fc
  .record({
    httpMethod: method,
    path,
    headers: fc.option(fc.dictionary(headerName, headerValue, { maxKeys: 6 }), { nil: null }),
    multiValueHeaders: fc.option(fc.dictionary(headerName, fc.array(headerValue, { maxLength: 3 }), { maxKeys: 4 }), {
      nil: null,
    }),
    queryStringParameters: query,
    body,
  })
  .map(({ body: payload, ...event }) => ({
    ...event,
    body: payload?.body ?? null,
    isBase64Encoded: payload?.isBase64Encoded ?? false,
  }));

function build(event: ProxyEvent, base: ReturnType<typeof publicBaseOf>): Request | InvalidProxyEventError {
  try {
    return requestFromProxyEvent(event, base);
  } catch (error) {
    if (error instanceof InvalidProxyEventError) return error;
    throw error;
  }
}

describe('proxy adapter under fuzzing', () => {
  it('builds a Request on the public origin or refuses with InvalidProxyEventError, for any event', () => {
    let builtCount = 0;
    fc.assert(
      fc.property(hostileEvent, fc.constantFrom(...BASES), (event, base) => {
        const built = build(event, base);
        if (built instanceof InvalidProxyEventError) {
          expect(built.message.length).toBeGreaterThan(0);
          return;
        }
        builtCount++;
        // A path or header can never move the request to another host or scheme.
        expect(new URL(built.url).origin).toBe(base.origin);
        expect(built.method).toBe(event.httpMethod.toUpperCase());
      }),
      { seed: SEED, numRuns: 2000 },
    );
    // Enough events got through for the origin check to have been exercised, not only the refusals.
    expect(builtCount).toBeGreaterThan(200);
  });

  it('hands the body over byte for byte, whichever encoding the gateway used', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 2048 }), fc.boolean(), async (bytes, asBase64) => {
        const text = Buffer.from(bytes).toString('utf8');
        const event: ProxyEvent = {
          httpMethod: 'POST',
          path: '/mcp',
          headers: { 'content-type': 'application/json' },
          body: asBase64 ? Buffer.from(bytes).toString('base64') : text,
          isBase64Encoded: asBase64,
        };
        const request = requestFromProxyEvent(event, BASES[0]);
        const received = Buffer.from(await request.arrayBuffer());
        expect(received.equals(asBase64 ? Buffer.from(bytes) : Buffer.from(text, 'utf8'))).toBe(true);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('reads headers case-insensitively from both maps without throwing on odd shapes', () => {
    const oddValues = fc.oneof(
      fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
      fc.string({ maxLength: 10 }),
      fc.constant(undefined),
      fc.constant(null),
    );
    fc.assert(
      fc.property(
        fc.dictionary(headerName, oddValues as fc.Arbitrary<never>, { maxKeys: 5 }),
        fc.dictionary(headerName, fc.option(fc.string({ maxLength: 10 }), { nil: undefined }), { maxKeys: 5 }),
        (multi, single) => {
          const values = headerValuesOf({
            httpMethod: 'POST',
            path: '/mcp',
            multiValueHeaders: multi,
            headers: single,
          });
          for (const [name, list] of values) {
            expect(name).toBe(name.toLowerCase());
            expect(list.length).toBeGreaterThan(0);
          }
          for (const [name, value] of Object.entries(single)) {
            if (value !== undefined) expect(values.has(name.toLowerCase())).toBe(true);
          }
        },
      ),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('carries any response back through a proxy result without losing a byte or the status', async () => {
    // Event streams are left out: a buffered integration cannot carry them, and the adapter refuses them.
    const contentType = fc.constantFrom(
      'application/json',
      'text/plain; charset=utf-8',
      'application/octet-stream',
      'image/png',
      'text/csv',
      'application/problem+json',
    );
    const status = fc.integer({ min: 200, max: 599 }).filter((s) => ![204, 205, 304].includes(s));
    await fc.assert(
      fc.asyncProperty(status, contentType, fc.uint8Array({ maxLength: 1024 }), async (code, type, bytes) => {
        const textual = !['application/octet-stream', 'image/png'].includes(type);
        // Textual bodies travel as text, so only valid UTF-8 survives them unchanged.
        const payload = textual ? Buffer.from(Buffer.from(bytes).toString('utf8'), 'utf8') : Buffer.from(bytes);
        const result = await proxyResultFromResponse(
          new Response(payload, { status: code, headers: { 'content-type': type } }),
        );
        const back = responseFromProxyResult(result);
        expect(back.status).toBe(code);
        expect(back.headers.get('content-type')).toBe(type);
        expect(Buffer.from(await back.arrayBuffer()).equals(payload)).toBe(true);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });
});
