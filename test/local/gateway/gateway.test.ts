import { type RunningGateway, startGateway } from '../../../local/gateway';
import { renderGatewayResponse } from '../../../local/gateway/gateway-responses';
import { type FixtureAssembly, synthFixture } from './fixture-app';
import { defined } from '../../../fixtures/defined';

jest.setTimeout(120_000);

let fixture: FixtureAssembly;
let gateway: RunningGateway;
const logLines: string[] = [];
const functionOutput: string[] = [];

beforeAll(async () => {
  fixture = synthFixture();
  gateway = await startGateway({
    cdkOut: fixture.cdkOut,
    stackName: fixture.stackName,
    port: 0,
    log: (line) => logLines.push(line),
    onFunctionOutput: (id, line) => functionOutput.push(`${id}: ${line}`),
  });
});

afterAll(async () => {
  await gateway?.stop();
  fixture?.cleanup();
});

function invocations(logicalIdPrefix: string): number {
  const entry = Object.entries(gateway.stats().functions).find(([id]) => id.startsWith(logicalIdPrefix));
  if (!entry) throw new Error(`no function ${logicalIdPrefix}`);
  return entry[1].invocations;
}

async function call(
  path: string,
  init: RequestInit = {},
  // biome-ignore lint/suspicious/noExplicitAny: each test reads the fields its own fixture function answers with
): Promise<{ status: number; headers: Headers; text: string; json: () => any }> {
  const response = await fetch(`${gateway.url}${path}`, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** Writes a request by hand (header names, order and repeats exactly as given; HOST is replaced) and returns the raw answer. */
function rawRequest(text: string): Promise<string> {
  const url = new URL(gateway.url);
  return new Promise<string>((resolve, reject) => {
    const socket = require('node:net').connect(Number(url.port), url.hostname, () =>
      socket.write(text.replace('HOST', url.host)),
    );
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

describe('serving the synthesized template', () => {
  it('lists the methods of the template and the resources it ignores', () => {
    expect(gateway.stageName).toBe('test');
    expect(gateway.routes).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ANY \/mcp \(TOKEN authorizer TokenAuth/),
        'OPTIONS /mcp (MOCK)',
        'GET /items/{id} (TOKEN authorizer ' +
          defined(
            gateway.routes.find((r) => r.startsWith('GET /items')),
            'the GET /items route',
          ).split('authorizer ')[1],
        'ANY /public/{proxy+}',
        'GET /other',
      ]),
    );
    expect(gateway.ignored.map((i) => i.type)).toEqual(
      expect.arrayContaining(['AWS::Lambda::Permission', 'AWS::IAM::Role', 'AWS::ApiGateway::Deployment']),
    );
  });
});

// TOKEN authorizer outcomes: a missing or non-matching header is 401 without invoking the function;
// an `Unauthorized` error is 401; a policy that does not allow the method is 403; anything else the
// authorizer does wrong is 500 AUTHORIZER_CONFIGURATION_ERROR.
// https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html
// https://stackoverflow.com/questions/53101144 ("badly formatted output or ... any other exception ... 500 AuthorizerConfigurationException")
describe('TOKEN authorizer', () => {
  it('answers 401 with the UNAUTHORIZED gateway response when the header is missing, without invoking the authorizer', async () => {
    const before = invocations('AuthorizerFn');
    const response = await call('/mcp', { method: 'POST', body: '{}' });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer resource_metadata="http://localhost/.well-known/oauth-protected-resource/mcp"',
    );
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('x-amzn-errortype')).toBe('UnauthorizedException');
    expect(response.json()).toEqual({
      message: 'Unauthorized',
      type: 'UNAUTHORIZED',
      requestId: response.headers.get('x-amzn-requestid'),
    });
    expect(invocations('AuthorizerFn')).toBe(before);
  });

  it.each([
    ['a scheme other than Bearer', 'Basic dXNlcjpwYXNz'],
    ['a token with characters the expression excludes', 'Bearer not a jwt'],
    ['an empty value', ''],
  ])('answers 401 without invoking the authorizer for %s', async (_name, header) => {
    const before = invocations('AuthorizerFn');
    const response = await call('/mcp', { headers: { Authorization: header } });
    expect(response.status).toBe(401);
    expect(invocations('AuthorizerFn')).toBe(before);
  });

  it('passes an allowed request to the integration with the authorizer context as strings', async () => {
    const response = await call('/mcp', {
      method: 'POST',
      headers: { ...bearer('allow-context'), 'Content-Type': 'application/json' },
      body: '{"jsonrpc":"2.0"}',
    });
    expect(response.status).toBe(200);
    const { event } = response.json();
    expect(event.requestContext.authorizer).toEqual({
      principalId: 'user-allow-context',
      sub: 'user-allow-context',
      scope: 'read write',
      exp: '1700000000',
      admin: 'true',
      authorizerInvocations: expect.stringMatching(/^\d+$/),
      integrationLatency: expect.stringMatching(/^\d+$/),
      eventType: 'TOKEN',
      methodArn: `arn:aws:execute-api:us-east-1:000000000000:${gateway.apiId}/test/POST/mcp`,
      scheme: 'Bearer',
    });
  });

  it('allows a policy scoped to exactly the request method ARN, on every request', async () => {
    const first = await call('/items/42', { headers: bearer('only-this-method-a') });
    expect(first.status).toBe(200);
    const again = await call('/items/42', { headers: bearer('only-this-method-a') });
    expect(again.status).toBe(200);
  });

  it('caches the result per token: a second request within the TTL does not invoke the authorizer', async () => {
    const before = invocations('AuthorizerFn');
    expect((await call('/mcp', { headers: bearer('allow-cached') })).status).toBe(200);
    const afterFirst = invocations('AuthorizerFn');
    expect(afterFirst).toBe(before + 1);
    const hitsBefore = gateway.stats().authorizerCache.hits;
    expect((await call('/mcp', { headers: bearer('allow-cached') })).status).toBe(200);
    expect((await call('/items/7', { headers: bearer('allow-cached') })).status).toBe(200);
    expect(invocations('AuthorizerFn')).toBe(afterFirst);
    expect(gateway.stats().authorizerCache.hits).toBe(hitsBefore + 2);
    expect(logLines.some((line) => /^GET \/items\/7 200 .* authorizer=hit/.test(line))).toBe(true);
  });

  it('re-evaluates a cached policy against the method ARN of each new route', async () => {
    expect((await call('/items/1', { headers: bearer('only-this-method-b') })).status).toBe(200);
    const before = invocations('AuthorizerFn');
    const otherRoute = await call('/mcp', { headers: bearer('only-this-method-b') });
    expect(invocations('AuthorizerFn')).toBe(before);
    expect(otherRoute.status).toBe(403);
    // ACCESS_DENIED is not customised, so DEFAULT_4XX shapes it, keeping ACCESS_DENIED's status.
    expect(otherRoute.headers.get('x-fallback')).toBe('default-4xx');
    expect(otherRoute.json()).toEqual({ message: 'User is not authorized to access this resource', fallback: true });
  });

  it('answers 403 for an explicit Deny, and a Deny wins over an Allow (with ? wildcards)', async () => {
    const denied = await call('/mcp', { headers: bearer('deny') });
    expect(denied.status).toBe(403);
    expect(denied.json().message).toBe('User is not authorized to access this resource with an explicit deny');
    expect((await call('/items/5', { headers: bearer('mixed-deny-items') })).status).toBe(403);
    expect((await call('/items/55', { headers: bearer('mixed-deny-items') })).status).toBe(200);
  });

  it('answers 401 when the authorizer throws Unauthorized', async () => {
    const response = await call('/mcp', { headers: bearer('unauthorized') });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer resource_metadata=/);
  });

  it.each([
    ['throws another error', 'broken'],
    ['returns no policy', 'no-policy'],
    ['returns a nested context value', 'nested-context'],
  ])(
    'answers with the AUTHORIZER_CONFIGURATION_ERROR response (503 here) when the authorizer %s',
    async (_name, token) => {
      const response = await call('/mcp', { headers: bearer(token) });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('30');
      expect(response.json()).toEqual({ error: 'temporarily_unavailable' });
    },
  );

  // A function that runs past its Timeout is a failed invocation, as a thrown error is; both are
  // AUTHORIZER_CONFIGURATION_ERROR (sources beside AUTHORIZER_BROKEN in local/gateway/token-authorizer.ts).
  it('answers with the AUTHORIZER_CONFIGURATION_ERROR response when the authorizer runs past its Timeout, and replaces its process', async () => {
    const response = await call('/mcp', { headers: bearer('slow') });
    expect(response.status).toBe(503);
    expect(response.json()).toEqual({ error: 'temporarily_unavailable' });
    expect(response.headers.get('x-amzn-errortype')).toBe('AuthorizerConfigurationException');
    expect(logLines).toContainEqual(
      expect.stringMatching(/^GET \/mcp 503 .*the authorizer failed \(timeout\): Sandbox\.Timedout/),
    );
    expect((await call('/mcp', { headers: bearer('allow-after-timeout') })).status).toBe(200);
  });

  it('answers 500 with a null message when AUTHORIZER_CONFIGURATION_ERROR is not customised', async () => {
    const rendered = renderGatewayResponse({ type: 'AUTHORIZER_CONFIGURATION_ERROR', message: null }, new Map(), {
      context: {},
      stageVariables: {},
      params: { header: {}, querystring: {}, path: {} },
    });
    expect(rendered.status).toBe(500);
    expect(rendered.body).toBe('{"message":null}');
  });

  it('never writes a token to the log, and gives every rejection a reason', () => {
    const joined = logLines.join('\n');
    for (const token of ['allow-context', 'allow-cached', 'only-this-method', 'deny', 'unauthorized', 'broken'])
      expect(joined).not.toContain(token);
    expect(joined).toMatch(/GET \/mcp 401 .*reason="the authorizer rejected the token \(Unauthorized\)"/);
    expect(joined).toMatch(/reason="the Authorization header does not match the authorizer's validation expression"/);
    expect(joined).toMatch(/reason="the authorizer policy denies this method explicitly"/);
  });
});

