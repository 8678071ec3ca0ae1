/**
 * The Lambda proxy integration (payload format 1.0) as a REST API has it: the event API Gateway
 * builds from a request, and the checks and mapping it applies to the function's result.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { decodeLeniently } from '../../lambda/shared/urls';
import { LocalError } from '../errors';

export interface IncomingRequest {
  readonly method: string;
  /** The path the resource matched, without a stage prefix (`/mcp`). */
  readonly path: string;
  /** The path as the client sent it, stage prefix included when there was one. */
  readonly fullPath: string;
  /** Header name/value pairs in the order received, names as sent. */
  readonly rawHeaders: ReadonlyArray<readonly [string, string]>;
  readonly rawQuery: string;
  readonly body: Buffer;
  readonly sourceIp: string;
  readonly localPort: number;
}

export interface EventContext {
  readonly resourcePath: string;
  readonly resourceId: string;
  readonly pathParameters: Readonly<Record<string, string>>;
  readonly stageVariables: Readonly<Record<string, string>>;
  readonly stage: string;
  readonly apiId: string;
  readonly accountId: string;
  readonly deploymentId: string;
  readonly requestId: string;
  readonly extendedRequestId: string;
  readonly traceId: string;
  readonly requestTimeEpoch: number;
  readonly binaryMediaTypes: readonly string[];
  /** Authorizer output for `requestContext.authorizer`: already flattened to strings. */
  readonly authorizer?: Readonly<Record<string, string>>;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `09/Apr/2015:12:34:56 +0000`, the format of `requestContext.requestTime`. */
export function formatRequestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** Query string → multi-value map, keys and values URL-decoded, in order. */
export function parseQuery(rawQuery: string): Map<string, string[]> {
  const params = new Map<string, string[]>();
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decodeLeniently(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decodeLeniently(pair.slice(eq + 1));
    params.set(key, [...(params.get(key) ?? []), value]);
  }
  return params;
}

/** Whether a content type is one of the API's binary media types (`*` wildcards allowed). */
export function isBinaryMediaType(contentType: string | undefined, binaryMediaTypes: readonly string[]): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0].trim().toLowerCase();
  return binaryMediaTypes.some((pattern) => {
    const [patternType, patternSub] = pattern.toLowerCase().split('/');
    const [typeMain, typeSub] = type.split('/');
    return (patternType === '*' || patternType === typeMain) && (patternSub === '*' || patternSub === typeSub);
  });
}

/** The last value of a header (`name` in lower case), as API Gateway's single-value view has it. */
export function headerValue(rawHeaders: ReadonlyArray<readonly [string, string]>, name: string): string | undefined {
  let value: string | undefined;
  for (const [key, v] of rawHeaders) if (key.toLowerCase() === name) value = v;
  return value;
}

/** The event's headers: the client's, less those API Gateway drops, plus those it adds. */
function proxyEventHeaders(
  request: IncomingRequest,
  traceId: string,
): { headers: Record<string, string>; multiValueHeaders: Record<string, string[]> } {
  const forwardedFor = headerValue(request.rawHeaders, 'x-forwarded-for');
  // API Gateway adds these on the way in, replacing what a client sent (X-Forwarded-For is appended
  // to): X-Forwarded-Proto and -Port name the scheme and port the client reached the API on, which
  // locally is this plain-HTTP listener (on AWS always https and 443).
  const added: Array<[string, string]> = [
    ['X-Amzn-Trace-Id', traceId],
    ['X-Forwarded-For', forwardedFor ? `${forwardedFor}, ${request.sourceIp}` : request.sourceIp],
    ['X-Forwarded-Port', String(request.localPort)],
    ['X-Forwarded-Proto', 'http'],
  ];
  const addedNames = new Set(added.map(([name]) => name.toLowerCase()));
  const all = [
    ...request.rawHeaders.filter(
      ([name]) => !addedNames.has(name.toLowerCase()) && !DROPPED_REQUEST_HEADERS.has(name.toLowerCase()),
    ),
    ...added,
  ];
  // Grouped in a Map and turned into own properties, so a header named __proto__ or constructor is
  // a header like any other, not a lookup on Object.prototype.
  const grouped = new Map<string, string[]>();
  for (const [name, value] of all) {
    const values = grouped.get(name);
    if (values) values.push(value);
    else grouped.set(name, [value]);
  }
  const headers: Record<string, string> = Object.fromEntries(
    [...grouped].map(([name, values]) => [name, values[values.length - 1]]),
  );
  const multiValueHeaders: Record<string, string[]> = Object.fromEntries(grouped);
  return { headers, multiValueHeaders };
}

