import { createServer, type AddressInfo } from 'node:net';
import { MCP_EXPOSED_HEADERS, MCP_REQUEST_HEADERS } from '../../../lambda/shared/cors';
import { fetchFailureDetail, isFetchTimeout } from '../../../lambda/shared/fetch-errors';
import { isLoopbackHost } from '../../../lambda/shared/loopback';
import { isScopeToken, resourceScopes } from '../../../lambda/shared/scopes';
import { isTokenAlgorithm } from '../../../lambda/shared/token-policy';

describe('isLoopbackHost', () => {
  it.each([
    ['localhost', true],
    ['LOCALHOST', true],
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['[::1]', true],
    ['localhost.example.com', false],
    ['128.0.0.1', false],
    ['10.0.0.1', false],
    ['[::2]', false],
    ['', false],
  ])('%j → %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });

  it('agrees with URL parsing of every loopback spelling it accepts', () => {
    for (const url of ['http://localhost:1', 'http://127.0.0.1:1', 'http://[::1]:1'])
      expect(isLoopbackHost(new URL(url).hostname)).toBe(true);
  });
});

describe('scopes', () => {
  it.each(['mcp:read', 'openid', "a!#$%&'()*+,-./:;<=>?@[]^_`{|}~"])('accepts the scope token %j', (scope) => {
    expect(isScopeToken(scope)).toBe(true);
  });

  it.each(['', 'two words', 'say"hi"', 'back\\slash', 'tab\there', 'é'])('refuses %j', (scope) => {
    expect(isScopeToken(scope)).toBe(false);
  });

  it('leaves offline_access and duplicates out of resource scopes, keeping the order', () => {
    expect(resourceScopes(['mcp:write', 'offline_access', 'mcp:read', 'mcp:write'])).toEqual(['mcp:write', 'mcp:read']);
  });
});

describe('token algorithms', () => {
  it.each(['RS256', 'PS512', 'ES256', 'EdDSA'])('accepts the asymmetric %s', (alg) => {
    expect(isTokenAlgorithm(alg)).toBe(true);
  });

  it.each(['HS256', 'none', 'rs256', ''])('refuses %j', (alg) => {
    expect(isTokenAlgorithm(alg)).toBe(false);
  });
});

describe('CORS header lists', () => {
  it('let a browser send the MCP and auth headers and read the challenge', () => {
    expect(MCP_REQUEST_HEADERS).toEqual(
      expect.arrayContaining([
        'Authorization',
        'Content-Type',
        'Mcp-Protocol-Version',
        'Mcp-Session-Id',
        'Last-Event-ID',
        'Mcp-Method',
        'Mcp-Name',
      ]),
    );
    expect(MCP_EXPOSED_HEADERS).toEqual(['WWW-Authenticate', 'Mcp-Session-Id', 'Mcp-Protocol-Version']);
  });
});

describe('fetch errors', () => {
  it('tells a timeout from other failures', () => {
    expect(isFetchTimeout(new DOMException('timed out', 'TimeoutError'))).toBe(true);
    expect(isFetchTimeout(new DOMException('aborted', 'AbortError'))).toBe(true);
    expect(isFetchTimeout(new TypeError('fetch failed'))).toBe(false);
    expect(isFetchTimeout('a string')).toBe(false);
  });

  it.each([
    [
      'the code of the cause',
      Object.assign(new TypeError('fetch failed'), {
        cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      }),
      'ECONNREFUSED',
    ],
    [
      'the message of a cause without code',
      Object.assign(new TypeError('fetch failed'), { cause: new Error('certificate has expired') }),
      'certificate has expired',
    ],
    ['the message when there is no cause', new TypeError('fetch failed'), 'fetch failed'],
    ['anything else as text', 42, '42'],
  ])('describes a failure by %s', (_case, error, detail) => {
    expect(fetchFailureDetail(error)).toBe(detail);
  });

  it('reports the real reason of a refused loopback connection', async () => {
    // Prepare: a loopback port that was just free and is closed again.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));

    // Act
    const error = await fetch(`http://127.0.0.1:${port}/`).then(
      () => undefined,
      (e: unknown) => e,
    );

    // Assess
    expect(fetchFailureDetail(error)).toBe('ECONNREFUSED');
  });
});
