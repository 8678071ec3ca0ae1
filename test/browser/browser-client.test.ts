/**
 * A real browser (headless Chromium through playwright-core) as a browser-based MCP client on a
 * different origin: what it can read is decided by the stack's CORS headers, not by this test.
 *
 * Run with `npm run test:browser` (jest.browser.config.js); under `npm test` it is skipped. Needs Debian's
 * chromium at /usr/bin/chromium (.ci/run installs it). Without it the suite is skipped with a
 * message, unless REQUIRE_BROWSER=1 (set by .ci/run), which turns the absence into a failure.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { DEV_USER, authKitTestControls } from '../../local/authkit/launch';
import { startLocalStack, type LocalStack } from '../../local/stack';

jest.setTimeout(120_000);

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const PAGE_HTML = readFileSync(join(__dirname, 'cross-origin-client.html'), 'utf8');

interface ClientSteps {
  unauthorized: { status: number; challenge: string | null; body: Record<string, unknown> };
  prmUrl: string | null;
  prm?: { status: number; body: Record<string, unknown> };
  initialize?: { status: number; body: { result?: { protocolVersion?: string; serverInfo?: { name?: string } } } };
  toolsList?: { status: number; body: { result?: { tools?: Array<{ name: string }> } } };
  whoami?: { status: number; body: { result?: { structuredContent?: Record<string, unknown>; isError?: boolean } } };
}

// jest.browser.config.js sets this global; the default config (npm test) also matches this file and must skip it.
const runByBrowserConfig = (globalThis as { RUN_BROWSER_TESTS?: unknown }).RUN_BROWSER_TESTS === true;
const chromiumPresent = existsSync(CHROMIUM);
if (runByBrowserConfig && !chromiumPresent) {
  if (process.env.REQUIRE_BROWSER === '1')
    throw new Error(`${CHROMIUM} is missing and REQUIRE_BROWSER=1: install it with "apt-get install -y chromium".`);
  console.warn(
    `Skipping the browser tests: ${CHROMIUM} is not installed. Install Debian's chromium (apt-get install -y chromium) to run them.`,
  );
}
const describeWithChromium = runByBrowserConfig && chromiumPresent ? describe : describe.skip;

/** Serves the client page from its own origin (another port on 127.0.0.1). */
async function startPageServer(): Promise<{ origin: string; stop: () => Promise<void> }> {
  const server = http.createServer((request, response) => {
    if (request.url === '/' || request.url === '/index.html') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(PAGE_HTML);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describeWithChromium('A browser-based MCP client on another origin, in headless Chromium', () => {
  let stack: LocalStack;
  let pageServer: Awaited<ReturnType<typeof startPageServer>>;
  let userDataDir: string;
  let context: BrowserContext;
  let page: Page;
  const gatewayLog: string[] = [];
  const consoleErrors: string[] = [];
  /** CORS preflights the browser sent, as DevTools sees them: URL and the headers it asked to send. */
  const preflights: Array<{ url: string; requestedHeaders: string[] }> = [];
  let steps: ClientSteps;

  beforeAll(async () => {
    pageServer = await startPageServer();
    // No browser origin may call the server unless the stage lists it: list this page's.
    stack = await startLocalStack({
      port: 0,
      authkitPort: 0,
      testControls: true,
      context: { allowedOrigins: pageServer.origin },
      log: (line) => gatewayLog.push(line),
    });
    userDataDir = mkdtempSync(join(tmpdir(), 'mcp-browser-profile-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    const devtools = await context.newCDPSession(page);
    devtools.on('Network.requestWillBeSent', ({ request }) => {
      if (request.method !== 'OPTIONS') return;
      const requested =
        Object.entries(request.headers).find(
          ([name]) => name.toLowerCase() === 'access-control-request-headers',
        )?.[1] ?? '';
      preflights.push({
        url: request.url,
        requestedHeaders: String(requested)
          .split(',')
          .map((name) => name.trim().toLowerCase())
          .filter(Boolean),
      });
    });
    await devtools.send('Network.enable');
    await page.goto(`${pageServer.origin}/`);

    const { accessToken } = await authKitTestControls(stack.issuer).mintToken({ aud: stack.mcpUrl });
    steps = await page.evaluate(
      ([mcpUrl, token]) =>
        (window as unknown as { runMcpClient: (u: string, t: string) => Promise<ClientSteps> }).runMcpClient(
          mcpUrl,
          token,
        ),
      [stack.mcpUrl, accessToken] as const,
    );
  });

  afterAll(async () => {
    if (process.env.BROWSER_TEST_PRINT_LOG) console.log(gatewayLog.join('\n'));
    await context?.close();
    await pageServer?.stop();
    await stack?.stop();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it("runs on an origin other than the server's", () => {
    expect(new URL(pageServer.origin).origin).not.toBe(new URL(stack.mcpUrl).origin);
  });

  it('reads the 401 and its WWW-Authenticate challenge without a token (CORS exposes it)', () => {
    expect(steps.unauthorized.status).toBe(401);
    expect(steps.unauthorized.challenge).toBe(`Bearer resource_metadata="${stack.urls.protectedResourceMetadata}"`);
    expect(steps.unauthorized.body).toMatchObject({ error: 'unauthorized' });
  });

  it('fetches the protected-resource metadata the challenge points at', () => {
    expect(steps.prmUrl).toBe(stack.urls.protectedResourceMetadata);
    expect(steps.prm).toEqual({
      status: 200,
      body: expect.objectContaining({ resource: stack.mcpUrl, authorization_servers: [stack.issuer] }),
    });
  });

  it("sends preflighted requests carrying Authorization and MCP-Protocol-Version, answered by the gateway's preflight", () => {
    // Assess: the browser asked first, for exactly these headers, and the gateway's MOCK preflight said yes.
    const withToken = preflights.filter(
      ({ url, requestedHeaders }) => url === stack.mcpUrl && requestedHeaders.includes('authorization'),
    );
    expect(withToken.length).toBeGreaterThanOrEqual(1);
    expect(withToken[0].requestedHeaders).toEqual(
      expect.arrayContaining(['authorization', 'content-type', 'mcp-protocol-version']),
    );
    expect(gatewayLog.filter((line) => /^OPTIONS \/mcp 204 .*authorizer=none/.test(line)).length).toBe(
      preflights.filter(({ url }) => url === stack.mcpUrl).length,
    );
    expect(steps.initialize).toMatchObject({ status: 200, body: { result: { protocolVersion: '2025-06-18' } } });
    expect(steps.toolsList?.status).toBe(200);
    expect(steps.toolsList?.body.result?.tools?.map((tool) => tool.name).sort()).toEqual([
      'config_audit',
      'confirm',
      'format_json',
      'long_task',
      'server_config',
      'whoami',
    ]);
  });

  it('calls a tool with the token and sees its own identity', () => {
    expect(steps.whoami?.status).toBe(200);
    expect(steps.whoami?.body.result?.isError).toBeFalsy();
    expect(steps.whoami?.body.result?.structuredContent).toMatchObject({
      sub: DEV_USER.sub,
      organization: DEV_USER.orgId,
    });
  });

  it('hit no CORS error in the page', () => {
    expect(consoleErrors.filter((text) => /CORS|Access-Control/i.test(text))).toEqual([]);
  });
});
