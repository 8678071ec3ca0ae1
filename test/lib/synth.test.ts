/**
 * The real thing: `npx cdk synth -c stage=dev` from the repository root, offline, with esbuild
 * bundling and the cdk-nag checks of bin/app.ts, into a temporary output directory.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repoRoot = path.join(__dirname, '..', '..');

interface CfnFunction {
  Type: string;
  Properties: { Environment: { Variables: Record<string, unknown> }; Runtime: string; Architectures: string[] };
  Metadata?: Record<string, string>;
}

describe('npx cdk synth -c stage=dev', () => {
  let outdir: string;
  let synth: { stdout: string; stderr: string };
  beforeAll(async () => {
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-synth-dev-'));
    synth = await run('npx', ['cdk', 'synth', '-c', 'stage=dev', '--quiet', '-o', outdir], {
      cwd: repoRoot,
      // No AWS credentials or network: synth must not need them.
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
        AWS_PROFILE: '',
        CDK_DISABLE_VERSION_CHECK: '1',
      },
      maxBuffer: 32 * 1024 * 1024,
    });
  }, 300_000);
  afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

  const template = () =>
    JSON.parse(fs.readFileSync(path.join(outdir, 'McpServer-dev.template.json'), 'utf8')) as {
      Resources: Record<string, CfnFunction>;
    };
  const functions = () => Object.entries(template().Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
  /** Where cdk synth put a bundled function's code. */
  const assetPath = (fn: CfnFunction): string => {
    const asset = fn.Metadata?.['aws:asset:path'];
    if (asset === undefined) throw new Error('Expected the function to name its bundled asset in aws:asset:path');
    return path.join(outdir, asset);
  };

  it('synthesizes the McpServer-dev stack with cdk-nag passing', () => {
    expect(synth.stdout + synth.stderr).not.toMatch(/AwsSolutions-|Synthesis finished with errors/);
    expect(functions()).toHaveLength(3);
  });

  it('bundles each function with esbuild into minified CommonJS with a source map', () => {
    for (const [, fn] of functions()) {
      const assetDir = assetPath(fn);
      const code = fs.readFileSync(path.join(assetDir, 'index.js'), 'utf8');
      expect(fs.existsSync(path.join(assetDir, 'index.js.map'))).toBe(true);
      expect(code).toMatch(/\/\/# sourceMappingURL=index\.js\.map\s*$/);
      // Minified: long lines (only template literals keep their newlines), not one statement per line.
      const lines = code.split('\n');
      expect(code.length / lines.length).toBeGreaterThan(500);
      expect(code).not.toMatch(/^import |^export /m);
    }
  });

  it('produces bundles that load on Node with the environment from the template and export a handler', async () => {
    for (const [id, fn] of functions()) {
      const env: Record<string, string> = {};
      for (const [name, value] of Object.entries(fn.Properties.Environment.Variables)) {
        // The execute-api base URL and the secret's ARN are only known at deploy time: stand in values of the same shape.
        env[name] =
          typeof value === 'string'
            ? value
            : name === 'REQUEST_STATE_SECRET_ARN'
              ? 'arn:aws:secretsmanager:us-east-1:123456789012:secret:request-state-AbCdEf'
              : 'https://abc123.execute-api.us-east-1.amazonaws.com/dev';
      }
      const entry = path.join(assetPath(fn), 'index.js');
      // The Lambda Node.js runtime gives every function the awslambda global that a streaming handler is built with.
      const lambdaGlobal =
        'globalThis.awslambda = { streamifyResponse: (h) => h, HttpResponseStream: { from: (s) => s } };';
      const load = `${lambdaGlobal} const h = require(${JSON.stringify(entry)}).handler; process.stdout.write('\\nhandler type: ' + typeof h + '\\n')`;
      const { stdout } = await run(process.execPath, ['-e', load], {
        env: { PATH: process.env.PATH ?? '', ...env, AWS_REGION: 'us-east-1', AWS_LAMBDA_FUNCTION_NAME: id },
      });
      // The functions log their configuration at cold start on stdout; the marker line follows it.
      expect(`${id}: ${/^handler type: (.*)$/m.exec(stdout)?.[1]}`).toBe(`${id}: function`);
    }
  }, 60_000);
});
