/**
 * The construct outside this repository: `npm pack` the package, install the tarball into a fresh
 * CDK app (from the npm cache: `--prefer-offline` reaches the registry only for what the cache lacks) whose Lambda defines its own tools with
 * `createMcpLambdaHandler`, `cdk synth` it, and call the bundled tool function.
 *
 * The package is built in a staging copy (lib/, lambda/, README, the tsconfigs and package.json), so the
 * shared checkout gets no dist/ or tarball. The staging package.json is this repository's, with the
 * packaging fields of `package-fields.json` applied: the fields the package needs to be reusable.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { defined } from '../../fixtures/defined';
import { authorizerIdentityContext } from '../../fixtures/events';

const run = promisify(execFile);
const repoRoot = path.join(__dirname, '..', '..');
const cdkCli = path.join(repoRoot, 'node_modules', '.bin', 'cdk');

type Manifest = Record<string, unknown> & {
  name: string;
  version: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;
const repoManifest = readJson<Manifest>(path.join(repoRoot, 'package.json'));
const packaging = readJson<Manifest>(path.join(__dirname, 'package-fields.json'));
const installedVersion = (pkg: string) =>
  readJson<{ version: string }>(path.join(repoRoot, 'node_modules', pkg, 'package.json')).version;

/** The range package-fields.json gives a peer; a peer it does not list is a mistake in that file. */
function peerRange(peer: string): string {
  const range = packaging.peerDependencies?.[peer];
  if (range === undefined) throw new Error(`package-fields.json lists no range for the peer ${peer}`);
  return range;
}

/** This repository's package.json with the packaging fields applied; peers move out of `dependencies`. */
function stagedManifest(): Manifest {
  const peers = Object.keys(packaging.peerDependencies ?? {});
  const dependencies = Object.fromEntries(
    Object.entries(repoManifest.dependencies ?? {}).filter(([name]) => !peers.includes(name)),
  );
  const devDependencies = { ...repoManifest.devDependencies };
  for (const peer of peers) devDependencies[peer] ??= repoManifest.dependencies?.[peer] ?? peerRange(peer);
  return {
    ...repoManifest,
    ...packaging,
    scripts: { ...repoManifest.scripts, ...packaging.scripts },
    dependencies,
    devDependencies,
  };
}

const npm = (args: string[], cwd: string) =>
  run('npm', args, {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' },
  });

const TOOL_ENTRY = `import { McpServer } from '@modelcontextprotocol/server';
import { callerOf, createMcpLambdaHandler, defineTool } from 'mcp-authkit-apigateway/runtime';
import * as z from 'zod';

const sumNumbers = defineTool(
  'reuse_sum_numbers',
  {
    description: 'Adds numbers and says who asked.',
    inputSchema: z.object({ numbers: z.array(z.number()).max(100) }),
    policy: { scopes: ['math:use'] },
  },
  async ({ numbers }, ctx) => {
    const caller = callerOf(ctx.http?.authInfo);
    const sum = numbers.reduce((total, n) => total + n, 0);
    return { content: [{ type: 'text', text: \`\${sum} for \${caller.sub}\` }] };
  },
);

export const handler = createMcpLambdaHandler(({ serverInfo }) => new McpServer(serverInfo), {
  serverInfo: { name: 'reuse-app', version: '1.0.0' },
  tools: [sumNumbers],
});
`;

const APP = `import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { AuthKitMcpServer, McpHandler } from 'mcp-authkit-apigateway';

const app = new App();
const stack = new Stack(app, 'ReuseStack');
const server = new AuthKitMcpServer(stack, 'Mcp', {
  authkitDomain: 'example.authkit.app',
  requiredScopes: ['math:use'],
  resourceName: 'Reuse app',
  mcpHandler: McpHandler.fromEntry(path.join(__dirname, '..', 'lambda', 'tools.ts')),
});
server.addOutputs();
app.synth();
`;

const RESOURCE = 'https://abc123.execute-api.us-east-1.amazonaws.com/prod/mcp';
/** What the token authorizer hands the bundled function for the caller, built from the identity contract. */
const CALLER_CONTEXT = authorizerIdentityContext({
  sub: 'user_reuse',
  clientId: 'client_1',
  scopes: ['math:use'],
  exp: 1_900_000_000,
  aud: RESOURCE,
});

