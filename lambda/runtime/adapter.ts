/**
 * The bridge between API Gateway REST API Lambda proxy events (payload 1.0) and web-standard
 * `Request`/`Response`, so that the MCP SDK's fetch-shaped handler can serve Lambda traffic.
 *
 * The types here are structural: they match `APIGatewayProxyEvent`/`APIGatewayProxyResult` from
 * `@types/aws-lambda` without importing it, so this module (and the public runtime API) carries no
 * AWS dependency at all.
 */
import { decodeLeniently, normaliseBaseUrl } from '../shared/urls';
import { InvalidProxyEventError, StreamingResponseError } from './errors';

/** The parts of a REST API proxy event (payload 1.0) that the MCP runtime reads. */
export interface ProxyEvent {
  readonly httpMethod: string;
  /** The request path as API Gateway reports it (without the stage on execute-api, possibly with a custom domain's base path). */
  readonly path: string;
  readonly resource?: string;
  readonly headers?: Readonly<Record<string, string | undefined>> | null;
  readonly multiValueHeaders?: Readonly<Record<string, readonly string[] | undefined>> | null;
  readonly queryStringParameters?: Readonly<Record<string, string | undefined>> | null;
  readonly multiValueQueryStringParameters?: Readonly<Record<string, readonly string[] | undefined>> | null;
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
  readonly requestContext?: ProxyRequestContext;
}

export interface ProxyRequestContext {
  readonly requestId?: string;
  readonly stage?: string;
  /** The token authorizer's context: flat values, delivered by API Gateway as strings. */
  readonly authorizer?: Readonly<Record<string, unknown>> | null;
}

/** A REST API proxy integration result. */
export interface ProxyResult {
  readonly statusCode: number;
  readonly multiValueHeaders: Record<string, string[]>;
  readonly body: string;
  readonly isBase64Encoded: boolean;
}

/** Where the API is reachable: the public origin and the path prefix in front of every resource. */
export interface PublicBase {
  /** e.g. `https://abc.execute-api.us-east-1.amazonaws.com` */
  readonly origin: string;
  /** e.g. `/prod` for an execute-api stage, `''` for a custom domain mapped at the root. */
  readonly basePath: string;
}

/** Splits a public base URL (`PUBLIC_BASE_URL`) into origin and base path. */
export function publicBaseOf(baseUrl: string): PublicBase {
  const url = new URL(normaliseBaseUrl(baseUrl));
  return { origin: url.origin, basePath: url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '') };
}

/** `path` below `basePath` when it starts with it (a public URL's path always does), else `path` itself. */
function withoutBasePath(path: string, basePath: string): string {
  const absolute = path.startsWith('/') ? path : `/${path}`;
  if (basePath !== '' && (absolute === basePath || absolute.startsWith(`${basePath}/`))) {
    return absolute.slice(basePath.length) || '/';
  }
  return absolute;
}

/**
 * The path of an event below the public base. A literal resource (`/mcp`) is exactly that, whatever
 * the stage or base path mapping. For a greedy resource (`/{proxy+}`) the path is used: on the
 * execute-api endpoint API Gateway reports it without the stage, behind a custom domain with a base
 * path mapping with the mapping's prefix, which is dropped. A base path that is the stage itself
 * is the execute-api form: never stripped, or a stage named `mcp` would turn `/mcp` into `/`.
 */
function relativePathOf(event: ProxyEvent, basePath: string): string {
  if (event.resource && !event.resource.includes('{')) return event.resource;
  const stage = event.requestContext?.stage;
  if (stage !== undefined && basePath === `/${stage}`)
    return event.path.startsWith('/') ? event.path : `/${event.path}`;
  return withoutBasePath(event.path, basePath);
}

