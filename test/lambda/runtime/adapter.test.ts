import fc from 'fast-check';
import {
  bodyTextOf,
  proxyEventFromRequest,
  proxyResultFromResponse,
  publicBaseOf,
  publicUrlOf,
  requestFromProxyEvent,
  responseFromProxyResult,
  type ProxyEvent,
} from '../../../lambda/runtime/adapter';
import { InvalidProxyEventError, StreamingResponseError } from '../../../lambda/runtime/errors';

const STAGE_BASE = publicBaseOf('https://abc123.execute-api.us-east-1.amazonaws.com/prod');
const DOMAIN_BASE = publicBaseOf('https://MCP.Example.com');
const MAPPED_BASE = publicBaseOf('https://api.example.com/v1/');

function event(overrides: Partial<ProxyEvent> = {}): ProxyEvent {
  return {
    httpMethod: 'POST',
    path: '/mcp',
    resource: '/mcp',
    headers: null,
    multiValueHeaders: null,
    body: null,
    isBase64Encoded: false,
    ...overrides,
  };
}

describe('public URL', () => {
  it('puts the stage back for the execute-api endpoint', () => {
    expect(publicUrlOf(event(), STAGE_BASE)).toBe('https://abc123.execute-api.us-east-1.amazonaws.com/prod/mcp');
  });

  it('uses the custom domain mapped at the root as is, in lower case', () => {
    expect(publicUrlOf(event(), DOMAIN_BASE)).toBe('https://mcp.example.com/mcp');
  });

  it.each(['/mcp', '/v1/mcp'])(
    'gives one URL behind a base path mapping whether or not the path %s carries the mapping',
    (path) => {
      expect(publicUrlOf(event({ path }), MAPPED_BASE)).toBe('https://api.example.com/v1/mcp');
      expect(publicUrlOf(event({ path, resource: '/{proxy+}' }), MAPPED_BASE)).toBe('https://api.example.com/v1/mcp');
    },
  );

  it.each([
    ['the literal /mcp resource', '/mcp'],
    ['a greedy resource', '/{proxy+}'],
  ])('keeps /mcp for a stage named mcp, reached through %s', (_case, resource) => {
    // execute-api reports the path without the stage, so /mcp here is the endpoint, not the base.
    const base = publicBaseOf('https://abc123.execute-api.us-east-1.amazonaws.com/mcp');
    const url = publicUrlOf(event({ path: '/mcp', resource, requestContext: { stage: 'mcp' } }), base);
    expect(url).toBe('https://abc123.execute-api.us-east-1.amazonaws.com/mcp/mcp');
  });

  it('takes a literal resource as the path below the API root, whatever path the event reports', () => {
    expect(
      publicUrlOf(event({ path: '/prod/mcp', resource: '/mcp', requestContext: { stage: 'prod' } }), STAGE_BASE),
    ).toBe('https://abc123.execute-api.us-east-1.amazonaws.com/prod/mcp');
  });

  it('keeps repeated query parameters, preferring the multi-value map', () => {
    const url = publicUrlOf(
      event({
        queryStringParameters: { tag: 'b' },
        multiValueQueryStringParameters: { tag: ['a', 'b'], q: ['x y&z'] },
      }),
      DOMAIN_BASE,
    );
    expect(new URL(url).searchParams.getAll('tag')).toEqual(['a', 'b']);
    expect(new URL(url).searchParams.get('q')).toBe('x y&z');
  });

  it('falls back to the single-value query map', () => {
    expect(publicUrlOf(event({ queryStringParameters: { a: '1' } }), DOMAIN_BASE)).toBe(
      'https://mcp.example.com/mcp?a=1',
    );
  });
});