describe('Lambda proxy integration', () => {
  it('builds a payload-1.0 event', async () => {
    const response = await call('/public/a%20b/c?x=1&x=2&y=3', {
      method: 'PUT',
      headers: { 'Content-Type': 'text/plain', 'X-Multi': 'first', 'User-Agent': 'gateway-test' },
      body: 'hello',
    });
    expect(response.status).toBe(200);
    const { event, region, functionName, memory, contextRequestId, remainingMs } = response.json();
    expect(event).toMatchObject({
      resource: '/public/{proxy+}',
      path: '/public/a%20b/c',
      httpMethod: 'PUT',
      queryStringParameters: { x: '2', y: '3' },
      multiValueQueryStringParameters: { x: ['1', '2'], y: ['3'] },
      pathParameters: { proxy: 'a b/c' },
      stageVariables: { color: 'blue' },
      body: 'hello',
      isBase64Encoded: false,
      requestContext: {
        resourcePath: '/public/{proxy+}',
        httpMethod: 'PUT',
        path: '/public/a%20b/c',
        stage: 'test',
        apiId: gateway.apiId,
        accountId: '000000000000',
        protocol: 'HTTP/1.1',
        domainName: new URL(gateway.url).host,
        identity: { sourceIp: '127.0.0.1', userAgent: 'gateway-test' },
      },
    });
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.requestContext.requestTime).toMatch(/^\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(event.requestContext.authorizer).toBeUndefined();
    expect(event.headers['Content-Type']).toBe('text/plain');
    expect(event.headers['X-Forwarded-For']).toBe('127.0.0.1');
    expect(event.multiValueHeaders['X-Multi']).toEqual(['first']);
    expect(region).toBe('us-east-1');
    expect(functionName).toMatch(/EchoFn/);
    expect(memory).toBe('256');
    expect(contextRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(remainingMs).toBeGreaterThan(9000);
    expect(remainingMs).toBeLessThanOrEqual(10_000);
  });

  it('passes null for absent query, path parameters and body', async () => {
    const { event } = (await call('/mcp', { headers: bearer('allow-nulls') })).json();
    expect(event.queryStringParameters).toBeNull();
    expect(event.multiValueQueryStringParameters).toBeNull();
    expect(event.pathParameters).toBeNull();
    expect(event.body).toBeNull();
  });

  it('base64-encodes a request body whose content type is a binary media type', async () => {
    const bytes = Buffer.from([0, 159, 146, 150, 255]);
    const { event } = (
      await call('/public/upload', {
        method: 'POST',
        headers: { 'Content-Type': 'application/octet-stream' },
        body: bytes,
      })
    ).json();
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body, 'base64')).toEqual(bytes);
  });

  it('decodes a base64 response body when the client accepts a binary media type, and passes it through otherwise', async () => {
    const binary = await fetch(`${gateway.url}/public/file?mode=binary`, {
      headers: { Accept: 'application/octet-stream' },
    });
    expect(Buffer.from(await binary.arrayBuffer())).toEqual(Buffer.from([0, 1, 2, 253, 254, 255]));
    const text = await call('/public/file?mode=binary', { headers: { Accept: 'text/plain' } });
    // With Content-Type application/octet-stream in binaryMediaTypes, API Gateway still decodes.
    expect(Buffer.from(text.text, 'latin1').length).toBeGreaterThan(0);
  });

  it('sends repeated request headers as multiValueHeaders and the last one in headers', async () => {
    // fetch folds repeated headers, so the request is written by hand.
    const raw = await rawRequest(
      'GET /public/multi HTTP/1.1\r\nHost: HOST\r\nX-Repeat: one\r\nX-Repeat: two\r\nConnection: close\r\n\r\n',
    );
    const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
    expect(body.event.multiValueHeaders['X-Repeat']).toEqual(['one', 'two']);
    expect(body.event.headers['X-Repeat']).toBe('two');
  });

  it('merges headers and multiValueHeaders of the result and remaps WWW-Authenticate as API Gateway does', async () => {
    const response = await fetch(`${gateway.url}/public/x?mode=headers`);
    expect(response.status).toBe(201);
    expect(response.headers.get('x-single')).toBe('one');
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(response.headers.get('x-both')).toBe('a, b');
    expect(response.headers.get('www-authenticate')).toBeNull();
    expect(response.headers.get('x-amzn-remapped-www-authenticate')).toBe('Bearer realm="x"');
  });

  // https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-known-issues.html#api-gateway-known-issues-rest-apis (header table, lambda column)
  it('remaps and drops the response headers of a Lambda proxy result as the REST API header table lists', async () => {
    const response = await fetch(`${gateway.url}/public/x?mode=hop-headers`);
    expect(response.status).toBe(200);
    for (const [name, value] of [
      ['server', 'fn-server'],
      ['date', 'fn-date'],
      ['content-md5', 'fn-md5'],
      ['user-agent', 'fn-agent'],
    ]) {
      expect(response.headers.get(`x-amzn-remapped-${name}`)).toBe(value);
    }
    expect(response.headers.get('server')).toBeNull();
    for (const dropped of [
      'via',
      'upgrade',
      'te',
      'proxy-authenticate',
      'trailer',
      'x-amzn-remapped-via',
      'x-amzn-remapped-upgrade',
    ]) {
      expect(response.headers.get(dropped)).toBeNull();
    }
    expect(response.headers.get('warn')).toBe('199 fn "kept"');
    expect(response.headers.get('age')).toBe('5');
  });

  it('leaves hop-by-hop and other dropped request headers out of the event, and replaces a client-sent X-Forwarded-Proto', async () => {
    const raw = await rawRequest(
      'GET /public/hop HTTP/1.1\r\nHost: HOST\r\nConnection: keep-alive\r\nTE: trailers\r\nMax-Forwards: 3\r\nContent-MD5: abc\r\n' +
        'Proxy-Authenticate: Basic\r\nServer: client\r\nX-Forwarded-Proto: https\r\nX-Kept: yes\r\nConnection: close\r\n\r\n',
    );
    const { event } = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
    const names = Object.keys(event.headers).map((name) => name.toLowerCase());
    for (const dropped of ['connection', 'te', 'max-forwards', 'content-md5', 'proxy-authenticate', 'server'])
      expect(names).not.toContain(dropped);
    expect(event.headers['X-Kept']).toBe('yes');
    expect(event.headers['X-Forwarded-Proto']).toBe('http');
    expect(event.multiValueHeaders['X-Forwarded-Proto']).toEqual(['http']);
  });

  it.each([
    ['throws', 'throw'],
    ['returns an unexpected field', 'malformed'],
    ['returns a body that is not a string', 'body-object'],
  ])('answers 502 through DEFAULT_5XX when the function %s', async (_name, mode) => {
    const response = await call(`/public/x?mode=${mode}`, { headers: { Origin: 'https://app.example' } });
    expect(response.status).toBe(502);
    expect(response.json()).toEqual({ message: 'Internal server error' });
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('x-echo-origin')).toBe('https://app.example');
  });

  // A Bearer header on a request for no method is read as a broken SigV4 signature
  // (IncompleteSignatureException), whose message quotes the header: http://www.kouhan.cn/en/article/00039538
  it('answers an unknown route with a Bearer header with the static MISSING_AUTHENTICATION_TOKEN response, echoing the token nowhere', async () => {
    const token = 'eyJhbGciOiJSUzI1NiJ9.unknown-route-probe.c2lnbmF0dXJl';
    const response = await call('/nowhere/at/all', { headers: bearer(token) });
    expect(response.status).toBe(404);
    expect(response.json()).toEqual({ error: 'not_found', path: '/nowhere/at/all', stage: 'test' });
    expect(response.headers.get('x-amzn-errortype')).toBe('IncompleteSignatureException');
    expect(response.text).not.toContain('unknown-route-probe');
    const headerValues: string[] = [];
    response.headers.forEach((value) => {
      headerValues.push(value);
    });
    expect(headerValues.join(' ')).not.toContain('unknown-route-probe');
    expect(logLines.join('\n')).not.toContain('unknown-route-probe');
    expect(logLines).toContainEqual(
      expect.stringMatching(
        /^GET \/nowhere\/at\/all 404 .*the Authorization header makes it an IncompleteSignatureException/,
      ),
    );
  });

  it('answers an unknown route or method with the MISSING_AUTHENTICATION_TOKEN response (404 here)', async () => {
    const unknown = await call('/nowhere');
    expect(unknown.status).toBe(404);
    expect(unknown.json()).toEqual({ error: 'not_found', path: '/nowhere', stage: 'test' });
    expect((await call('/other', { method: 'POST' })).status).toBe(404);
    expect((await call('/')).status).toBe(404);
  });
});