function queryStringOf(event: ProxyEvent): string {
  if (isEmpty(event.multiValueQueryStringParameters) && isEmpty(event.queryStringParameters)) return '';
  const params = new URLSearchParams();
  if (event.multiValueQueryStringParameters) {
    for (const [name, values] of Object.entries(event.multiValueQueryStringParameters)) {
      for (const value of values ?? []) params.append(name, value);
    }
  } else if (event.queryStringParameters) {
    for (const [name, value] of Object.entries(event.queryStringParameters)) {
      if (value !== undefined) params.append(name, value);
    }
  }
  const query = params.toString();
  return query === '' ? '' : `?${query}`;
}

function isEmpty(map: Readonly<Record<string, unknown>> | null | undefined): boolean {
  if (!map) return true;
  for (const _ in map) return false;
  return true;
}

/** The full public URL the client called: right for both a custom domain and the execute-api stage path. */
export function publicUrlOf(event: ProxyEvent, base: PublicBase): string {
  const relative = relativePathOf(event, base.basePath);
  // The common case (`/mcp`) needs no escaping; anything else is escaped segment by segment.
  const path = /^[A-Za-z0-9\-._~/]*$/.test(relative)
    ? relative
    : relative
        .split('/')
        .map((segment) => encodeURIComponent(decodeLeniently(segment)))
        .join('/');
  return `${base.origin}${base.basePath}${path}${queryStringOf(event)}`;
}

/** Every header value of the event, name → values, preferring the multi-value map (it keeps repeats). */
export function headerValuesOf(event: ProxyEvent): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const multi = event.multiValueHeaders;
  if (multi) {
    for (const name in multi) {
      if (!Object.hasOwn(multi, name)) continue;
      const values = multi[name];
      const list = typeof values === 'string' ? [values] : Array.isArray(values) ? values : [];
      if (list.length === 0) continue;
      const key = name.toLowerCase();
      const existing = out.get(key);
      if (existing) existing.push(...list);
      else out.set(key, [...list]);
    }
  }
  const single = event.headers;
  if (single) {
    for (const name in single) {
      if (!Object.hasOwn(single, name)) continue;
      const value = single[name];
      const key = name.toLowerCase();
      if (value !== undefined && !out.has(key)) out.set(key, [value]);
    }
  }
  return out;
}

/** The raw body bytes of the event (base64-decoded when `isBase64Encoded`). */
export function bodyBytesOf(event: ProxyEvent): Buffer<ArrayBuffer> {
  if (event.body === undefined || event.body === null || event.body === '') return Buffer.alloc(0);
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
}

/** A body as text, with its size in bytes on the wire. */
export interface BodyText {
  readonly text: string;
  readonly byteLength: number;
}

/**
 * The body of the event as UTF-8 text and its size in bytes. A text body is used as API Gateway
 * delivered it (it decoded the client's UTF-8 already), without a round trip through a buffer;
 * only a base64 body is decoded.
 */
export function bodyTextOf(event: ProxyEvent): BodyText {
  const body = event.body;
  if (body === undefined || body === null || body === '') return { text: '', byteLength: 0 };
  if (event.isBase64Encoded) {
    const bytes = Buffer.from(body, 'base64');
    return { text: bytes.toString('utf8'), byteLength: bytes.byteLength };
  }
  return { text: body, byteLength: Buffer.byteLength(body, 'utf8') };
}

export interface RequestOptions {
  /** Body bytes already decoded by the caller, to avoid decoding twice. */
  readonly body?: Uint8Array<ArrayBuffer>;
  /** The event's headers as {@link headerValuesOf} returns them, when the caller already has them. */
  readonly headers?: ReadonlyMap<string, readonly string[]>;
  /**
   * Build the request without its body, for a caller that hands the MCP SDK the parsed message
   * (`parsedBody`): the SDK then never reads the body, and a body costs a stream per request.
   */
  readonly withoutBody?: boolean;
  readonly signal?: AbortSignal;
}

