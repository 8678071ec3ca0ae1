/**
 * `verify` against the whole local stack (real `cdk synth`, the local API Gateway, the bundled
 * Lambdas, the AuthKit stand-in): every check passes on a correct stage, with and without a token,
 * and each misconfiguration reachable on this stage (a token for another audience, an origin the
 * stage does not allow, the issuer's JWKS down) fails with its own check, fix and a non-zero exit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authKitTestControls, authorizeHeadlessly, type AuthKitTestControls } from '../../local/authkit/launch';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { stackNameForStage } from '../../app/mcp-server-stack';
import { checkOf, failedIds, reportOf, runVerifyCli, writeOutputsFile } from './support/verify-cli';

jest.setTimeout(180_000);

/** MCP Inspector's origin: the one browser client this stage allows. */
const BROWSER_ORIGIN = 'http://localhost:6274';

describe('verify against a correctly configured local stage', () => {
  let stack: LocalStack;
  let controls: AuthKitTestControls;
  let workDir: string;

  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      authkitPort: 0,
      testControls: true,
      autoApprove: true,
      context: { allowedOrigins: BROWSER_ORIGIN },
    });
    controls = authKitTestControls(stack.issuer);
    workDir = mkdtempSync(join(tmpdir(), 'verify-cli-'));
  });

  afterAll(async () => {
    await controls?.setJwksMode('normal').catch(() => undefined);
    await stack?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('passes every check without a token and exits 0, skipping only the token checks', async () => {
    // Act
    const run = await runVerifyCli([stack.mcpUrl, '--origin', BROWSER_ORIGIN, '--json']);
    const report = reportOf(run);

    // Assess
    expect(failedIds(report)).toEqual([]);
    expect(run.code).toBe(0);
    expect(report).toMatchObject({ ok: true, mcpUrl: stack.mcpUrl, origin: BROWSER_ORIGIN });
    expect(report.checks.filter((check) => check.status === 'skip').map((check) => check.id)).toEqual(['token.all']);
    expect(report.checks.map((check) => check.id)).toEqual(
      expect.arrayContaining([
        'challenge.header',
        'challenge.metadata-url',
        'resource-metadata.resource',
        'resource-metadata.authorization-servers',
        'authorization-server.issuer',
        'authorization-server.copy',
        'authorization-server.pkce',
        'authorization-server.registration',
        'authorization-server.jwks',
        'browser.challenge-cors',
        'browser.challenge-cors-lowercase',
        'browser.preflight',
        'browser.outsider',
        'hygiene.unknown-route',
        'hygiene.no-echo',
        'hygiene.malformed-token',
      ]),
    );
    expect(checkOf(report, 'resource-metadata.authorization-servers').detail).toContain(stack.issuer);
  });

  it('passes every check with a token minted at the stand-in, and never prints the token', async () => {
    // Prepare: without mcp:admin, so that the step-up check sees server_config refused.
    const { accessToken, claims } = await controls.mintToken({
      aud: stack.mcpUrl,
      claims: { scope: 'openid profile email' },
    });

    // Act
    const json = await runVerifyCli([stack.mcpUrl, '--origin', BROWSER_ORIGIN, '--json'], {
      env: { MCP_ACCESS_TOKEN: accessToken },
    });
    const text = await runVerifyCli([stack.mcpUrl, '--origin', BROWSER_ORIGIN, '--token', accessToken]);
    const report = reportOf(json);

    // Assess
    expect(failedIds(report)).toEqual([]);
    expect(report.checks.filter((check) => check.status === 'skip')).toEqual([]);
    expect([json.code, text.code]).toEqual([0, 0]);
    expect(checkOf(report, 'mcp.whoami').detail).toBe(`sub: ${String(claims.sub)}`);
    expect(checkOf(report, 'browser.outsider').detail).toContain('a request with the token from it got HTTP 403');
    // The local stage turns stepUpChallenge on, and the minted token lacks server_config's mcp:admin.
    expect(checkOf(report, 'mcp.step-up').detail).toContain('error="insufficient_scope"');
    expect(text.stdout).toMatch(/^OK: 30 passed, 0 failed, 0 skipped/m);
    for (const output of [json.stdout, json.stderr, text.stdout, text.stderr]) {
      expect(output).not.toContain(accessToken);
      expect(output).not.toContain(accessToken.split('.')[2]);
    }
  });

  it('reads the MCP URL of --stage from the deploy outputs file', async () => {
    // Prepare: the file `cdk deploy --outputs-file cdk-outputs.json` writes, with the synthesized outputs.
    writeOutputsFile(join(workDir, 'cdk-outputs.json'), stack.cdkOut, stackNameForStage('local'));

    // Act
    const run = await runVerifyCli(['--stage', 'local', '--origin', BROWSER_ORIGIN, '--json'], { cwd: workDir });

    // Assess
    expect(run.code).toBe(0);
    expect(reportOf(run).mcpUrl).toBe(stack.mcpUrl);
  });

  it('says how to write the outputs file when --stage finds none, with exit code 2', async () => {
    // Act
    const run = await runVerifyCli(['--stage', 'dev'], { cwd: workDir });

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('npx cdk deploy -c stage=dev --outputs-file cdk-outputs.json');
  });

  it("fails a token minted for AuthKit's environment-wide audience and says to register the Resource Indicator", async () => {
    // Prepare: what AuthKit issues when the MCP URL is not registered as a Resource Indicator.
    const { accessToken } = await controls.mintToken({ aud: 'client_01ENVIRONMENTAUDIENCE000000' });

    // Act
    const run = await runVerifyCli([stack.mcpUrl, '--origin', BROWSER_ORIGIN, '--json'], {
      env: { MCP_ACCESS_TOKEN: accessToken },
    });
    const report = reportOf(run);

    // Assess
    expect(run.code).toBe(1);
    expect(failedIds(report)).toEqual(['token.audience', 'mcp.initialize']);
    expect(checkOf(report, 'token.audience').fix).toBe(
      `register ${stack.mcpUrl} as the MCP Resource Indicator in WorkOS (Connect → Configuration), then get a new token`,
    );
    expect(checkOf(report, 'mcp.initialize').detail).toMatch(/refused the token/);
    expect(run.stdout + run.stderr).not.toContain(accessToken);
  });

  it('fails the browser checks, naming allowedOrigins, for a browser origin the stage does not allow', async () => {
    // Prepare: the stage allows only MCP Inspector's origin; this client runs elsewhere.
    const origin = 'http://localhost:5173';

    // Act
    const run = await runVerifyCli([stack.mcpUrl, '--origin', origin, '--json']);
    const report = reportOf(run);

    // Assess
    expect(run.code).toBe(1);
    expect(failedIds(report)).toEqual([
      'browser.challenge-cors',
      'browser.challenge-cors-lowercase',
      'browser.preflight',
    ]);
    for (const id of failedIds(report)) {
      expect(checkOf(report, id).detail).toContain(`"${BROWSER_ORIGIN}"`);
      expect(checkOf(report, id).fix).toMatch(new RegExp(`^add ${origin} to the stage's allowedOrigins`));
    }
  });

  it('signs in with --login (DCR, PKCE, loopback redirect) and passes every check with the token it got', async () => {
    // Act: the test plays the browser: it follows the printed sign-in URL to the loopback redirect.
    let signIn: Promise<void> | undefined;
    const run = await runVerifyCli([stack.mcpUrl, '--login', '--no-open', '--origin', BROWSER_ORIGIN, '--json'], {
      onStderrLine: (line) => {
        const url = /^Sign in to continue: (\S+)$/.exec(line)?.[1];
        if (url) signIn = authorizeHeadlessly(url).then(async (callback) => void (await fetch(callback)).text());
      },
    });
    await signIn;
    const report = reportOf(run);

    // Assess
    expect(signIn).toBeDefined();
    expect(failedIds(report)).toEqual([]);
    expect(run.code).toBe(0);
    expect(checkOf(report, 'token.audience').detail).toBe(`aud: ${stack.mcpUrl}`);
    expect(checkOf(report, 'mcp.whoami').status).toBe('pass');
    expect(run.stderr).toMatch(/^Signed in as client \S+, registered by DCR\.$/m);
    // The token obtained is never printed: no JWT appears anywhere in the output.
    expect(run.stdout + run.stderr).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/);
  });

  it('bounds each request by --timeout: a JWKS that answers after 10 s fails its check after 1 s', async () => {
    // Prepare
    await controls.setJwksMode('slow', { delayMs: 10_000 });
    const started = Date.now();

    // Act
    const run = await runVerifyCli([stack.mcpUrl, '--origin', BROWSER_ORIGIN, '--json', '--timeout', '1']);
    const elapsedMs = Date.now() - started;
    await controls.setJwksMode('normal');
    const report = reportOf(run);

    // Assess
    expect(run.code).toBe(1);
    expect(failedIds(report)).toEqual(['authorization-server.jwks']);
    expect(checkOf(report, 'authorization-server.jwks').detail).toBe(
      `no answer from ${stack.issuer}/oauth2/jwks: no complete answer within 1000 ms`,
    );
    expect(elapsedMs).toBeLessThan(10_000);
  });

  // Last: the authorizer's key cache is not needed here, but the outage must not leak into other tests.
  it("fails the JWKS check, naming authkitDomain, while the issuer's JWKS is down", async () => {
    // Prepare
    await controls.setJwksMode('down');

    // Act
    const run = await runVerifyCli([stack.mcpUrl, '--origin', BROWSER_ORIGIN, '--json']);
    await controls.setJwksMode('normal');
    const report = reportOf(run);

    // Assess
    expect(run.code).toBe(1);
    expect(failedIds(report)).toEqual(['authorization-server.jwks']);
    expect(checkOf(report, 'authorization-server.jwks').detail).toContain(`${stack.issuer}/oauth2/jwks`);
    expect(checkOf(report, 'authorization-server.jwks').fix).toContain(
      'check that authkitDomain names a live AuthKit environment',
    );
  });
});