/**
 * Runs in the consumer app: invokes the bundled tool function the way API Gateway's STREAM transfer
 * mode does, through a stand-in for the `awslambda` global of the Lambda Node.js runtime (its
 * HttpResponseStream writes the JSON prelude and eight NUL bytes before the body).
 */
const INVOKE = `const { Writable } = require('node:stream');
const DELIMITER = Buffer.alloc(8);
globalThis.awslambda = {
  streamifyResponse: (handler) => handler,
  HttpResponseStream: { from: (stream, prelude) => { stream.write(JSON.stringify(prelude)); stream.write(DELIMITER); return stream; } },
};
const { handler } = require(process.argv[2]);
const event = (body) => ({
  httpMethod: 'POST', path: '/mcp', resource: '/mcp',
  headers: { Accept: 'application/json, text/event-stream', 'Content-Type': 'application/json', Authorization: 'Bearer aaa.bbb.ccc', 'MCP-Protocol-Version': '2025-11-25' },
  multiValueHeaders: null, queryStringParameters: null, multiValueQueryStringParameters: null,
  body: JSON.stringify(body), isBase64Encoded: false,
  requestContext: { requestId: 'r1', stage: 'prod', authorizer: ${JSON.stringify(CALLER_CONTEXT)} },
});
const invoke = (body) => new Promise((resolve, reject) => {
  const chunks = [];
  const stream = new Writable({ write(chunk, _encoding, callback) { chunks.push(Buffer.from(chunk)); callback(); } });
  stream.on('finish', () => {
    const all = Buffer.concat(chunks);
    const at = all.indexOf(DELIMITER);
    resolve({ prelude: JSON.parse(all.subarray(0, at).toString()), body: JSON.parse(all.subarray(at + DELIMITER.length).toString()) });
  });
  Promise.resolve(handler(event(body), stream, { awsRequestId: 'r1', getRemainingTimeInMillis: () => 60000 })).catch(reject);
});
(async () => {
  const list = await invoke({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
  const call = await invoke({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'reuse_sum_numbers', arguments: { numbers: [2, 3, 37] } } });
  process.stdout.write('\\nRESULT ' + JSON.stringify({ list, call }) + '\\n');
})();
`;

/** The first TypeScript block after `heading` in the README section on using the construct from another app. */
function readmeBlock(section: string, heading: string): string {
  const at = section.indexOf(heading);
  if (at < 0) throw new Error(`README: "${heading}" not found in "Using the construct from another CDK app"`);
  const block = /```ts\n([\s\S]*?)```/.exec(section.slice(at));
  if (!block) throw new Error(`README: no ts block after "${heading}"`);
  return block[1];
}

const readmeExample = (() => {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('## Using the construct from another CDK app');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  return { tools: readmeBlock(section, 'your MCP function:'), stack: readmeBlock(section, 'The stack:') };
})();

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are free-form JSON, read by path in the assertions.
type TemplateResource = { Type: string; Properties: Record<string, any>; Metadata?: Record<string, string> };