/** Builds the web `Request` a proxy event stands for. Throws {@link InvalidProxyEventError} for a header or body fetch refuses. */
export function requestFromProxyEvent(event: ProxyEvent, base: PublicBase, options: RequestOptions = {}): Request {
  const method = event.httpMethod.toUpperCase();
  const headerValues = options.headers ?? headerValuesOf(event);
  const body = options.withoutBody ? undefined : (options.body ?? bodyBytesOf(event));
  const hasBody = body !== undefined && body.byteLength > 0;
  if (hasBody && (method === 'GET' || method === 'HEAD')) {
    throw new InvalidProxyEventError(`A ${method} request cannot carry a body.`);
  }
  const init: RequestInit = { method, headers: headersInitOf(headerValues) };
  if (hasBody) init.body = body;
  if (options.signal) init.signal = options.signal;
  try {
    return new Request(publicUrlOf(event, base), init);
  } catch (cause) {
    const culprit = pairsOf(headerValues).find(([name, value]) => !isValidHeader(name, value));
    if (culprit)
      throw new InvalidProxyEventError(
        `The request header "${culprit[0]}" has a name or value that HTTP does not allow.`,
        { cause },
      );
    throw new InvalidProxyEventError(`The request cannot be represented: ${(cause as Error).message}`, { cause });
  }
}

function pairsOf(headerValues: ReadonlyMap<string, readonly string[]>): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [name, values] of headerValues) {
    for (const value of values) pairs.push([name, value]);
  }
  return pairs;
}

/**
 * The headers as fetch takes them: a record when every name has one value (the usual case, which
 * fetch converts faster than pairs), else pairs, so repeated values are appended one by one.
 */
function headersInitOf(headerValues: ReadonlyMap<string, readonly string[]>): HeadersInit {
  const record: Record<string, string> = {};
  for (const [name, values] of headerValues) {
    // fetch copies a record through plain assignment, which would swallow a header named `__proto__`.
    if (values.length !== 1 || name === '__proto__') return pairsOf(headerValues);
    record[name] = values[0];
  }
  return record;
}

function isValidHeader(name: string, value: string): boolean {
  try {
    new Headers([[name, value]]);
    return true;
  } catch {
    return false;
  }
}

function mediaTypeOf(contentType: string | null): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

// Bodies of these media types travel as text; everything else is base64 so no byte is lost.
function isTextual(contentType: string | null): boolean {
  return contentType !== null && isTextualMediaType(mediaTypeOf(contentType));
}

function isTextualMediaType(essence: string): boolean {
  return (
    essence.startsWith('text/') ||
    essence === 'application/json' ||
    essence.endsWith('+json') ||
    essence === 'application/javascript' ||
    essence === 'application/xml' ||
    essence.endsWith('+xml') ||
    essence === 'application/x-www-form-urlencoded'
  );
}

/** Header map of a `Headers` object: one entry per name, `Set-Cookie` kept as separate values. */
export function multiValueHeadersOf(headers: Headers): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  headers.forEach((value, name) => {
    if (name !== 'set-cookie') out[name] = [value];
  });
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) out['set-cookie'] = cookies;
  return out;
}

/**
 * Reads a web `Response` into a proxy integration result (the REST API integration is buffered).
 * An event stream is never read: it may not end, and a buffered integration could not deliver it
 * as one anyway. Its body is cancelled and {@link StreamingResponseError} thrown.
 */
export async function proxyResultFromResponse(response: Response): Promise<ProxyResult> {
  const multiValueHeaders = multiValueHeadersOf(response.headers);
  if (response.body === null)
    return { statusCode: response.status, multiValueHeaders, body: '', isBase64Encoded: false };
  const mediaType = mediaTypeOf(response.headers.get('content-type'));
  if (mediaType === 'text/event-stream') {
    await response.body.cancel().catch(() => undefined);
    throw new StreamingResponseError();
  }
  if (isTextualMediaType(mediaType)) {
    return { statusCode: response.status, multiValueHeaders, body: await response.text(), isBase64Encoded: false };
  }
  const bytes = Buffer.from(await response.arrayBuffer());
  return {
    statusCode: response.status,
    multiValueHeaders,
    body: bytes.toString('base64'),
    isBase64Encoded: bytes.byteLength > 0,
  };
}

