/**
 * The parts of `verify` that need no stack: its command line, the deploy outputs file, the
 * contract with the app's stack and output names, the WWW-Authenticate parser, and the redaction
 * every printed line goes through, the bounds of its HTTP client (against loopback servers), where
 * a URL runs (which words its fixes), the 2026-07-28 requests it builds and the answers it reads.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_BROWSER_ORIGIN, parseVerifyArguments, UsageError } from '../../cli/verify/args';
import { judgeOutsider } from '../../cli/verify/checks/browser';
import { judgeChallenge } from '../../cli/verify/checks/challenge';
import { messagesOf, modernRequest } from '../../cli/verify/checks/modern-protocol';
import { judgeStepUp } from '../../cli/verify/checks/step-up';
import { bearerChallengeParams, whereOf } from '../../cli/verify/context';
import { createHttpClient, HttpFailure, type HttpResponse } from '../../cli/verify/http';
import { TokenDestinationError, tokenFetch } from '../../cli/verify/checks/mcp-session';
import { MCP_URL_OUTPUT, mcpUrlFromOutputs, stackNameOfStage } from '../../cli/verify/outputs';
import { redact, renderJson, renderText } from '../../cli/verify/render';
import type { VerifyReport } from '../../cli/verify/report';
import { stackNameForStage } from '../../app/mcp-server-stack';

const MCP_URL = 'https://abc123.execute-api.us-east-1.amazonaws.com/prod/mcp';

describe("verify's command line", () => {
  it('takes an McpUrl with defaults: the MCP Inspector origin, a 10 s timeout, no token', () => {
    // Act
    const parsed = parseVerifyArguments([MCP_URL]);

    // Assess
    expect(parsed).toEqual({
      kind: 'verify',
      args: {
        mcpUrl: MCP_URL,
        outputsFile: 'cdk-outputs.json',
        login: false,
        openBrowser: true,
        origin: DEFAULT_BROWSER_ORIGIN,
        json: false,
        timeoutMs: 10_000,
      },
    });
  });

  it('takes the token from MCP_ACCESS_TOKEN when --token is not given', () => {
    // Act
    const parsed = parseVerifyArguments([MCP_URL], { MCP_ACCESS_TOKEN: 'a.b.c' });

    // Assess
    expect(parsed).toMatchObject({ args: { token: 'a.b.c' } });
  });

  it.each([
    [[], /Give the McpUrl to verify, or --stage <name>/],
    [[MCP_URL, '--stage', 'dev'], /either <McpUrl> or --stage/],
    [['ftp://example.com/mcp'], /not an http\(s\) URL/],
    [['not a url'], /is not a URL: pass the McpUrl output/],
    [[MCP_URL, '--origin', 'https://app.example.com/path'], /--origin .* is not an origin/],
    [[MCP_URL, '--timeout', '0'], /--timeout takes seconds/],
    [[MCP_URL, '--token', 'x', '--login'], /either --token .* or --login/],
    [
      [MCP_URL, '--client-metadata-url', 'https://app.example.com/client.json'],
      /--client-metadata-url is used by --login only/,
    ],
    [[MCP_URL, '--verbose'], /Unknown option --verbose/],
    [[MCP_URL, '--token'], /--token needs a value/],
  ])('refuses %j with a usage error that says what to write', (argv, message) => {
    // Act + Assess
    expect(() => parseVerifyArguments(argv)).toThrow(UsageError);
    expect(() => parseVerifyArguments(argv)).toThrow(message);
  });
});

describe('the deploy outputs file of --stage', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'verify-outputs-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the stack as the app does and reads its McpUrl output', () => {
    // Prepare
    writeFileSync(
      join(dir, 'cdk-outputs.json'),
      JSON.stringify({ [stackNameForStage('dev')]: { [MCP_URL_OUTPUT]: MCP_URL } }),
    );

    // Act + Assess
    expect(stackNameOfStage('dev')).toBe(stackNameForStage('dev'));
    expect(mcpUrlFromOutputs('cdk-outputs.json', 'dev', dir)).toBe(MCP_URL);
  });

  it('lists the stacks it has when the stage is not among them', () => {
    // Act + Assess
    expect(() => mcpUrlFromOutputs('cdk-outputs.json', 'prod', dir)).toThrow(
      /has no stack McpServer-prod \(it has: McpServer-dev\): deploy the stage with "npx cdk deploy -c stage=prod --outputs-file cdk-outputs.json"/,
    );
  });
});

describe('the Bearer challenge parser', () => {
  it.each([
    [
      'Bearer resource_metadata="https://h/.well-known/oauth-protected-resource/mcp"',
      { resource_metadata: 'https://h/.well-known/oauth-protected-resource/mcp' },
    ],
    [
      'Bearer resource_metadata="https://h/m", scope="mcp:tools openid"',
      { resource_metadata: 'https://h/m', scope: 'mcp:tools openid' },
    ],
    [
      'bearer error="invalid_token", error_description="a \\"quoted\\" word"',
      { error: 'invalid_token', error_description: 'a "quoted" word' },
    ],
    ['Basic realm="x", Bearer scope=read', { scope: 'read' }],
  ])('reads %s', (header, params) => {
    // Act + Assess
    expect(bearerChallengeParams(header)).toEqual(params);
  });

  it('finds no Bearer challenge in another scheme', () => {
    // Act + Assess
    expect(bearerChallengeParams('Basic realm="x"')).toBeUndefined();
  });
});

describe('redaction of the printed report', () => {
  const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyXzAxIn0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbi1oZXJl';
  const report: VerifyReport = {
    mcpUrl: MCP_URL,
    origin: null,
    ok: false,
    durationMs: 1200,
    checks: [
      {
        id: 'mcp.initialize',
        section: 'token',
        title: 'initialize succeeds with the token',
        status: 'fail',
        detail: `server said: Bearer ${token} and ${token.split('.')[2]}`,
        fix: 'check it',
      },
    ],
  };

  it.each([
    ['text', renderText],
    ['JSON', renderJson],
  ])('keeps the token and its signature out of the %s report', (_format, render) => {
    // Act
    const printed = render(report, [token]);

    // Assess
    expect(printed).not.toContain(token);
    expect(printed).not.toContain(token.split('.')[2]);
    expect(printed).toContain('server said: Bearer [redacted] and [redacted]');
  });

  it('leaves text without the secrets unchanged', () => {
    // Act + Assess
    expect(redact('nothing secret here', [token])).toBe('nothing secret here');
  });
});

describe("verify's HTTP client", () => {
  let server: http.Server;
  let base: string;
  const seenHeaderNames: string[][] = [];

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      seenHeaderNames.push(request.rawHeaders.filter((_, index) => index % 2 === 0));
      if (request.url === '/silent') return; // never answers
      if (request.url === '/large') return void response.end('x'.repeat(64 * 1024));
      if (request.url === '/redirect') return void response.writeHead(302, { location: '/elsewhere' }).end();
      response.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('gives up on a server that never answers after its timeout', async () => {
    // Prepare
    const client = createHttpClient({ timeoutMs: 300 });
    const started = Date.now();

    // Act
    const outcome = client({ method: 'GET', url: `${base}/silent` });

    // Assess
    await expect(outcome).rejects.toThrow(HttpFailure);
    await expect(outcome).rejects.toThrow('no complete answer within 300 ms');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses a body larger than its cap', async () => {
    // Act + Assess
    await expect(
      createHttpClient({ timeoutMs: 2000, maxBodyBytes: 1024 })({ method: 'GET', url: `${base}/large` }),
    ).rejects.toThrow("the body is larger than verify's cap of 1024 bytes; verify stopped reading it there");
  });

  it('does not follow a redirect, and sends header names as written', async () => {
    // Act
    const response = await createHttpClient({ timeoutMs: 2000 })({
      method: 'GET',
      url: `${base}/redirect`,
      headers: { origin: 'http://localhost:6274' },
    });

    // Assess
    expect(response.status).toBe(302);
    expect(response.headers.location).toEqual(['/elsewhere']);
    expect(seenHeaderNames.at(-1)).toContain('origin');
    expect(seenHeaderNames.at(-1)).not.toContain('Origin');
  });
});

describe('the fetch that carries the token', () => {
  let server: http.Server;
  let base: string;
  const received: Array<{ path: string; authorized: boolean }> = [];

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      received.push({ path: request.url ?? '', authorized: request.headers.authorization !== undefined });
      if (request.url === '/mcp') return void response.writeHead(307, { location: '/elsewhere' }).end();
      response.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('refuses, before sending anything, a URL other than the MCP URL', async () => {
    // Prepare
    const send = tokenFetch(`${base}/mcp`, 'a.b.c', 2000, []);
    received.length = 0;

    // Act + Assess
    await expect(send(`${base}/.well-known/oauth-protected-resource`, { method: 'GET' })).rejects.toThrow(
      TokenDestinationError,
    );
    await expect(send('https://attacker.example/mcp', { method: 'POST' })).rejects.toThrow(TokenDestinationError);
    expect(received).toEqual([]);
  });

  it('does not follow a redirect away from the MCP URL', async () => {
    // Prepare
    const send = tokenFetch(`${base}/mcp`, 'a.b.c', 2000, []);
    received.length = 0;

    // Act + Assess
    await expect(send(`${base}/mcp`, { method: 'POST', body: '{}' })).rejects.toThrow();
    expect(received).toEqual([{ path: '/mcp', authorized: true }]);
  });
});

describe('where verify is pointed', () => {
  it.each([
    ['http://localhost:8787/mcp', 'local'],
    ['http://127.0.0.1:8787/mcp', 'local'],
    ['http://[::1]:8787/mcp', 'local'],
    ['http://api.localhost:8787/mcp', 'local'],
    [MCP_URL, 'deployed'],
    ['https://mcp.example.com/mcp', 'deployed'],
  ])('user points verify at %s: that is %s', (url, where) => {
    // Act + Assess
    expect(whereOf(url)).toBe(where);
  });

  const answer = (status: number): HttpResponse => ({
    status,
    headers: { 'content-type': ['application/json'] },
    body: '{}',
  });

  it('user mistypes the path of a deployed URL: the 404 fix says the path is wrong and shows the McpUrl form, no 5xx fix', () => {
    // Act
    const { result } = judgeChallenge(
      answer(404),
      'https://abc123.execute-api.us-east-1.amazonaws.com/prod/mpc',
      'deployed',
    );

    // Assess
    expect(result.fix).toMatch(
      /^the path is wrong: nothing is served at \/prod\/mpc\. Pass the MCP URL, which ends in \/mcp, e\.g\. https:\/\/<api-id>\.execute-api/,
    );
    expect(result.fix).not.toMatch(/5xx/);
  });

  it('user runs verify against npm run dev and gets a 502: the fix names npm run dev, not the deployed stack', () => {
    // Act
    const { result } = judgeChallenge(answer(502), 'http://localhost:8787/mcp', 'local');

    // Assess
    expect(result.fix).toContain('`npm run dev`');
    expect(result.fix).not.toMatch(/deployed/);
  });
});

describe('the outsider line says what the preflight answered', () => {
  const response = (allowOrigin?: string, status = 204): HttpResponse => ({
    status,
    headers: allowOrigin ? { 'access-control-allow-origin': [allowOrigin] } : {},
    body: '',
  });

  it('user whose stage lists origins sees no claim that allowedOrigins is *, only the observed grant', () => {
    // Act
    const result = judgeOutsider({
      challenge: response('*', 401),
      preflight: response(),
      withToken: response(undefined, 403),
    });

    // Assess
    expect(result.status).toBe('pass');
    expect(result.detail).toBe('no CORS grant; a request with the token from it got HTTP 403');
  });

  it('user whose preflight answers *: the detail quotes that answer, not the configuration', () => {
    // Act
    const result = judgeOutsider({
      challenge: response('*', 401),
      preflight: response('*'),
      withToken: response(undefined, 403),
    });

    // Assess
    expect(result.detail).toBe(
      'the preflight from https://outsider.verify.invalid answered Access-Control-Allow-Origin: * (any page may send the request); a request with the token from it got HTTP 403',
    );
    expect(result.detail).not.toContain('allowedOrigins is *');
  });
});

describe('the 2026-07-28 requests verify sends and the answers it reads', () => {
  it('user runs verify with a token: a tools/call names the method and tool in headers and the client in _meta, keeping the progress token', () => {
    // Act
    const request = modernRequest('tools/call', { name: 'long_task', arguments: {}, _meta: { progressToken: 'p' } }, 7);

    // Assess
    expect(request.headers).toMatchObject({
      'MCP-Protocol-Version': '2026-07-28',
      'Mcp-Method': 'tools/call',
      'Mcp-Name': 'long_task',
    });
    expect(JSON.parse(request.body)).toEqual({
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: {
        name: 'long_task',
        arguments: {},
        _meta: {
          progressToken: 'p',
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientInfo': { name: 'mcp-authkit-apigateway-verify', version: '1.0.0' },
          'io.modelcontextprotocol/clientCapabilities': {},
        },
      },
    });
  });

  it('reads every JSON-RPC message of a streamed answer, and the one message of a JSON answer', () => {
    // Prepare
    const stream: HttpResponse = {
      status: 200,
      headers: { 'content-type': ['text/event-stream'] },
      body: 'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress"}\n\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n',
    };
    const json: HttpResponse = {
      status: 200,
      headers: { 'content-type': ['application/json'] },
      body: '{"id":1,"result":{}}',
    };

    // Act + Assess
    expect(messagesOf(stream)).toEqual([
      { jsonrpc: '2.0', method: 'notifications/progress' },
      { jsonrpc: '2.0', id: 1, result: {} },
    ]);
    expect(messagesOf(json)).toEqual([{ id: 1, result: {} }]);
  });
});

describe('the step-up check', () => {
  const METADATA = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp';
  const CHALLENGE = `Bearer error="insufficient_scope", scope="openid mcp:admin", resource_metadata="${METADATA}"`;
  const answer = (status: number, headers: Record<string, string>, body: unknown): HttpResponse => ({
    status,
    headers: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), [value]])),
    body: JSON.stringify(body),
  });

  it('passes the gateway refusal: the header, and the body naming the scope the token lacks', () => {
    const result = judgeStepUp(
      answer(403, { 'WWW-Authenticate': CHALLENGE }, { error: 'insufficient_scope', required_scope: 'mcp:admin' }),
      METADATA,
      ['openid'],
    );
    expect(result).toMatchObject({ status: 'pass', id: 'mcp.step-up' });
  });

  it.each([
    ['the tool answered', answer(200, {}, {}), /HTTP 200, not 403/],
    [
      'the refusal came from the function (stepUpChallenge off)',
      answer(403, { 'x-amzn-Remapped-WWW-Authenticate': CHALLENGE }, { error: { data: {} } }),
      /does not turn stepUpChallenge on/,
    ],
  ])('is skipped when %s, saying why', (_case, response, why) => {
    const result = judgeStepUp(response, METADATA, ['openid']);
    expect(result.status).toBe('skip');
    expect(result.detail).toMatch(why);
  });

  it.each([
    [
      'a challenge without error',
      'Bearer scope="mcp:admin"',
      { required_scope: 'mcp:admin' },
      /without error="insufficient_scope"/,
    ],
    [
      'another resource_metadata',
      CHALLENGE.replace(METADATA, 'https://elsewhere.example.com/m'),
      { required_scope: 'mcp:admin' },
      /resource_metadata is https:\/\/elsewhere/,
    ],
    ['a body without required_scope', CHALLENGE, { error: 'insufficient_scope' }, /required_scope is ""/],
    ['a body naming a scope the token has', CHALLENGE, { required_scope: 'openid' }, /required_scope is "openid"/],
  ])('fails %s', (_case, header, body, why) => {
    const result = judgeStepUp(answer(403, { 'WWW-Authenticate': header }, body), METADATA, ['openid']);
    expect(result.status).toBe('fail');
    expect(result.detail).toMatch(why);
  });
});
