/**
 * The README's "Try it on 2026-07-28" snippets, taken from README.md as written and run against one
 * local stack: the SDK v2 client code is type-checked, then called with the headless OAuth client
 * as its `authProvider` (the harness plays the browser and hands back the redirect's query), and
 * the curl command is run with the stage's URL and a token from that sign-in.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import * as ts from 'typescript';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { HeadlessOAuthClient } from './headless-oauth-client';

jest.setTimeout(180_000);

const REPO_ROOT = resolve(__dirname, '..', '..');
const HEADING = '## Try it on 2026-07-28';

/** The section's fenced blocks of one language, in order. */
function sectionBlocks(language: 'ts' | 'sh'): string[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(HEADING);
  if (start < 0) throw new Error(`README: "${HEADING}" not found`);
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  return [...section.matchAll(new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((match) => match[1]);
}

/** Type errors of a file compiled as a user's ESM project would (strict, Node 16+ resolution). */
function typeErrors(file: string): string[] {
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    types: ['node'],
  });
  return ts
    .getPreEmitDiagnostics(program)
    .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
}

interface TryItResult {
  version?: string;
  progress: number[];
  logLines: unknown[];
  longTask: { isError?: boolean; content: { type: string; text?: string }[] };
  confirmed: { structuredContent?: unknown };
  honored: Record<string, unknown>;
}

describe("the README's first hour on 2026-07-28, against the local stack", () => {
  let stack: LocalStack;
  const work = join(REPO_ROOT, '.local', `readme-try-it-${process.pid}`);
  const oauth = new HeadlessOAuthClient();

  beforeAll(async () => {
    mkdirSync(work, { recursive: true });
    stack = await startLocalStack({ port: 0, authkitPort: 0, autoApprove: true });
  });

  afterAll(async () => {
    await stack?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('user copies the SDK v2 snippet: it compiles, signs in, negotiates 2026-07-28, streams, confirms and listens', async () => {
    // Prepare: the snippet as written, in an .mts file of this repository (so its packages resolve).
    const [snippet] = sectionBlocks('ts');
    const file = join(work, 'try-it.mts');
    writeFileSync(file, snippet);
    expect(typeErrors(file)).toEqual([]);
    const tsFile = join(work, 'try-it.ts');
    writeFileSync(tsFile, snippet);
    const { tryIt } = (await import(tsFile)) as {
      tryIt: (
        url: URL,
        provider: HeadlessOAuthClient,
        redirected: () => Promise<URLSearchParams>,
      ) => Promise<TryItResult>;
    };

    // Act: the harness's provider plays the browser; `redirected` hands back the redirect's query.
    const result = await tryIt(new URL(stack.mcpUrl), oauth, async () => {
      if (!oauth.callbackUrl) throw new Error('the sign-in did not reach the redirect URI');
      return oauth.callbackUrl.searchParams;
    });

    // Assess
    expect(oauth.callbackUrl?.searchParams.get('iss')).toBe(stack.issuer);
    expect(result.version).toBe('2026-07-28');
    expect(result.progress).toHaveLength(2);
    expect(result.logLines.length).toBeGreaterThan(0);
    expect(result.longTask.isError).toBeFalsy();
    expect(result.longTask.content[0]?.text).toMatch(/^Finished 2 step\(s\) in 2\.\d s\.$/);
    expect(result.confirmed.structuredContent).toEqual({ question: 'Ship it?', answer: 'yes' });
    expect(result.honored).toMatchObject({ toolsListChanged: true });
  });

  it('user runs the curl long_task: the answer streams progress, then the result', async () => {
    // Prepare: the command as written, pointed at this stack, with the token of the sign-in above (or a new one).
    const curl = sectionBlocks('sh').find((block) => block.startsWith('curl '));
    if (!curl) throw new Error('README: no curl block in the section');
    const token = oauth.tokens()?.access_token;
    expect(token).toEqual(expect.any(String));
    const command = curl.replaceAll('http://localhost:8787/mcp', stack.mcpUrl);

    // Act
    const { stdout } = await promisify(execFile)('bash', ['-c', command], {
      env: { ...process.env, TOKEN: String(token) },
      timeout: 60_000,
    });

    // Assess
    const messages = stdout
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map(
        (line) =>
          JSON.parse(line.slice(5)) as { method?: string; id?: number; result?: { content: { text: string }[] } },
      );
    const progress = messages.filter((message) => message.method === 'notifications/progress');
    expect(progress).toHaveLength(2);
    const last = messages.at(-1);
    expect(last?.id).toBe(1);
    expect(last?.result?.content[0].text).toMatch(/^Finished 2 step\(s\) in 2\.\d s\.$/);
  });
});
