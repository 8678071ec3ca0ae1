/**
 * The `mcp-authkit-apigateway` bin as a user gets it: this repository's package.json (bin, files)
 * and the cli sources compiled as `npm run build` compiles them, packed with `npm pack`, installed
 * from the tarball into a fresh folder without the CDK peers, and run through node_modules/.bin.
 *
 * Only cli/ is compiled in the staging copy: the bin imports nothing from lib/ or lambda/, so this
 * holds the bin's contract without depending on the rest of the build.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { defined } from '../../fixtures/defined';

jest.setTimeout(240_000);

const run = promisify(execFile);
const repoRoot = path.join(__dirname, '..', '..');
const quiet = {
  ...process.env,
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};

describe('the packed mcp-authkit-apigateway bin', () => {
  let work: string;
  let bin: string;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-package-'));
    const staging = path.join(work, 'package');
    fs.mkdirSync(staging);
    fs.cpSync(path.join(repoRoot, 'cli'), path.join(staging, 'cli'), { recursive: true });
    for (const file of ['package.json', 'tsconfig.json'])
      fs.copyFileSync(path.join(repoRoot, file), path.join(staging, file));
    const build = JSON.parse(fs.readFileSync(path.join(repoRoot, 'tsconfig.build.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    fs.writeFileSync(path.join(staging, 'tsconfig.build.json'), JSON.stringify({ ...build, include: ['cli'] }));
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(staging, 'node_modules'), 'dir');
    await run(path.join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], { cwd: staging });
    fs.unlinkSync(path.join(staging, 'node_modules'));
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
      cwd: staging,
      env: quiet,
    });
    const [{ filename }] = JSON.parse(stdout) as Array<{ filename: string }>;

    const consumer = path.join(work, 'consumer');
    fs.mkdirSync(consumer);
    fs.writeFileSync(
      path.join(consumer, 'package.json'),
      JSON.stringify({ name: 'verify-consumer', version: '1.0.0', private: true }),
    );
    await run('npm', ['install', '--prefer-offline', '--omit=peer', path.join(work, filename)], {
      cwd: consumer,
      env: quiet,
      maxBuffer: 16 * 1024 * 1024,
    });
    bin = path.join(consumer, 'node_modules', '.bin', 'mcp-authkit-apigateway');
  });

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('prints the verify help through its node shebang', async () => {
    // Act
    const { stdout } = await run(bin, ['verify', '--help']);

    // Assess
    expect(stdout).toMatch(/^Usage: mcp-authkit-apigateway verify <McpUrl> \[options\]/);
  });

  it('runs the checks without the CDK installed and exits 1 when the URL cannot be reached', async () => {
    // Prepare: a loopback port nothing listens on.
    const unreachable = 'http://127.0.0.1:9/mcp';

    // Act
    const outcome = await run(bin, ['verify', unreachable, '--json', '--timeout', '2']).then(
      () => undefined,
      (error: { code: number; stdout: string }) => error,
    );

    // Assess
    expect(outcome?.code).toBe(1);
    const report = JSON.parse(defined(outcome, 'a failed run').stdout) as {
      ok: boolean;
      checks: Array<{ id: string; status: string; detail?: string }>;
    };
    expect(report.ok).toBe(false);
    expect(report.checks[0]).toMatchObject({
      id: 'challenge.header',
      status: 'fail',
      detail: expect.stringContaining('ECONNREFUSED'),
    });
  });
});
