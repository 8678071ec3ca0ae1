/**
 * The two conformance suites `npm run test:conformance` runs, and how to read their verdicts.
 *
 * - 2026-07-28: `@modelcontextprotocol/conformance` 0.2.x with `--requirements 2026-07-28`, exactly
 *   the scenarios that revision requires (scored), plus extensions and pending scenarios it runs for
 *   visibility (not scored, never fail the run).
 * - 2025-11-25: the latest 0.1.x release, installed under the npm alias `conformance-2025`, every
 *   server scenario (suite "all"), with the baseline of expected failures in expected-failures.yml.
 *
 * The pass counts come from the checks.json file each suite writes per scenario: a scenario passes
 * when none of its checks failed or warned, which is how an expected-failures baseline judges it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const REPO_ROOT = resolve(__dirname, '..', '..');

export type Revision = '2026-07-28' | '2025-11-25';

export interface ConformanceSuite {
  readonly revision: Revision;
  /** An extension suite: its name (its results and its summary line are kept apart from the revision's own). */
  readonly extension?: string;
  /**
   * The scenarios it runs, one CLI run each, every one scored: extension scenarios are not in a
   * revision's requirement set, so they are named here and run with `--force`.
   */
  readonly scenarios?: readonly string[];
  /** The installed package (its package.json names the version that runs). */
  readonly packageDir: string;
  /** The baseline of scenarios expected to fail, when the suite has one. */
  readonly expectedFailures?: string;
  /** The CLI arguments: every scenario the suite scores, or the one scenario asked for. */
  args(url: string, outputDir: string, scenario?: string): string[];
}

/**
 * The tasks extension's scenarios (`io.modelcontextprotocol/tasks`, SEP-2663) in 0.2.0-alpha.12
 * (`conformance list --server`). `tasks-status-notifications` is skipped by the suite itself
 * (pending its subscriptions/listen rewrite), so it passes with no check.
 */
export const TASK_SCENARIOS = [
  'tasks-lifecycle',
  'tasks-capability-negotiation',
  'tasks-wire-fields',
  'tasks-request-state-removal',
  'tasks-mrtr-input',
  'tasks-request-headers',
  'tasks-dispatch-and-envelope',
  'tasks-status-notifications',
  'tasks-required-task-error',
  'tasks-mrtr-composition',
] as const;

export const SUITES: readonly ConformanceSuite[] = [
  {
    revision: '2026-07-28',
    packageDir: join(REPO_ROOT, 'node_modules', '@modelcontextprotocol', 'conformance'),
    expectedFailures: optionalFile(join(__dirname, 'expected-failures-2026-07-28.yml')),
    args: (url, outputDir, scenario) => [
      'server',
      '--url',
      url,
      '--output-dir',
      outputDir,
      // --requirements fixes the scenario list itself, so one scenario runs at the revision's wire instead.
      ...(scenario ? ['--scenario', scenario, '--spec-version', '2026-07-28'] : ['--requirements', '2026-07-28']),
    ],
  },
  {
    revision: '2026-07-28',
    extension: 'tasks',
    packageDir: join(REPO_ROOT, 'node_modules', '@modelcontextprotocol', 'conformance'),
    scenarios: TASK_SCENARIOS,
    // Extension scenarios are outside the revision's own list: --force runs them at its wire.
    args: (url, outputDir, scenario) => [
      'server',
      '--url',
      url,
      '--output-dir',
      outputDir,
      '--scenario',
      scenario ?? TASK_SCENARIOS[0],
      '--spec-version',
      '2026-07-28',
      '--force',
    ],
  },
  {
    revision: '2025-11-25',
    packageDir: join(REPO_ROOT, 'node_modules', 'conformance-2025'),
    expectedFailures: join(__dirname, 'expected-failures.yml'),
    // "all" adds the suite's pending scenarios to the active ones.
    args: (url, outputDir, scenario) => [
      'server',
      '--url',
      url,
      '--output-dir',
      outputDir,
      ...(scenario ? ['--scenario', scenario] : ['--suite', 'all']),
    ],
  },
];

function optionalFile(path: string): string | undefined {
  return existsSync(path) ? path : undefined;
}

/** The suite's name in arguments, folders and the summary: `2026-07-28`, `2026-07-28 tasks`. */
export function nameOf(suite: ConformanceSuite): string {
  return suite.extension === undefined ? suite.revision : `${suite.revision} ${suite.extension}`;
}

export function cliOf(suite: ConformanceSuite): string {
  return join(suite.packageDir, 'dist', 'index.js');
}

export function versionOf(suite: ConformanceSuite): string {
  return (JSON.parse(readFileSync(join(suite.packageDir, 'package.json'), 'utf8')) as { version: string }).version;
}

export interface ScenarioVerdict {
  readonly scenario: string;
  /** No check failed and none warned (a warning fails a scenario in an expected-failures baseline). */
  readonly passed: boolean;
  readonly warnings: number;
}