/** Builds the payload-1.0 event for a request. */
export function buildProxyEvent(request: IncomingRequest, context: EventContext): APIGatewayProxyEvent {
  const { headers, multiValueHeaders } = proxyEventHeaders(request, context.traceId);
  const query = parseQuery(request.rawQuery);
  const queryStringParameters = query.size
    ? Object.fromEntries([...query].map(([k, v]) => [k, v[v.length - 1]]))
    : null;
  const multiValueQueryStringParameters = query.size ? Object.fromEntries(query) : null;
  const host = headerValue(request.rawHeaders, 'host') ?? 'localhost';
  const contentType = headerValue(request.rawHeaders, 'content-type');
  const binary = isBinaryMediaType(contentType, context.binaryMediaTypes);
  const body =
    request.body.length === 0 ? null : binary ? request.body.toString('base64') : request.body.toString('utf8');
  return {
    resource: context.resourcePath,
    path: request.path,
    httpMethod: request.method,
    headers,
    multiValueHeaders,
    queryStringParameters,
    multiValueQueryStringParameters,
    pathParameters: Object.keys(context.pathParameters).length ? { ...context.pathParameters } : null,
    stageVariables: Object.keys(context.stageVariables).length ? { ...context.stageVariables } : null,
    requestContext: {
      resourceId: context.resourceId,
      resourcePath: context.resourcePath,
      httpMethod: request.method,
      extendedRequestId: context.extendedRequestId,
      requestTime: formatRequestTime(context.requestTimeEpoch),
      path: request.fullPath,
      accountId: context.accountId,
      protocol: 'HTTP/1.1',
      stage: context.stage,
      domainPrefix: host.split(/[.:]/)[0],
      requestTimeEpoch: context.requestTimeEpoch,
      requestId: context.requestId,
      identity: {
        cognitoIdentityPoolId: null,
        accountId: null,
        cognitoIdentityId: null,
        caller: null,
        sourceIp: request.sourceIp,
        principalOrgId: null,
        accessKey: null,
        cognitoAuthenticationType: null,
        cognitoAuthenticationProvider: null,
        userArn: null,
        userAgent: headerValue(request.rawHeaders, 'user-agent') ?? null,
        user: null,
        apiKey: null,
        apiKeyId: null,
        clientCert: null,
      },
      domainName: host,
      deploymentId: context.deploymentId,
      apiId: context.apiId,
      authorizer: context.authorizer ? { ...context.authorizer } : undefined,
    },
    body,
    isBase64Encoded: binary && body !== null,
  } as APIGatewayProxyEvent;
}

/**
 * A function's answer as the JSON object API Gateway requires; anything else is refused with
 * `malformed(reason)`, the caller's own error.
 */
export function jsonObjectOf(payload: string, malformed: (reason: string) => Error): Record<string, unknown> {
  let result: unknown;
  try {
    result = JSON.parse(payload);
  } catch {
    throw malformed('the result is not JSON');
  }
  if (result === null || typeof result !== 'object' || Array.isArray(result))
    throw malformed('the result is not an object');
  return result as Record<string, unknown>;
}

export class MalformedProxyResponseError extends LocalError {
  readonly code = 'MALFORMED_PROXY_RESPONSE';
  constructor(reason: string) {
    super(`Malformed Lambda proxy response: ${reason}`);
  }
}

export interface MappedResponse {
  readonly status: number;
  /** Header name → values, after remapping the headers API Gateway does not let an integration set. */
  readonly headers: Map<string, string[]>;
  readonly body: Buffer;
}

const ALLOWED_KEYS = new Set(['statusCode', 'headers', 'multiValueHeaders', 'body', 'isBase64Encoded']);

/*
 * What a REST API does with headers between the client and a Lambda proxy integration, from the
 * "Important notes for REST APIs" header table (the lambda column):
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-known-issues.html#api-gateway-known-issues-rest-apis
 */

/** Response headers a REST API renames to `x-amzn-Remapped-<name>` when a Lambda integration returns them. */
export const REMAPPED_RESPONSE_HEADERS = new Set([
  'authorization',
  'connection',
  'content-md5',
  'date',
  'max-forwards',
  'server',
  'user-agent',
  'www-authenticate',
]);

/** Response headers a REST API drops from a Lambda integration's response (Content-Length it computes itself). */
export const DROPPED_RESPONSE_HEADERS = new Set([
  'content-length',
  'expect',
  'host',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'via',
]);

