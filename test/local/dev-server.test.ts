/**
 * `npm run dev` as people run it: real npm, tsx and child processes, real signals, real ports.
 * Issue 15 points 9 to 11: a second run must not harm the first, a signal to npm or to the dev
 * process stops every process the run started, a token can be had without a browser, and a
 * function that cannot start fails its request (502, as API Gateway answers a failed Lambda
 * invocation) rather than the local gateway.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client, StreamableHTTPClientTransport, type CallToolResult } from '@modelcontextprotocol/client';
import { DEV_USER } from '../../local/authkit/launch';
import { startLocalStack } from '../../local/stack';
import { defined } from '../../fixtures/defined';

jest.setTimeout(240_000);

const REPO_ROOT = resolve(__dirname, '..', '..');
const RUN_FOLDERS = join(REPO_ROOT, '.local', 'dev');
const run = promisify(execFile);

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

function isListening(port: number): Promise<boolean> {
  return new Promise((resolveOpen) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolveOpen(true);
    });
    socket.once('error', () => resolveOpen(false));
  });
}

/** Every process below `root`, from /proc: the processes a run started, however deep. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(name)]);
    } catch {
      // The process exited while the table was read.
    }
  }
  const found: number[] = [];
  const visit = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      visit(child);
    }
  };
  visit(root);
  return found;
}

/** Alive and not a zombie. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]);
  } catch {
    return false;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 200));
  }
}

interface DevRun {
  readonly npm: ChildProcess;
  readonly port: number;
  readonly authkitPort: number;
  output(): string;
  exited(): Promise<number | null>;
  /** The `node local/dev.ts` process (below npm and tsx's launcher). */
  devPid(): number;
}

function pidOf(child: ChildProcess): number {
  return defined(child.pid, 'the process id of a spawned process');
}