describe('event → Request', () => {
  it('carries method, repeated headers and the text body', async () => {
    const request = requestFromProxyEvent(
      event({
        headers: { Accept: 'application/json', 'X-Tag': 'b' },
        multiValueHeaders: { Accept: ['application/json'], 'X-Tag': ['a', 'b'] },
        body: '{"a":1}',
      }),
      STAGE_BASE,
    );
    expect(request.method).toBe('POST');
    expect(request.headers.get('x-tag')).toBe('a, b');
    expect(await request.text()).toBe('{"a":1}');
  });

  it('keeps a header whatever its name, __proto__ included', () => {
    const request = requestFromProxyEvent(
      event({ headers: { ['__proto__']: 'kept', 'X-Plain': 'also kept' } }),
      STAGE_BASE,
    );
    expect(request.headers.get('__proto__')).toBe('kept');
    expect(request.headers.get('x-plain')).toBe('also kept');
  });

  it('uses single-value headers when the multi-value map is absent', () => {
    const request = requestFromProxyEvent(event({ headers: { Authorization: 'Bearer x' } }), STAGE_BASE);
    expect(request.headers.get('authorization')).toBe('Bearer x');
  });

  it('decodes a base64 body to the exact bytes', async () => {
    const bytes = Buffer.from([0, 255, 16, 128, 10]);
    const request = requestFromProxyEvent(event({ body: bytes.toString('base64'), isBase64Encoded: true }), STAGE_BASE);
    expect(Buffer.from(await request.arrayBuffer())).toEqual(bytes);
  });

  it('refuses a GET with a body', () => {
    expect(() => requestFromProxyEvent(event({ httpMethod: 'GET', body: 'x' }), STAGE_BASE)).toThrow(
      InvalidProxyEventError,
    );
  });

  it('refuses a header value fetch cannot carry, naming the header', () => {
    expect(() => requestFromProxyEvent(event({ headers: { 'X-Odd': 'a\nb' } }), STAGE_BASE)).toThrow(/"x-odd"/);
  });

  it('leaves the body out when asked, keeping method, URL and headers', () => {
    const request = requestFromProxyEvent(
      event({ headers: { 'Content-Type': 'application/json' }, body: '{"a":1}' }),
      STAGE_BASE,
      { withoutBody: true },
    );
    expect(request.body).toBeNull();
    expect(request.method).toBe('POST');
    expect(request.url).toBe('https://abc123.execute-api.us-east-1.amazonaws.com/prod/mcp');
    expect(request.headers.get('content-type')).toBe('application/json');
  });
});

describe('event body as text', () => {
  it.each<[string, Partial<ProxyEvent>, string, number]>([
    ['a text body, counting UTF-8 bytes', { body: '{"name":"Zoë ✓"}' }, '{"name":"Zoë ✓"}', 19],
    [
      'a base64 body, decoded',
      { body: Buffer.from('{"a":"é"}').toString('base64'), isBase64Encoded: true },
      '{"a":"é"}',
      10,
    ],
    ['no body', { body: null }, '', 0],
    ['an empty body', { body: '' }, '', 0],
  ])('reads %s', (_case, overrides, text, byteLength) => {
    expect(bodyTextOf(event(overrides))).toEqual({ text, byteLength });
  });
});

describe('Response → result', () => {
  it('keeps a JSON body as text', async () => {
    const result = await proxyResultFromResponse(Response.json({ ok: true }, { status: 201 }));
    expect(result).toEqual({
      statusCode: 201,
      multiValueHeaders: { 'content-type': ['application/json'] },
      body: '{"ok":true}',
      isBase64Encoded: false,
    });
  });

  it('base64-encodes a binary body', async () => {
    const bytes = Buffer.from([1, 2, 250]);
    const result = await proxyResultFromResponse(
      new Response(bytes, { headers: { 'Content-Type': 'application/octet-stream' } }),
    );
    expect(result.isBase64Encoded).toBe(true);
    expect(Buffer.from(result.body, 'base64')).toEqual(bytes);
  });

  it('keeps each Set-Cookie separate and an empty body empty', async () => {
    const headers = new Headers();
    headers.append('Set-Cookie', 'a=1');
    headers.append('Set-Cookie', 'b=2');
    const result = await proxyResultFromResponse(new Response(null, { status: 204, headers }));
    expect(result).toEqual({
      statusCode: 204,
      multiValueHeaders: { 'set-cookie': ['a=1', 'b=2'] },
      body: '',
      isBase64Encoded: false,
    });
  });
});

// Header names as API Gateway may deliver them (any case); values HTTP allows, without edge whitespace.
const headerName = fc
  .stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/)
  .filter((n) => n.toLowerCase() !== 'content-length');
const headerValue = fc.stringMatching(/^[!-~]([ -~]{0,30}[!-~])?$/);
const queryText = fc.string({ unit: 'grapheme', maxLength: 12 });
// Dot segments are excluded: URLs resolve them away, and clients never send them to API Gateway.
const pathSegment = fc.stringMatching(/^[A-Za-z0-9._~-]{1,10}$/).filter((s) => s !== '.' && s !== '..');