// Statuses whose responses must not carry a body (fetch refuses to build them with one).
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** Turns a proxy result back into a web `Response`: what a client behind API Gateway receives. */
export function responseFromProxyResult(result: {
  readonly statusCode: number;
  readonly headers?: Readonly<Record<string, string | number | boolean>>;
  readonly multiValueHeaders?: Readonly<Record<string, readonly (string | number | boolean)[]>>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
}): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(result.headers ?? {})) headers.set(name, String(value));
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
    headers.delete(name);
    for (const value of values) headers.append(name, String(value));
  }
  const body = result.body
    ? result.isBase64Encoded
      ? Buffer.from(result.body, 'base64')
      : Buffer.from(result.body, 'utf8')
    : null;
  return new Response(NULL_BODY_STATUSES.has(result.statusCode) ? null : body, { status: result.statusCode, headers });
}

export interface ProxyEventExtras {
  /** The authorizer context to attach (as API Gateway would, values as strings). */
  readonly authorizer?: Readonly<Record<string, string | number | boolean>>;
  readonly requestId?: string;
  readonly stage?: string;
}

/**
 * Builds the proxy event API Gateway would deliver for a web `Request` sent to the public base:
 * the inverse of {@link requestFromProxyEvent}. Used by the local runner and by in-process clients.
 */
export async function proxyEventFromRequest(
  request: Request,
  base: PublicBase,
  extras: ProxyEventExtras = {},
): Promise<ProxyEvent> {
  const url = new URL(request.url);
  const path = withoutBasePath(url.pathname.split('/').map(decodeLeniently).join('/'), base.basePath);
  // Built as own properties (Object.fromEntries), so a header or query key named __proto__ or
  // constructor is a key like any other, not a lookup on Object.prototype.
  const headerPairs: [string, string][] = [];
  request.headers.forEach((value, name) => {
    headerPairs.push([name, value]);
  });
  const headers: Record<string, string> = Object.fromEntries(headerPairs);
  const multiValueHeaders: Record<string, string[]> = Object.fromEntries(
    headerPairs.map(([name, value]) => [name, [value]]),
  );
  const queryValues = new Map<string, string[]>();
  for (const [name, value] of url.searchParams) {
    const values = queryValues.get(name);
    if (values) values.push(value);
    else queryValues.set(name, [value]);
  }
  const query: Record<string, string> = Object.fromEntries(
    [...queryValues].map(([name, values]) => [name, values[values.length - 1]]),
  );
  const multiQuery: Record<string, string[]> = Object.fromEntries(queryValues);
  const bytes = request.body === null ? Buffer.alloc(0) : Buffer.from(await request.arrayBuffer());
  const textual =
    isTextual(request.headers.get('content-type')) && Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes);
  const authorizer = extras.authorizer
    ? Object.fromEntries(Object.entries(extras.authorizer).map(([k, v]) => [k, String(v)]))
    : null;
  return {
    httpMethod: request.method,
    path,
    resource: path,
    headers: Object.keys(headers).length > 0 ? headers : null,
    multiValueHeaders: Object.keys(multiValueHeaders).length > 0 ? multiValueHeaders : null,
    queryStringParameters: Object.keys(query).length > 0 ? query : null,
    multiValueQueryStringParameters: Object.keys(multiQuery).length > 0 ? multiQuery : null,
    body: bytes.byteLength === 0 ? null : textual ? bytes.toString('utf8') : bytes.toString('base64'),
    isBase64Encoded: bytes.byteLength > 0 && !textual,
    requestContext: {
      requestId: extras.requestId ?? crypto.randomUUID(),
      stage: extras.stage ?? (base.basePath.replace(/^\//, '') || '$default'),
      authorizer,
    },
  };
}