export interface SuiteSummary {
  /** Scenarios whose verdict counts (for a requirement set, the required ones). */
  readonly scored: readonly ScenarioVerdict[];
  /** Scenarios run for visibility only (a requirement set's extensions and pending scenarios). */
  readonly notScored: readonly ScenarioVerdict[];
}

interface Check {
  readonly status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO';
}

// <output-dir>/server-<scenario>-<ISO time with - for :>/checks.json, one directory per scenario run.
const RESULT_DIR = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;
const NOT_SCORED_HEADER = /^Not scored for \S+:/;
const NOT_SCORED_ENTRY = /^\s+[✓✗] (\S+) \(/;

/** The verdict of every scenario a suite wrote to `outputDir`, from its own checks.json files. */
export function readVerdicts(outputDir: string): ScenarioVerdict[] {
  return readdirSync(outputDir)
    .map((entry) => ({ entry, match: RESULT_DIR.exec(entry) }))
    .filter(({ entry, match }) => match !== null && existsSync(join(outputDir, entry, 'checks.json')))
    .map(({ entry, match }) => {
      const checks = JSON.parse(readFileSync(join(outputDir, entry, 'checks.json'), 'utf8')) as Check[];
      const warnings = checks.filter((check) => check.status === 'WARNING').length;
      return {
        scenario: (match as RegExpExecArray)[1],
        passed: warnings === 0 && !checks.some((check) => check.status === 'FAILURE'),
        warnings,
      };
    })
    .sort((a, b) => a.scenario.localeCompare(b.scenario));
}

/** The scenarios a requirement-set run reported as not scored (`Not scored for <revision>: …` block). */
export function notScoredIn(stdout: string): Set<string> {
  const names = new Set<string>();
  let inBlock = false;
  for (const line of stdout.split(/\r?\n/)) {
    if (NOT_SCORED_HEADER.test(line)) {
      inBlock = true;
      continue;
    }
    const entry = inBlock ? NOT_SCORED_ENTRY.exec(line) : null;
    if (entry) names.add(entry[1]);
    else inBlock = false;
  }
  return names;
}

/**
 * The server scenarios a requirement set names (`server:` list of the package's
 * requirements/<revision>.yaml), so a required scenario that left no result counts as failed.
 */
export function requiredServerScenarios(text: string): string[] {
  const section = /^server:\s*$([\s\S]*?)(?=^\S)/m.exec(text);
  return section ? [...section[1].matchAll(/^\s+-\s+(\S+)\s*$/gm)].map((match) => match[1]) : [];
}

export function requirementsOf(suite: ConformanceSuite): string[] {
  const path = join(suite.packageDir, 'requirements', `${suite.revision}.yaml`);
  return existsSync(path) ? requiredServerScenarios(readFileSync(path, 'utf8')) : [];
}

export function summarise(
  verdicts: readonly ScenarioVerdict[],
  notScored: ReadonlySet<string>,
  required: readonly string[] = [],
): SuiteSummary {
  const ran = new Set(verdicts.map((v) => v.scenario));
  const missing = required
    .filter((scenario) => !ran.has(scenario))
    .map((scenario) => ({ scenario, passed: false, warnings: 0 }));
  return {
    scored: [...verdicts.filter((v) => !notScored.has(v.scenario)), ...missing],
    notScored: verdicts.filter((v) => notScored.has(v.scenario)),
  };
}

/** One line a person (and CI) reads: `2026-07-28 … 37/37 scored scenarios passed …`. */
export function summaryLine(
  suite: ConformanceSuite,
  version: string,
  summary: SuiteSummary,
  expectedFailures: readonly string[],
  exitCode: number,
): string {
  const passed = summary.scored.filter((v) => v.passed).length;
  const failed = summary.scored.filter((v) => !v.passed).map((v) => v.scenario);
  const expected = failed.filter((scenario) => expectedFailures.includes(scenario));
  const unexpected = failed.filter((scenario) => !expectedFailures.includes(scenario));
  const parts = [
    `Conformance ${nameOf(suite)} (@modelcontextprotocol/conformance ${version}): ${passed}/${summary.scored.length} ${suite.revision === '2026-07-28' ? 'scored ' : ''}scenarios passed`,
  ];
  if (expected.length > 0) parts.push(`${expected.length} expected failure(s): ${expected.join(', ')}`);
  if (unexpected.length > 0) parts.push(`UNEXPECTED failure(s): ${unexpected.join(', ')}`);
  const stale = summary.scored.filter((v) => v.passed && expectedFailures.includes(v.scenario)).map((v) => v.scenario);
  if (stale.length > 0) parts.push(`listed as expected failures but PASSED (stale): ${stale.join(', ')}`);
  if (summary.notScored.length > 0)
    parts.push(`not scored: ${summary.notScored.filter((v) => v.passed).length}/${summary.notScored.length} passed`);
  parts.push(`exit code ${exitCode}`);
  return parts.join('; ');
}
