/**
 * Runs the real `verify` command (cli/main.ts under tsx, as `npm run verify` does) in a child
 * process and gives back its exit code and output, plus the JSON report when --json was asked for.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import type { CheckResult, VerifyReport } from '../../../cli/verify/report';

const REPO_ROOT = resolve(__dirname, '..', '..', '..');
const ENTRY = join(REPO_ROOT, 'cli', 'main.ts');
/** tsx's loader by path, so the command also runs from a working directory outside the repository. */
const TSX_LOADER = pathToFileURL(join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

export interface VerifyRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface VerifyRunOptions {
  /** Extra environment (MCP_ACCESS_TOKEN, say); the parent's is inherited without it. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Called with each stderr line as it arrives (the sign-in URL of --login). */
  readonly onStderrLine?: (line: string) => void;
}

export function runVerifyCli(args: readonly string[], options: VerifyRunOptions = {}): Promise<VerifyRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  if (!options.env?.MCP_ACCESS_TOKEN) delete env.MCP_ACCESS_TOKEN;
  const child = spawn(process.execPath, ['--import', TSX_LOADER, ENTRY, 'verify', ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr += `${line}\n`;
    options.onStderrLine?.(line);
  });
  return new Promise((resolvePromise, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** The --json report of a run, or a failure that shows what was printed instead. */
export function reportOf(
  run: VerifyRun,
): VerifyReport & { counts: { passed: number; failed: number; skipped: number } } {
  try {
    return JSON.parse(run.stdout) as VerifyReport & { counts: { passed: number; failed: number; skipped: number } };
  } catch {
    throw new Error(
      `verify printed no JSON report (exit ${run.code}).\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`,
    );
  }
}

/** The result of one check by id; fails the test when the report has none. */
export function checkOf(report: VerifyReport, id: string): CheckResult {
  const found = report.checks.find((check) => check.id === id);
  if (!found)
    throw new Error(`The report has no check ${id}; it has ${report.checks.map((check) => check.id).join(', ')}`);
  return found;
}

/** The ids of the checks that failed. */
export const failedIds = (report: VerifyReport) =>
  report.checks.filter((check) => check.status === 'fail').map((check) => check.id);

/**
 * Writes the file `cdk deploy --outputs-file` writes for a stack: `{ <stack>: { <output>: value } }`,
 * with the values of the synthesized template's Outputs (literal for the local stage).
 */
export function writeOutputsFile(file: string, cdkOut: string, stackName: string): void {
  const template = JSON.parse(readFileSync(join(cdkOut, `${stackName}.template.json`), 'utf8')) as {
    Outputs: Record<string, { Value: unknown }>;
  };
  const outputs = Object.fromEntries(
    Object.entries(template.Outputs).map(([key, output]) => {
      if (typeof output.Value !== 'string')
        throw new Error(`Output ${key} is not a literal in the synthesized template: ${JSON.stringify(output.Value)}`);
      return [key, output.Value];
    }),
  );
  writeFileSync(file, JSON.stringify({ [stackName]: outputs }, null, 2));
}