describe('query strings', () => {
  it('answers the 401 challenge with CORS when the query string has a malformed percent escape', async () => {
    const response = await call('/mcp?x=%E0', { method: 'POST', headers: bearer('unauthorized'), body: '{}' });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer resource_metadata="http://localhost/.well-known/oauth-protected-resource/mcp"',
    );
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.json()).toMatchObject({ message: 'Unauthorized', type: 'UNAUTHORIZED' });
  });

  it('answers an unknown route with the 404 JSON and CORS when the query string has a malformed percent escape, keeping the value as sent', async () => {
    const response = await call('/nope?a=%E0%A4');
    expect(response.status).toBe(404);
    expect(response.json()).toEqual({ error: 'not_found', path: '/nope', stage: 'test' });
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('x-requested-a')).toBe('%E0%A4');
  });

  it.each([
    ['a value containing =', 'a=b=c', 'b=c'],
    ['a repeated parameter (the last value)', 'a=1&a=2', '2'],
    ['an encoded value', 'a=x%20y%3Dz', 'x y=z'],
  ])('maps %s into a gateway response header', async (_name, query, expected) => {
    const response = await call(`/nope?${query}`);
    expect(response.status).toBe(404);
    expect(response.headers.get('x-requested-a')).toBe(expected);
  });
});