describe('an event stream', () => {
  it('is never waited on: its body is cancelled and a StreamingResponseError thrown', async () => {
    // Prepare: a stream that sends one frame and then never ends, as a subscription stream does.
    let cancelled = false;
    const endless = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('event: message\ndata: {}\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    const response = new Response(endless, {
      status: 200,
      headers: { 'Content-Type': 'Text/Event-Stream; charset=utf-8' },
    });

    // Act
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      proxyResultFromResponse(response).then(
        () => 'read',
        (error: unknown) => error,
      ),
      new Promise((resolve) => {
        timer = setTimeout(() => resolve('still waiting'), 2000);
      }),
    ]);
    clearTimeout(timer);

    // Assess
    expect(outcome).toBeInstanceOf(StreamingResponseError);
    expect(cancelled).toBe(true);
  });
});

describe('round trips (fast-check, fixed seed)', () => {
  const params = { seed: 20260728, numRuns: 200 };

  it('event → Request → event keeps method, path, headers, query and body bytes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('POST', 'PUT', 'PATCH', 'DELETE', 'GET'),
        fc.array(pathSegment, { minLength: 1, maxLength: 3 }),
        fc.dictionary(headerName, fc.array(headerValue, { minLength: 1, maxLength: 3 }), { maxKeys: 5 }),
        fc.dictionary(
          queryText.filter((k) => k !== ''),
          fc.array(queryText, { minLength: 1, maxLength: 3 }),
          { maxKeys: 4 },
        ),
        fc.uint8Array({ maxLength: 64 }),
        fc.boolean(),
        fc.constantFrom(STAGE_BASE, DOMAIN_BASE, MAPPED_BASE),
        async (method, segments, headers, query, bytes, base64, base) => {
          const body = method === 'GET' ? new Uint8Array() : bytes;
          const binary = base64 || !Buffer.from(Buffer.from(body).toString('utf8')).equals(Buffer.from(body));
          const original = event({
            httpMethod: method,
            resource: '/{proxy+}',
            path: `/${segments.join('/')}`,
            multiValueHeaders: {
              ...headers,
              'content-type': [binary ? 'application/octet-stream' : 'application/json'],
            },
            multiValueQueryStringParameters: query,
            body:
              body.length === 0
                ? null
                : binary
                  ? Buffer.from(body).toString('base64')
                  : Buffer.from(body).toString('utf8'),
            isBase64Encoded: body.length > 0 && binary,
          });
          const request = requestFromProxyEvent(original, base);
          const back = await proxyEventFromRequest(request, base);

          expect(back.httpMethod).toBe(method);
          expect(back.path).toBe(original.path);
          const expectedHeaders = new Map<string, string>();
          for (const [name, values] of Object.entries(original.multiValueHeaders ?? {})) {
            const key = name.toLowerCase();
            expectedHeaders.set(
              key,
              [expectedHeaders.get(key), ...(values ?? [])].filter((v) => v !== undefined).join(', '),
            );
          }
          expect(back.headers).toEqual(Object.fromEntries(expectedHeaders));
          const expectedQuery = Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [...v]]));
          expect(back.multiValueQueryStringParameters ?? {}).toEqual(expectedQuery);
          const backBytes =
            back.body === null || back.body === undefined
              ? Buffer.alloc(0)
              : Buffer.from(back.body, back.isBase64Encoded ? 'base64' : 'utf8');
          expect(backBytes).toEqual(Buffer.from(body));
        },
      ),
      params,
    );
  });

  it('Response → result → Response keeps status, headers and body bytes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(200, 201, 202, 400, 401, 403, 404, 405, 406, 413, 415, 500, 503),
        fc.dictionary(
          headerName.filter((n) => n.toLowerCase() !== 'content-type'),
          fc.array(headerValue, { minLength: 1, maxLength: 3 }),
          { maxKeys: 5 },
        ),
        fc.array(headerValue, { maxLength: 3 }),
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }).map((b) => ({ type: 'application/octet-stream', bytes: Buffer.from(b) })),
          fc.json().map((j) => ({ type: 'application/json', bytes: Buffer.from(j) })),
        ),
        async (status, headers, cookies, payload) => {
          const original = new Headers({ 'content-type': payload.type });
          for (const [name, values] of Object.entries(headers))
            for (const value of values) original.append(name, value);
          for (const cookie of cookies) original.append('set-cookie', cookie);
          const result = await proxyResultFromResponse(new Response(payload.bytes, { status, headers: original }));
          const back = responseFromProxyResult(result);

          expect(back.status).toBe(status);
          const pairs = (h: Headers) => {
            const out: [string, string][] = [];
            h.forEach((value, name) => {
              out.push([name, value]);
            });
            return out;
          };
          expect(pairs(back.headers)).toEqual(pairs(original));
          expect(back.headers.getSetCookie()).toEqual(cookies);
          expect(Buffer.from(await back.arrayBuffer())).toEqual(payload.bytes);
        },
      ),
      params,
    );
  });
});
