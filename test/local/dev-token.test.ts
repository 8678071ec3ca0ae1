/**
 * `npx tsx local/dev-token.ts` as a user runs it: asked for help, and pointed at a port where no
 * `npm run dev` serves its API (nothing at all, the AuthKit stand-in, or another HTTP server).
 */
import { execFile } from 'node:child_process';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startAuthKitStandIn } from '../../local/authkit/launch';

jest.setTimeout(60_000);

const REPO_ROOT = resolve(__dirname, '..', '..');
const execFileAsync = promisify(execFile);

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function devToken(...args: string[]): Promise<Run> {
  return execFileAsync(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), ['local/dev-token.ts', ...args], {
    cwd: REPO_ROOT,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: Run) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

/** A port nothing listens on: one the system just handed out and took back. */
function closedPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

const portOf = (server: Server): number => (server.address() as { port: number }).port;

describe('local/dev-token.ts', () => {
  it.each(['--help', '-h'])('prints its usage for %s, without a stack trace', async (flag) => {
    // Act
    const run = await devToken(flag);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: npx tsx local\/dev-token\.ts \[--port PORT \| --mcp-url URL\]/);
    expect(run.stdout).toContain('--port PORT');
    expect(run.stderr).toBe('');
  });

  it('refuses an unknown option with the usage, without a stack trace', async () => {
    // Act
    const run = await devToken('--prot', '8787');

    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^dev-token: Unknown option '--prot'/);
    expect(run.stderr).toContain('Usage: npx tsx local/dev-token.ts');
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it('says nothing is listening on a port where nothing is', async () => {
    // Prepare
    const port = await closedPort();

    // Act
    const run = await devToken('--port', String(port));

    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `dev-token: Nothing is listening on localhost:${port}: no npm run dev serves its API there. Start it with npm run dev, or pass --port or --mcp-url.\n`,
    );
  });

  it('says the port is the AuthKit stand-in when given AUTHKIT_PORT instead of PORT', async () => {
    // Prepare
    const standIn = await startAuthKitStandIn({ port: 0 });
    const port = new URL(standIn.issuer).port;

    try {
      // Act
      const run = await devToken('--port', port);

      // Assess
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain(
        `localhost:${port} is the local AuthKit stand-in (AUTHKIT_PORT), not the MCP server: pass the port npm run dev serves the API on (PORT).`,
      );
    } finally {
      await standIn.stop();
    }
  });

  it('says another HTTP server answered on a port that is not an npm run dev', async () => {
    // Prepare: a web server of something else, answering 404 to what it does not serve.
    const server = createHttpServer((_request, response) => {
      response.writeHead(404, { server: 'some-other-app/1.0', 'content-type': 'text/plain' });
      response.end('not found');
    });
    await new Promise<void>((resolveListen) => server.listen(0, 'localhost', resolveListen));

    try {
      // Act
      const run = await devToken('--port', String(portOf(server)));

      // Assess
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain(
        `dev-token: An HTTP server answered on localhost:${portOf(server)} (some-other-app/1.0), but it is not an MCP server of npm run dev:`,
      );
    } finally {
      await new Promise((resolveClose) => server.close(resolveClose));
    }
  });
});