describe('MOCK integration (CORS preflight)', () => {
  it('answers the preflight from the template without the authorizer, echoing an allowed second origin', async () => {
    const before = invocations('AuthorizerFn');
    const response = await call('/mcp', {
      method: 'OPTIONS',
      headers: { Origin: 'https://inspector.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://inspector.example');
    expect(response.headers.get('access-control-allow-headers')).toBe(
      'Authorization,Content-Type,Mcp-Protocol-Version',
    );
    expect(response.headers.get('access-control-allow-methods')).toBe('GET,POST,DELETE');
    expect(response.headers.get('vary')).toBe('Origin');
    expect(invocations('AuthorizerFn')).toBe(before);
  });

  // HTTP/2 browsers send header names in lower case (RFC 9113 §8.2.1); aws-cdk-lib's template reads Origin, then origin.
  it('echoes an allowed second origin sent as a lower-case origin header, as an HTTP/2 browser sends it', async () => {
    const raw = await rawRequest(
      'OPTIONS /mcp HTTP/1.1\r\nHost: HOST\r\norigin: https://inspector.example\r\naccess-control-request-method: POST\r\nConnection: close\r\n\r\n',
    );
    expect(raw).toMatch(/^HTTP\/1\.1 204/);
    expect(raw).toMatch(/\r\naccess-control-allow-origin: https:\/\/inspector\.example\r\n/i);
  });

  it('finds method.request.header.Origin only under that exact name, so a lower-case origin is not mapped into a gateway response', async () => {
    const exact = await call('/public/x?mode=throw', { headers: { Origin: 'https://app.example' } });
    expect(exact.headers.get('x-echo-origin')).toBe('https://app.example');
    const raw = await rawRequest(
      'GET /public/x?mode=throw HTTP/1.1\r\nHost: HOST\r\norigin: https://app.example\r\nConnection: close\r\n\r\n',
    );
    expect(raw).toMatch(/^HTTP\/1\.1 502/);
    expect(raw.toLowerCase()).not.toContain('x-echo-origin');
  });

  it('answers the first allowed origin when the request origin is not listed', async () => {
    const response = await call('/mcp', { method: 'OPTIONS', headers: { Origin: 'https://evil.example' } });
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example');
  });
});

describe('function isolation', () => {
  it('runs each function in its own process with its own environment, keeping module state warm', async () => {
    const echo1 = (await call('/public/iso')).json();
    const echo2 = (await call('/public/iso')).json();
    const other1 = (await call('/other')).json();
    const other2 = (await call('/other')).json();
    expect(echo2.pid).toBe(echo1.pid);
    expect(echo2.invocations).toBe(echo1.invocations + 1);
    expect(other2.invocations).toBe(other1.invocations + 1);
    expect(other1.pid).not.toBe(echo1.pid);
    expect(echo1.markerBefore).toBeNull();
    expect(other1.markerBefore).toBeNull();
    expect(echo1.role).toBe('echo');
    expect(echo1.otherRole).toBeNull();
    expect(other1.role).toBeNull();
    expect(other1.otherRole).toBe('other');
  });

  it('reports each process and its resident memory', () => {
    const stats = gateway.stats();
    const echo = defined(
      Object.values(stats.functions).find((f) => f.logicalId.startsWith('EchoFn')),
      'the EchoFn stats',
    );
    expect(echo.processes.length).toBeGreaterThanOrEqual(1);
    for (const proc of echo.processes) {
      expect(proc.pid).toBeGreaterThan(0);
      expect(proc.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
    }
    expect(echo.coldStarts).toBeGreaterThanOrEqual(1);
    expect(stats.requests).toBeGreaterThan(10);
  });

  it('serves concurrent requests from a small pool of processes', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => call('/public/concurrent')));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const echo = defined(
      Object.values(gateway.stats().functions).find((f) => f.logicalId.startsWith('EchoFn')),
      'the EchoFn stats',
    );
    expect(echo.processes.length).toBeLessThanOrEqual(4);
  });
});