/** Request headers a REST API leaves out of what it passes to a Lambda integration (the hop-by-hop ones among them). */
export const DROPPED_REQUEST_HEADERS = new Set([
  'connection',
  'content-md5',
  'expect',
  'max-forwards',
  'proxy-authenticate',
  'server',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function headerText(value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new MalformedProxyResponseError(`${where} must be a string`);
}

/**
 * Merges a result's `headers` and `multiValueHeaders` (a value in both appears once, from
 * multiValueHeaders), renames the headers API Gateway does not let an integration set to
 * `x-amzn-Remapped-<name>` and drops the ones it computes itself. Throws on a value that is not text.
 */
export function mergeResponseHeaders(
  single: unknown,
  multi: unknown,
  valueRule: 'text' | 'string' = 'text',
): Map<string, string[]> {
  const text = (value: unknown, where: string) => {
    if (valueRule === 'string' && typeof value !== 'string')
      throw new MalformedProxyResponseError(`${where} must be a string`);
    return headerText(value, where);
  };
  const merged = new Map<string, { name: string; values: string[] }>();
  if (single !== undefined && single !== null) {
    if (typeof single !== 'object' || Array.isArray(single))
      throw new MalformedProxyResponseError('headers must be an object');
    for (const [name, value] of Object.entries(single))
      merged.set(name.toLowerCase(), { name, values: [text(value, `headers.${name}`)] });
  }
  if (multi !== undefined && multi !== null) {
    if (typeof multi !== 'object' || Array.isArray(multi))
      throw new MalformedProxyResponseError('multiValueHeaders must be an object');
    for (const [name, values] of Object.entries(multi)) {
      if (!Array.isArray(values)) throw new MalformedProxyResponseError(`multiValueHeaders.${name} must be a list`);
      const texts = values.map((value, i) => text(value, `multiValueHeaders.${name}[${i}]`));
      const existing = merged.get(name.toLowerCase());
      const fromHeaders = existing ? existing.values.filter((value) => !texts.includes(value)) : [];
      merged.set(name.toLowerCase(), { name: existing?.name ?? name, values: [...fromHeaders, ...texts] });
    }
  }
  const headers = new Map<string, string[]>();
  for (const [lower, { name, values }] of merged) {
    if (DROPPED_RESPONSE_HEADERS.has(lower)) continue;
    headers.set(REMAPPED_RESPONSE_HEADERS.has(lower) ? `x-amzn-Remapped-${name}` : name, values);
  }
  return headers;
}

/**
 * Checks a function's result as API Gateway does (anything else is a 502) and maps it to an
 * HTTP response. `acceptsBinary` says whether the request's Accept header names a binary
 * media type, which is when API Gateway decodes a base64 body.
 */
export function mapProxyResult(
  payload: string,
  binaryMediaTypes: readonly string[],
  accept: string | undefined,
): MappedResponse {
  const r = jsonObjectOf(payload, (reason) => new MalformedProxyResponseError(reason));
  const extra = Object.keys(r).filter((key) => !ALLOWED_KEYS.has(key));
  if (extra.length) throw new MalformedProxyResponseError(`unexpected field(s) ${extra.join(', ')}`);
  const status = typeof r.statusCode === 'string' && /^\d+$/.test(r.statusCode) ? Number(r.statusCode) : r.statusCode;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) {
    throw new MalformedProxyResponseError('statusCode must be an integer HTTP status');
  }
  if (r.body !== undefined && r.body !== null && typeof r.body !== 'string')
    throw new MalformedProxyResponseError('body must be a string');
  if (r.isBase64Encoded !== undefined && typeof r.isBase64Encoded !== 'boolean')
    throw new MalformedProxyResponseError('isBase64Encoded must be a boolean');
  const headers = mergeResponseHeaders(r.headers, r.multiValueHeaders);
  if (![...headers.keys()].some((name) => name.toLowerCase() === 'content-type'))
    headers.set('Content-Type', ['application/json']);
  const text = typeof r.body === 'string' ? r.body : '';
  const firstAccepted = accept?.split(',')[0];
  const contentType = [...headers].find(([name]) => name.toLowerCase() === 'content-type')?.[1][0];
  const decode =
    r.isBase64Encoded === true &&
    (isBinaryMediaType(firstAccepted, binaryMediaTypes) || isBinaryMediaType(contentType, binaryMediaTypes));
  return { status, headers, body: decode ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8') };
}
