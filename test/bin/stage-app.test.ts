/**
 * `cdk synth` without `-c stage=NAME` must say which stage it synthesized, so that a synth or a
 * deploy never targets the default stage silently. The app runs as the CDK CLI runs it: a process
 * given the context (cdk.json's, plus the command line's) in CDK_CONTEXT_JSON and an output folder.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO_ROOT = resolve(__dirname, '..', '..');
const CDK_JSON_CONTEXT = (
  JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
).context;

async function synthesizeApp(extraContext: Record<string, unknown>): Promise<{ stderr: string }> {
  const outdir = mkdtempSync(join(tmpdir(), 'stage-app-'));
  try {
    // Bundling skipped: what is under test is the stage selection, not the functions.
    const context = { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...extraContext };
    return await run(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), ['bin/app.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir },
      maxBuffer: 16 * 1024 * 1024,
    });
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe('bin/app.ts stage selection', () => {
  it('says which stage it used when no stage was given', async () => {
    // Act
    const { stderr } = await synthesizeApp({});

    // Assess
    expect(stderr).toContain(
      `No -c stage=NAME given: using stage "${String(CDK_JSON_CONTEXT.defaultStage)}" (defaultStage in cdk.json).`,
    );
  }, 120_000);

  it('says nothing about the default when a stage was given', async () => {
    // Act
    const { stderr } = await synthesizeApp({ stage: 'prod' });

    // Assess
    expect(stderr).not.toContain('No -c stage=NAME given');
  }, 120_000);
});
