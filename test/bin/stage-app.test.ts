/**
 * `cdk synth` without `-c stage=NAME` must say which stage it synthesized, so that a synth or a
 * deploy never targets the default stage silently. The app runs as the CDK CLI runs it: a process
 * given the context (cdk.json's, plus the command line's) in CDK_CONTEXT_JSON and an output folder.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO_ROOT = resolve(__dirname, '..', '..');
const CDK_JSON_CONTEXT = (
  JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
).context;

interface Synth {
  readonly stderr: string;
  readonly exitCode: number;
  /** The synthesized template of the stage's stack; undefined when the app refused the stage. */
  readonly template?: { Rules?: Record<string, { Assertions: { Assert: unknown; AssertDescription: string }[] }> };
}

async function synthesizeApp(extraContext: Record<string, unknown>): Promise<Synth> {
  const outdir = mkdtempSync(join(tmpdir(), 'stage-app-'));
  try {
    // Bundling skipped: what is under test is the stage selection, not the functions.
    const context = { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...extraContext };
    const { stderr, exitCode } = await run(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), ['bin/app.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir },
      maxBuffer: 16 * 1024 * 1024,
    }).then(
      ({ stderr }) => ({ stderr, exitCode: 0 }),
      (error: { stderr: string; code: number }) => ({ stderr: error.stderr, exitCode: error.code }),
    );
    const templateFile = readdirSync(outdir).find((file) => file.endsWith('.template.json'));
    const template =
      templateFile === undefined ? undefined : JSON.parse(readFileSync(join(outdir, templateFile), 'utf8'));
    return { stderr, exitCode, template };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

// Each synth takes a while: the no-stage and prod ones are shared by the tests that read them.
const synthsOnce = new Map<string, Promise<Synth>>();
const synthesizeOnce = (context: Record<string, unknown>): Promise<Synth> => {
  const key = JSON.stringify(context);
  if (!synthsOnce.has(key)) synthsOnce.set(key, synthesizeApp(context));
  return synthsOnce.get(key) as Promise<Synth>;
};

describe('bin/app.ts stage selection', () => {
  it('says which stage it used when no stage was given', async () => {
    // Act
    const { stderr } = await synthesizeOnce({});

    // Assess
    expect(stderr).toContain(
      `No -c stage=NAME given: using stage "${String(CDK_JSON_CONTEXT.defaultStage)}" (defaultStage in cdk.json).`,
    );
  }, 120_000);

  it('says nothing about the default when a stage was given', async () => {
    // Act
    const { stderr } = await synthesizeOnce({ stage: 'prod' });

    // Assess
    expect(stderr).not.toContain('No -c stage=NAME given');
  }, 120_000);
});

describe('cdk synth of a stage that still holds the shipped example values', () => {
  it('warns on synth and puts a rule in the template that CloudFormation refuses to deploy, naming the field and the fix', async () => {
    // Act: `npx cdk synth` with no stage, as a new user runs it.
    const { stderr, exitCode, template } = await synthesizeOnce({});

    // Assess
    const sentence =
      'Stage "dev": field "authkitDomain" is still the example value "acme-dev.authkit.app" and cannot be deployed. ' +
      'Set it to your AuthKit domain from the WorkOS dashboard (Connect → Configuration) in cdk.json (context.stages.dev.authkitDomain), or pass -c authkitDomain=....';
    expect(exitCode).toBe(0);
    expect(stderr).toContain('WARNING: stage "dev" still holds example values from cdk.json.');
    expect(stderr).toContain(sentence);
    expect(template?.Rules?.StagePlaceholders.Assertions).toEqual([
      {
        Assert: { 'Fn::Not': [{ 'Fn::Equals': ['acme-dev.authkit.app', 'acme-dev.authkit.app'] }] },
        AssertDescription: sentence,
      },
    ]);
  }, 120_000);

  it('names every example value of the shipped prod stage', async () => {
    // Act
    const { stderr, template } = await synthesizeOnce({ stage: 'prod' });

    // Assess
    const fields = (template?.Rules?.StagePlaceholders.Assertions ?? []).map(
      ({ AssertDescription }) => /field "([^"]+)"/.exec(AssertDescription)?.[1],
    );
    expect(fields).toEqual([
      'account',
      'authkitDomain',
      'resourceDocumentation',
      'customDomain.domainName',
      'customDomain.certificateArn',
      'customDomain.hostedZoneId',
      'customDomain.hostedZoneName',
    ]);
    expect(stderr).toContain('field "customDomain.certificateArn" is still the example value');
    expect(stderr).toContain('(context.stages.prod.customDomain.certificateArn)');
  }, 120_000);

  it('synthesizes a filled-in stage without a warning or a rule', async () => {
    // Act
    const { stderr, exitCode, template } = await synthesizeApp({ stage: 'dev', authkitDomain: 'mycorp.authkit.app' });

    // Assess
    expect(exitCode).toBe(0);
    expect(stderr).not.toContain('example value');
    expect(template?.Rules?.StagePlaceholders).toBeUndefined();
  }, 120_000);
});

describe('cdk synth of a stage with a mistake', () => {
  it('suggests the field a misspelt stage field stands for', async () => {
    // Prepare
    const stages = CDK_JSON_CONTEXT.stages as Record<string, Record<string, unknown>>;
    const dev = { ...stages.dev, authorizerCacheTtlSecond: 30 };

    // Act
    const { stderr, exitCode } = await synthesizeApp({ stage: 'dev', stages: { ...stages, dev } });

    // Assess
    expect(exitCode).toBe(1);
    expect(stderr).toContain(
      'Stage "dev": field "authorizerCacheTtlSecond" is not a known setting (in context.stages.dev in cdk.json). Did you mean "authorizerCacheTtlSeconds"?',
    );
  }, 120_000);

  it('says a bad value came from -c on the command line', async () => {
    // Act: `npx cdk synth -c stage=dev -c authorizerCacheTtlSeconds=abc`
    const { stderr, exitCode } = await synthesizeApp({ stage: 'dev', authorizerCacheTtlSeconds: 'abc' });

    // Assess
    expect(exitCode).toBe(1);
    expect(stderr).toContain(
      'Stage "dev": -c authorizerCacheTtlSeconds=abc (from the command line): field "authorizerCacheTtlSeconds" must be a whole number of seconds',
    );
  }, 120_000);
});
