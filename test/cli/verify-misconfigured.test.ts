/**
 * `verify` against local stages that are deployed wrong in ways only the outside can see: an
 * AuthKit environment with DCR and CIMD off, gateway responses whose 401 lost its challenge header
 * or carries it under the name API Gateway gives a Lambda's, and an unknown-route answer that quotes
 * the Authorization header. Each gives its own failure and fix text, and a non-zero exit.
 */
import { startAuthKitStandIn, type AuthKitStandIn } from '../../local/authkit/launch';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { startMetadataStrippingProxy, type StrippingProxy } from './support/metadata-stripping-proxy';
import { checkOf, failedIds, reportOf, runVerifyCli } from './support/verify-cli';

jest.setTimeout(240_000);

const BROWSER_ORIGIN = 'http://localhost:6274';
const FIXTURE_APP = 'npx tsx test/cli/fixtures/challenge-fixture-app.ts';

describe('verify against a stage whose AuthKit environment has DCR and CIMD off', () => {
  let standIn: AuthKitStandIn;
  let proxy: StrippingProxy;
  let stack: LocalStack;

  beforeAll(async () => {
    standIn = await startAuthKitStandIn({ port: 0 });
    proxy = await startMetadataStrippingProxy(standIn.issuer, [
      'registration_endpoint',
      'client_id_metadata_document_supported',
    ]);
    stack = await startLocalStack({ port: 0, authkitDomain: proxy.url, context: { allowedOrigins: BROWSER_ORIGIN } });
  });

  afterAll(async () => {
    await stack?.stop();
    await proxy?.stop();
    await standIn?.stop();
  });

  it('fails only the registration check, telling to enable DCR or CIMD in WorkOS, and exits 1', async () => {
    // Act
    const run = await runVerifyCli([stack.mcpUrl, '--origin', BROWSER_ORIGIN, '--json']);
    const report = reportOf(run);

    // Assess
    expect(run.code).toBe(1);
    expect(failedIds(report)).toEqual(['authorization-server.registration']);
    const registration = checkOf(report, 'authorization-server.registration');
    expect(registration.detail).toContain(
      "the issuer's metadata: neither registration_endpoint nor client_id_metadata_document_supported",
    );
    expect(registration.detail).toContain("the stack's copy: neither");
    expect(registration.fix).toMatch(/^enable DCR or CIMD in WorkOS Connect → Configuration/);
  });

  it('reports a --login that cannot register as a failed check beside the registration check', async () => {
    // Act
    const run = await runVerifyCli([stack.mcpUrl, '--login', '--no-open', '--origin', BROWSER_ORIGIN, '--json']);
    const report = reportOf(run);

    // Assess
    expect(run.code).toBe(1);
    expect(failedIds(report)).toEqual(['authorization-server.registration', 'token.login']);
    expect(checkOf(report, 'token.login').fix).toBe(
      'the client could not register: enable DCR or CIMD in WorkOS Connect → Configuration (with CIMD, pass --client-metadata-url)',
    );
    expect(run.stderr).not.toContain('Sign in to continue');
  });

  it('prints the failure and its fix in the text report', async () => {
    // Act
    const run = await runVerifyCli([stack.mcpUrl, '--origin', BROWSER_ORIGIN]);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      '  FAIL  DCR (registration_endpoint) and/or CIMD (client_id_metadata_document_supported) are advertised',
    );
    expect(run.stdout).toContain('        fix: enable DCR or CIMD in WorkOS Connect → Configuration');
    expect(run.stdout).toMatch(/^FAILED: \d+ passed, 1 failed, 1 skipped/m);
  });
});

describe.each([
  ['missing', 'the 401 has no WWW-Authenticate header, so clients cannot discover where to get a token'],
  [
    'remapped',
    'the 401 carries x-amzn-Remapped-WWW-Authenticate instead: API Gateway renamed a WWW-Authenticate header set by a Lambda integration, which clients never read',
  ],
])('verify against a stage whose 401 gateway response has its challenge header %s', (mode, detail) => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      authkitPort: 0,
      app: FIXTURE_APP,
      context: { allowedOrigins: BROWSER_ORIGIN, challengeFixture: mode },
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('fails the challenge check, naming the gateway response, and still checks the rest through the well-known location', async () => {
    // Act
    const run = await runVerifyCli([stack.mcpUrl, '--origin', BROWSER_ORIGIN, '--json']);
    const report = reportOf(run);

    // Assess
    expect(run.code).toBe(1);
    expect(failedIds(report)).toEqual(['challenge.header']);
    expect(checkOf(report, 'challenge.header').detail).toBe(detail);
    expect(checkOf(report, 'challenge.header').fix).toMatch(
      /^the UNAUTHORIZED gateway response must carry the challenge header/,
    );
    expect(checkOf(report, 'resource-metadata.resource').status).toBe('pass');
  });
});

describe('verify against a stage whose unknown-route answer quotes the Authorization header', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      authkitPort: 0,
      app: FIXTURE_APP,
      context: { allowedOrigins: BROWSER_ORIGIN, challengeFixture: 'echo' },
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('fails the no-echo check, telling to use static gateway messages, and exits 1', async () => {
    // Act
    const run = await runVerifyCli([stack.mcpUrl, '--origin', BROWSER_ORIGIN, '--json']);
    const report = reportOf(run);

    // Assess
    expect(run.code).toBe(1);
    expect(failedIds(report)).toEqual(['hygiene.no-echo']);
    const noEcho = checkOf(report, 'hygiene.no-echo');
    expect(noEcho.detail).toContain('GET on an unknown route (HTTP 404) returns the header raw');
    expect(noEcho.detail).toContain('the body changes with the Authorization header');
    expect(noEcho.fix).toMatch(/^use static messages in the DEFAULT_4XX \/ DEFAULT_5XX gateway responses/);
  });
});
