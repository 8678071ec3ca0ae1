/**
 * `verify` knows where it is pointed: at the local stack its fixes name `npm run dev`; at the
 * authorization server it says so; at a wrong path it says the path is wrong; at a dead port it
 * says to start the stack; and with a token it also checks the 2026-07-28 revision.
 */
import { createServer } from 'node:net';
import { authKitTestControls } from '../../local/authkit/launch';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { checkOf, failedIds, reportOf, runVerifyCli } from './support/verify-cli';

jest.setTimeout(180_000);

const BROWSER_ORIGIN = 'http://localhost:6274';

/** A port nothing listens on: bound, then released. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('verify pointed at the local stack, its authorization server, a wrong path and a dead port', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      authkitPort: 0,
      testControls: true,
      context: { allowedOrigins: BROWSER_ORIGIN },
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('user runs verify with a token against npm run dev: the 2026-07-28 checks pass too', async () => {
    // Prepare
    const { accessToken, claims } = await authKitTestControls(stack.issuer).mintToken({ aud: stack.mcpUrl });

    // Act
    const run = await runVerifyCli([stack.mcpUrl, '--origin', BROWSER_ORIGIN, '--json'], {
      env: { MCP_ACCESS_TOKEN: accessToken },
    });
    const report = reportOf(run);

    // Assess
    expect(failedIds(report)).toEqual([]);
    expect(run.code).toBe(0);
    expect(checkOf(report, 'mcp.modern-discover').detail).toContain('2026-07-28');
    expect(checkOf(report, 'mcp.modern-call').detail).toBe(`sub: ${String(claims.sub)}`);
    expect(checkOf(report, 'mcp.modern-stream').detail).toMatch(/^[1-9]\d* progress notifications, then the result/);
    // The stage lists its origins: the outsider line says what was observed, never "allowedOrigins is *".
    expect(checkOf(report, 'browser.outsider').detail).not.toContain('allowedOrigins is *');
    expect(run.stdout).not.toContain(accessToken);
  });

  it("user passes the stand-in's issuer URL: verify says it is the authorization server, not the MCP server", async () => {
    // Act
    const run = await runVerifyCli([stack.issuer, '--no-browser', '--json']);
    const report = reportOf(run);

    // Assess
    expect(run.code).toBe(1);
    const challenge = checkOf(report, 'challenge.header');
    expect(challenge.status).toBe('fail');
    expect(challenge.detail).toContain(`the metadata of the authorization server ${stack.issuer}`);
    expect(challenge.fix).toMatch(/^this is the authorization server, not the MCP server: pass the MCP URL, e\.g\. /);
    expect(challenge.fix).toContain('npm run dev');
  });

  it('user passes a wrong path: the 404 says the path is wrong and what the MCP URL looks like, not a 5xx fix', async () => {
    // Prepare
    const wrong = stack.mcpUrl.replace(/\/mcp$/, '/mpc');

    // Act
    const run = await runVerifyCli([wrong, '--no-browser', '--json']);
    const report = reportOf(run);

    // Assess
    expect(run.code).toBe(1);
    const challenge = checkOf(report, 'challenge.header');
    expect(challenge.detail).toBe('got HTTP 404 instead of 401');
    expect(challenge.fix).toContain('the path is wrong: nothing is served at');
    expect(challenge.fix).toContain(`${new URL(stack.mcpUrl).origin}/mcp, as \`npm run dev\` prints it`);
    for (const check of report.checks) expect(check.fix ?? '').not.toMatch(/5xx|CloudWatch|deployed/);
  });

  it('user runs verify before npm run dev: a dead local port says to start it, not to deploy', async () => {
    // Prepare
    const url = `http://localhost:${await deadPort()}/mcp`;

    // Act
    const run = await runVerifyCli([url, '--no-browser', '--json', '--timeout', '3']);
    const report = reportOf(run);

    // Assess
    expect(run.code).toBe(1);
    expect(checkOf(report, 'challenge.header').fix).toMatch(/start the local stack with `npm run dev`/);
    const fixes = report.checks.flatMap((check) => (check.fix ? [check.fix] : []));
    expect(fixes.length).toBeGreaterThan(0);
    for (const fix of fixes) expect(fix).not.toMatch(/deployed stack|stack is deployed|CloudWatch/);
  });
});