function mcpFunctionOf(template: { Resources: Record<string, TemplateResource> }): TemplateResource {
  const mcp = Object.values(template.Resources).find(
    (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Description?.startsWith('MCP server'),
  );
  if (!mcp) throw new Error('the synthesized template has no MCP function');
  return mcp;
}

function assetPathOf(resource: TemplateResource): string {
  const assetPath = resource.Metadata?.['aws:asset:path'];
  if (!assetPath) throw new Error('the function has no aws:asset:path metadata');
  return assetPath;
}

/** Every value export of an entry of the installed package, as a consumer's `require` sees it. */
async function exportedNames(consumer: string, specifier: string): Promise<string[]> {
  const script = `console.log(JSON.stringify(Object.keys(require(${JSON.stringify(specifier)})).sort()))`;
  const { stdout } = await run(process.execPath, ['-e', script], { cwd: consumer });
  return JSON.parse(stdout) as string[];
}

describe('the packaged construct in a fresh CDK app', () => {
  let work: string;
  let tarball: string;
  let consumer: string;
  let template: { Resources: Record<string, TemplateResource>; Outputs: Record<string, unknown> };
  let synthOutput: string;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-authkit-reuse-'));

    // 1. Stage and pack the package (prepack builds dist/ with tsc).
    const staging = path.join(work, 'package');
    fs.mkdirSync(staging);
    for (const entry of ['lib', 'lambda', 'README.md', 'tsconfig.json', 'tsconfig.build.json']) {
      fs.cpSync(path.join(repoRoot, entry), path.join(staging, entry), { recursive: true });
    }
    fs.writeFileSync(path.join(staging, 'package.json'), JSON.stringify(stagedManifest(), null, 2));
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(staging, 'node_modules'), 'dir');
    const packed = await npm(['pack', '--json', '--pack-destination', work], staging);
    const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string }[];
    tarball = path.join(work, info[0].filename);

    // 2. A fresh CDK app that installs the tarball and its peers offline, from the npm cache.
    consumer = path.join(work, 'app');
    fs.mkdirSync(path.join(consumer, 'lambda'), { recursive: true });
    fs.writeFileSync(
      path.join(consumer, 'package.json'),
      JSON.stringify({ name: 'reuse-app', version: '1.0.0', private: true }, null, 2),
    );
    const pins = [
      'aws-cdk-lib',
      'constructs',
      'esbuild',
      'typescript',
      '@types/node',
      '@modelcontextprotocol/server',
      'zod',
    ].map((pkg) => `${pkg}@${installedVersion(pkg)}`);
    await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, ...pins], consumer);

    fs.writeFileSync(path.join(consumer, 'lambda', 'tools.ts'), TOOL_ENTRY);
    fs.writeFileSync(path.join(consumer, 'app.ts'), APP);
    // The README's own example, compiled as written (not synthesized: it is the same shape as APP).
    fs.mkdirSync(path.join(consumer, 'readme', 'lambda'), { recursive: true });
    fs.writeFileSync(path.join(consumer, 'readme', 'lambda', 'tools.ts'), readmeExample.tools);
    fs.writeFileSync(path.join(consumer, 'readme', 'app.ts'), readmeExample.stack);
    fs.writeFileSync(
      path.join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          outDir: 'build',
          skipLibCheck: true,
          types: ['node'],
        },
        include: ['app.ts', 'lambda/**/*.ts', 'readme/**/*.ts'],
      }),
    );
    fs.writeFileSync(path.join(consumer, 'cdk.json'), JSON.stringify({ app: 'node build/app.js' }));

    // 3. Type-check and compile the app with the package's published types, then synthesize it.
    await run(path.join(consumer, 'node_modules', '.bin', 'tsc'), ['-p', '.'], { cwd: consumer });
    const synth = await run(cdkCli, ['synth', '--quiet', '-o', 'cdk.out'], {
      cwd: consumer,
      maxBuffer: 64 * 1024 * 1024,
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
        AWS_PROFILE: '',
        CDK_DISABLE_VERSION_CHECK: '1',
      },
    });
    synthOutput = synth.stdout + synth.stderr;
    template = readJson(path.join(consumer, 'cdk.out', 'ReuseStack.template.json'));
  }, 600_000);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('agrees with the packaging fields already set in package.json', () => {
    // Once these fields are in package.json they must keep the values this test proves.
    for (const field of ['main', 'types', 'exports', 'files', 'peerDependencies'] as const) {
      if (repoManifest[field] !== undefined)
        expect({ [field]: repoManifest[field] }).toEqual({ [field]: packaging[field] });
    }
    if (repoManifest.scripts?.prepack !== undefined)
      expect(repoManifest.scripts.prepack).toBe(defined(packaging.scripts, 'package-fields.json scripts').prepack);
  });

  it('packs the compiled construct, the runtime entry and the Lambda sources, and nothing else', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    const files = stdout.split('\n').filter(Boolean);
    for (const expected of [
      'package/package.json',
      'package/dist/lib/index.js',
      'package/dist/lib/index.d.ts',
      'package/dist/lambda/runtime/index.js',
      'package/dist/lambda/runtime/index.d.ts',
      'package/lambda/authorizer/index.ts',
      'package/lambda/metadata/index.ts',
      'package/lambda/mcp/index.ts',
      'package/lambda/shared/urls.ts',
    ]) {
      expect(files).toContain(expected);
    }
    expect(
      files.filter((f) => /\.test\.|\/(test|bench|local|soak|bin|app)\/|\/stage-|mcp-server-stack/.test(f)),
    ).toEqual([]);
  });

  it('exports the construct and McpHandler from the root entry, and what tool authors use from /runtime', async () => {
    expect(await exportedNames(consumer, 'mcp-authkit-apigateway')).toEqual([
      'ALARM_THRESHOLDS',
      'AuthKitMcpServer',
      'AuthKitMcpServerPropsError',
      'McpHandler',
      'ServerMonitoring',
    ]);
    expect(await exportedNames(consumer, 'mcp-authkit-apigateway/runtime')).toEqual([
      'NoCallerError',
      'callerOf',
      'createMcpLambdaHandler',
      'createRoleResolver',
      'defineTool',
      'defineToolWithContext',
      'fixedWorkOSApiKey',
      'toolScopesOf',
      'workosApiKeyFromEnvironment',
    ]);
  });

  it('keeps members marked @internal out of the published type declarations', async () => {
    const { stdout } = await run('tar', ['-xzOf', tarball, '--wildcards', 'package/dist/*.d.ts']);
    expect(stdout).toContain('export declare class McpHandler');
    expect(stdout).not.toContain('@internal');
    expect(stdout).not.toMatch(/McpHandlerSource/);
  });

  it('synthesizes a stack with the three functions, the user entry bundled as the MCP function', () => {
    expect(synthOutput).not.toMatch(/Error/);
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions).toHaveLength(3);
    const mcp = mcpFunctionOf(template);
    const bundle = fs.readFileSync(path.join(consumer, 'cdk.out', assetPathOf(mcp), 'index.js'), 'utf8');
    expect(bundle).toContain('reuse_sum_numbers');
    expect(mcp.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
    });
    // No reservation unless asked, so the first deploy works on an account with a low concurrency quota.
    expect(mcp.Properties).not.toHaveProperty('ReservedConcurrentExecutions');
    expect(mcp.Properties.Environment.Variables).toMatchObject({
      RESPONSE_TRANSFER_MODE: 'STREAM',
      LISTEN_MAX_SECONDS: '240',
      ALLOWED_ORIGINS: '',
    });
    const secrets = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(1);
    expect(mcp.Properties.Environment.Variables.REQUEST_STATE_SECRET_ARN).toEqual({ Ref: secrets[0][0] });
    expect(Object.keys(template.Outputs).sort()).toEqual([
      'McpUrl',
      'ProtectedResourceMetadataUrl',
      'ResourceIndicator',
    ]);
  });

  it('serves the app-defined tool from the bundled function, with the caller identity', async () => {
    const mcp = mcpFunctionOf(template);
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(mcp.Properties.Environment.Variables as Record<string, unknown>)) {
      // Secrets Manager is out of reach here, and this tool needs no requestState key: leave the secret out.
      if (name === 'REQUEST_STATE_SECRET_ARN') continue;
      env[name] = typeof value === 'string' ? value : 'https://abc123.execute-api.us-east-1.amazonaws.com/prod';
    }
    fs.writeFileSync(path.join(consumer, 'invoke.js'), INVOKE);
    const bundle = path.join(consumer, 'cdk.out', assetPathOf(mcp), 'index.js');
    const { stdout, stderr } = await run(process.execPath, ['invoke.js', bundle], {
      cwd: consumer,
      env: {
        PATH: process.env.PATH ?? '',
        ...env,
        RESOURCE,
        AWS_REGION: 'us-east-1',
      },
    });
    const result = JSON.parse(/^RESULT (.*)$/m.exec(stdout)?.[1] ?? 'null') as {
      list: {
        prelude: { statusCode: number; headers: Record<string, string> };
        body: { result: { tools: { name: string }[] } };
      };
      call: {
        prelude: { statusCode: number; headers: Record<string, string> };
        body: { result: { content: { text: string }[] } };
      };
    };
    expect({
      status: result.call.prelude.statusCode,
      log: result.call.prelude.statusCode === 200 ? '' : stderr,
    }).toEqual({
      status: 200,
      log: '',
    });
    expect(result.call.prelude.headers['content-type']).toMatch(/^application\/json/);
    expect(result.list.body.result.tools.map((t) => t.name)).toEqual(['reuse_sum_numbers']);
    expect(result.call.body.result.content[0].text).toBe('42 for user_reuse');
  }, 60_000);
});