function startDev(env: Record<string, string>): DevRun {
  const npm = spawn('npm', ['run', 'dev'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk;
  };
  defined(npm.stdout, "npm's stdout").on('data', append);
  defined(npm.stderr, "npm's stderr").on('data', append);
  const exit = new Promise<number | null>((resolveExit) => npm.once('exit', (code) => resolveExit(code)));
  return {
    npm,
    port: Number(env.PORT),
    authkitPort: Number(env.AUTHKIT_PORT),
    output: () => output,
    exited: () => exit,
    devPid() {
      // tsx's launcher and the process it starts both name local/dev.ts; the latter is the deeper one.
      const candidates = descendants(pidOf(npm)).filter((pid) => / local\/dev\.ts/.test(commandLine(pid)));
      const dev = candidates.find((pid) => descendants(pid).every((child) => !candidates.includes(child)));
      if (dev === undefined) throw new Error(`no local/dev.ts process below npm ${npm.pid}`);
      return dev;
    },
  };
}

async function startedDev(env: Record<string, string>): Promise<DevRun> {
  const dev = startDev(env);
  let exitCode: number | null | undefined;
  void dev.exited().then((code) => (exitCode = code));
  await waitFor(
    'npm run dev to print its banner',
    () => {
      if (exitCode !== undefined) throw new Error(`npm run dev exited with ${exitCode}:\n${dev.output()}`);
      return dev.output().includes('Ctrl-C stops everything.');
    },
    180_000,
  );
  return dev;
}

async function portsFor(): Promise<Record<string, string>> {
  return { PORT: String(await freePort()), AUTHKIT_PORT: String(await freePort()) };
}

/** Sends `signal` to `pid` and waits until every process of the run is gone and its ports are closed. */
async function stopAndExpectNothingLeft(dev: DevRun, pid: number, signal: NodeJS.Signals): Promise<void> {
  const processes = [pidOf(dev.npm), ...descendants(pidOf(dev.npm))];
  expect(processes.length).toBeGreaterThanOrEqual(4); // npm, tsx, node dev.ts, the stand-in, ...
  process.kill(pid, signal);
  await waitFor(
    `every process of the run to exit (${processes.filter(isRunning).map(commandLine).join(' | ')})`,
    () => processes.every((p) => !isRunning(p)),
    20_000,
  );
  expect(await isListening(dev.port)).toBe(false);
  expect(await isListening(dev.authkitPort)).toBe(false);
}

async function whoami(mcpUrl: string, token: string): Promise<{ sub: string }> {
  const client = new Client({ name: 'dev-server-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(mcpUrl), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  try {
    const result = (await client.callTool({ name: 'whoami', arguments: {} })) as CallToolResult;
    return result.structuredContent as { sub: string };
  } finally {
    await client.close();
  }
}

async function devToken(port: number): Promise<string> {
  const { stdout } = await run(
    join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
    ['local/dev-token.ts', '--port', String(port)],
    { cwd: REPO_ROOT },
  );
  return stdout.trim();
}

describe('npm run dev', () => {
  let first: DevRun;

  beforeAll(async () => {
    first = await startedDev({
      ...(await portsFor()),
      AUTHKIT_ACCESS_TOKEN_TTL_SECONDS: '1234',
      AUTHKIT_TEST_CONTROLS: '1',
    });
  });

  afterAll(async () => {
    if (first?.npm.exitCode === null) first.npm.kill('SIGKILL');
  });

  it("refuses a second run on the same ports naming both and a free pair, before touching the first run's files, and the first keeps cold-starting functions", async () => {
    // Act
    const second = startDev({ PORT: String(first.port), AUTHKIT_PORT: String(first.authkitPort) });
    const code = await second.exited();
    // The metadata function has not run yet: this is its cold start, from the first run's assets.
    const metadata = await fetch(`http://localhost:${first.port}/.well-known/oauth-protected-resource/mcp`);

    // Assess
    expect(code).toBe(2);
    expect(second.output()).toContain(
      `Ports ${first.port} (PORT) and ${first.authkitPort} (AUTHKIT_PORT) are already in use, perhaps by another npm run dev.`,
    );
    const suggested = /e\.g\. PORT=(\d+) AUTHKIT_PORT=(\d+) npm run dev\./.exec(second.output());
    expect(suggested).not.toBeNull();
    const [port, authkitPort] = [Number(suggested?.[1]), Number(suggested?.[2])];
    expect([port, authkitPort]).not.toContain(first.port);
    expect([port, authkitPort]).not.toContain(first.authkitPort);
    expect(await isListening(port)).toBe(false);
    expect(await isListening(authkitPort)).toBe(false);
    expect(second.output()).not.toContain('Synthesizing');
    expect(metadata.status).toBe(200);
  });

  it('runs a second instance on other ports from its own folder; stopping it with SIGINT leaves the first serving', async () => {
    // Prepare
    const second = await startedDev(await portsFor());
    const secondFolder = join(RUN_FOLDERS, String(second.devPid()));
    const firstFolder = join(RUN_FOLDERS, String(first.devPid()));
    const secondMetadata = await fetch(`http://localhost:${second.port}/.well-known/oauth-protected-resource/mcp`);

    // Act
    await stopAndExpectNothingLeft(second, second.devPid(), 'SIGINT');
    // The authorizer and MCP function of the first run start cold only now.
    const identity = await whoami(`http://localhost:${first.port}/mcp`, await devToken(first.port));

    // Assess
    expect(secondMetadata.status).toBe(200);
    expect(existsSync(secondFolder)).toBe(false);
    expect(existsSync(join(firstFolder, 'cdk.out'))).toBe(true);
    expect(identity.sub).toBe(DEV_USER.sub);
  });

  it('gives a dev token without a browser, living AUTHKIT_ACCESS_TOKEN_TTL_SECONDS, and serves the test controls when asked', async () => {
    // Act
    const token = await devToken(first.port);
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as {
      exp: number;
      iat: number;
      aud: string;
    };
    const controls = await fetch(`http://localhost:${first.authkitPort}/__test/jwks-requests`);

    // Assess
    expect(claims.exp - claims.iat).toBe(1234);
    expect(claims.aud).toBe(`http://localhost:${first.port}/mcp`);
    expect(controls.status).toBe(200);
  });

  it('stops every process it started when the npm process gets SIGTERM', async () => {
    // Prepare
    const folder = join(RUN_FOLDERS, String(first.devPid()));

    // Act
    await stopAndExpectNothingLeft(first, pidOf(first.npm), 'SIGTERM');

    // Assess
    expect(existsSync(folder)).toBe(false);
  });

  it('stops every process it started when the npm process gets SIGINT', async () => {
    // Prepare
    const dev = await startedDev(await portsFor());
    const folder = join(RUN_FOLDERS, String(dev.devPid()));

    // Act
    await stopAndExpectNothingLeft(dev, pidOf(dev.npm), 'SIGINT');

    // Assess
    expect(existsSync(folder)).toBe(false);
  });

  it('stops every process it started when the npm process is killed with SIGKILL, which no one can pass on', async () => {
    // Prepare
    const dev = await startedDev(await portsFor());

    // Act and assess: the run notices that npm is gone and stops itself.
    await stopAndExpectNothingLeft(dev, pidOf(dev.npm), 'SIGKILL');
    expect(dev.output()).toContain('npm run dev was stopped (');
  });

  it('stops the synth and everything else when SIGTERM reaches the dev process during its start', async () => {
    // Prepare
    const dev = startDev(await portsFor());
    await waitFor('the synth to start', () => dev.output().includes('Synthesizing'), 60_000);
    await waitFor(
      'the CDK CLI to run',
      () => descendants(pidOf(dev.npm)).some((pid) => commandLine(pid).includes('cdk')),
      30_000,
    );

    // Act and assess
    await stopAndExpectNothingLeft(dev, dev.devPid(), 'SIGTERM');
    expect(dev.output()).toContain('SIGTERM: stopping...');
  });
});

/** Whether the run's synth has written a bundled asset into its run folder. */
function assetWritten(dev: DevRun): boolean {
  let out: string;
  try {
    out = join(RUN_FOLDERS, String(dev.devPid()), 'cdk.out');
  } catch {
    return false; // npm has not started the dev process yet
  }
  return existsSync(out) && readdirSync(out).some((name) => name.startsWith('asset.'));
}

describe('npm run dev stopped again and again', () => {
  // Stopped while the synth writes its assets and once serving, by each signal: the run folder
  // must be gone when the last process of the run has exited, every time. (SIGINT to the dev
  // process once serving, and both signals to npm, are the tests above.)
  it.each<[NodeJS.Signals, string]>([
    ['SIGINT', 'during the synth'],
    ['SIGTERM', 'during the synth'],
    ['SIGINT', 'during the synth'],
    ['SIGTERM', 'once serving'],
  ])('removes its run folder when the dev process gets %s %s', async (signal, moment) => {
    // Prepare
    const dev = moment === 'once serving' ? await startedDev(await portsFor()) : startDev(await portsFor());
    if (moment === 'during the synth') {
      await waitFor('the synth to write its first bundled asset', () => assetWritten(dev), 120_000);
    }
    const devPid = dev.devPid();
    const folder = join(RUN_FOLDERS, String(devPid));
    expect(existsSync(folder)).toBe(true);

    // Act
    await stopAndExpectNothingLeft(dev, devPid, signal);

    // Assess
    expect(existsSync(folder)).toBe(false);
  });
});

describe('a function whose asset vanished while the stack runs', () => {
  it('answers 502 for that request and keeps serving, instead of the gateway crashing', async () => {
    // Prepare: the metadata function's asset folder is deleted before its first (cold) start.
    const stack = await startLocalStack({ port: 0, authkitPort: 0 });
    try {
      const template = JSON.parse(readFileSync(join(stack.cdkOut, 'McpServer-local.template.json'), 'utf8')) as {
        Resources: Record<string, { Type: string; Metadata?: Record<string, string> }>;
      };
      const metadataFunction = Object.entries(template.Resources).find(
        ([id, resource]) => resource.Type === 'AWS::Lambda::Function' && id.includes('Metadata'),
      );
      const assetPath = defined(
        metadataFunction?.[1].Metadata?.['aws:asset:path'],
        "the metadata function's asset path",
      );
      rmSync(join(stack.cdkOut, assetPath), { recursive: true, force: true });

      // Act
      const vanished = await fetch(stack.urls.protectedResourceMetadata);
      const again = await fetch(stack.urls.protectedResourceMetadata);
      const unauthenticated = await fetch(stack.mcpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });

      // Assess
      expect(vanished.status).toBe(502);
      expect(again.status).toBe(502);
      expect(unauthenticated.status).toBe(401);
    } finally {
      await stack.stop();
    }
  });
});

describe('local/dev-token.ts', () => {
  it('refuses to sign in at an authorization server other than the local stand-in, printing no token', async () => {
    // Prepare: an MCP server whose protected-resource metadata names a real AuthKit domain.
    const server = createHttpServer((_req, res) => {
      const port = (server.address() as { port: number }).port;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          resource: `http://127.0.0.1:${port}/mcp`,
          authorization_servers: ['https://acme.authkit.app'],
        }),
      );
    });
    await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
    const mcpUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/mcp`;

    try {
      // Act
      const result = await run(
        join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
        ['local/dev-token.ts', '--mcp-url', mcpUrl],
        { cwd: REPO_ROOT },
      ).then(
        () => ({ code: 0, stdout: 'a token', stderr: '' }),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );

      // Assess
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('https://acme.authkit.app, not the local AuthKit stand-in');
    } finally {
      await new Promise((resolveClose) => server.close(resolveClose));
    }
  });
});
