import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  notScoredIn,
  readVerdicts,
  requiredServerScenarios,
  requirementsOf,
  summarise,
  SUITES,
  summaryLine,
  cliOf,
  TASK_SCENARIOS,
} from './suites';

const suiteOf = (revision: string, extension?: string) => {
  const suite = SUITES.find((each) => each.revision === revision && each.extension === extension);
  if (suite === undefined) throw new Error(`no suite ${revision} ${extension ?? ''}`);
  return suite;
};

describe('conformance verdicts', () => {
  let dir: string;
  const scenario = (name: string, statuses: string[]) => {
    const path = join(dir, `server-${name}-2026-12-01T20-10-29-564Z`);
    mkdirSync(path);
    writeFileSync(
      join(path, 'checks.json'),
      JSON.stringify(statuses.map((status, i) => ({ id: `check-${i}`, status }))),
    );
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'verdicts-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('passes a scenario only when no check failed or warned', () => {
    // Prepare
    scenario('tools-list', ['SUCCESS', 'SUCCESS', 'INFO']);
    scenario('server-sse-polling', ['WARNING', 'INFO']);
    scenario('tools-call-sampling', ['FAILURE']);
    scenario('tasks-status-notifications', []);

    // Act
    const verdicts = readVerdicts(dir);

    // Assess
    expect(verdicts).toEqual([
      { scenario: 'server-sse-polling', passed: false, warnings: 1 },
      { scenario: 'tasks-status-notifications', passed: true, warnings: 0 },
      { scenario: 'tools-call-sampling', passed: false, warnings: 0 },
      { scenario: 'tools-list', passed: true, warnings: 0 },
    ]);
  });

  it('reads the not-scored block a requirement-set run prints', () => {
    const stdout = [
      'Total: 142 passed, 42 failed',
      '',
      'Not scored for 2026-07-28: 2 scenario(s) run, 1 failing. These do not affect conformance.',
      '  ✗ tasks-lifecycle (extension)',
      '  ✓ http-header-validation (pending)',
      'Done',
    ].join('\n');
    expect([...notScoredIn(stdout)]).toEqual(['tasks-lifecycle', 'http-header-validation']);
  });

  it('counts scored scenarios and names expected, unexpected and stale ones', () => {
    const modern = suiteOf('2026-07-28');
    const legacy = suiteOf('2025-11-25');
    const verdicts = [
      { scenario: 'tools-list', passed: true, warnings: 0 },
      { scenario: 'tools-call-sampling', passed: false, warnings: 0 },
      { scenario: 'ping', passed: false, warnings: 0 },
      { scenario: 'server-sse-polling', passed: true, warnings: 0 },
      { scenario: 'tasks-lifecycle', passed: false, warnings: 0 },
    ];
    expect(summaryLine(modern, '0.2.0-alpha.12', summarise(verdicts, new Set(['tasks-lifecycle'])), [], 1)).toBe(
      'Conformance 2026-07-28 (@modelcontextprotocol/conformance 0.2.0-alpha.12): 2/4 scored scenarios passed; UNEXPECTED failure(s): tools-call-sampling, ping; not scored: 0/1 passed; exit code 1',
    );
    expect(
      summaryLine(
        legacy,
        '0.1.16',
        summarise(verdicts.slice(0, 4), new Set()),
        ['tools-call-sampling', 'server-sse-polling'],
        1,
      ),
    ).toBe(
      'Conformance 2025-11-25 (@modelcontextprotocol/conformance 0.1.16): 2/4 scenarios passed; 1 expected failure(s): tools-call-sampling; UNEXPECTED failure(s): ping; listed as expected failures but PASSED (stale): server-sse-polling; exit code 1',
    );
  });

  it('runs the ten tasks-* extension scenarios the installed suite lists, each with --force at 2026-07-28, every one scored', () => {
    const tasks = suiteOf('2026-07-28', 'tasks');
    const listed = spawnSync(process.execPath, [cliOf(tasks), 'list', '--server'], { encoding: 'utf8' }).stdout;
    const installed = [...listed.matchAll(/^\s+-\s+(tasks-\S+)/gm)].map((match) => match[1]).sort();
    expect([...TASK_SCENARIOS].sort()).toEqual(installed);
    expect(TASK_SCENARIOS).toHaveLength(10);
    expect(tasks.scenarios).toBe(TASK_SCENARIOS);
    expect(tasks.args('http://127.0.0.1:1/mcp', '/tmp/out', 'tasks-lifecycle')).toEqual(
      expect.arrayContaining(['--scenario', 'tasks-lifecycle', '--spec-version', '2026-07-28', '--force']),
    );
    expect(summaryLine(tasks, '0.2.0-alpha.12', summarise([], new Set(), TASK_SCENARIOS), [], 1)).toMatch(
      /^Conformance 2026-07-28 tasks .*: 0\/10 scored scenarios passed; UNEXPECTED failure\(s\): tasks-lifecycle/,
    );
  });

  it('counts a required scenario that left no result as failed', () => {
    const summary = summarise([{ scenario: 'tools-list', passed: true, warnings: 0 }], new Set(), [
      'tools-list',
      'caching',
    ]);
    expect(summary.scored).toEqual([
      { scenario: 'tools-list', passed: true, warnings: 0 },
      { scenario: 'caching', passed: false, warnings: 0 },
    ]);
  });

  it('reads the server list of a requirement set', () => {
    const text =
      '# comment\nserver:\n  - server-stateless\n  - caching\n\nclient:\n  - tools_call\nnot_scored:\n  - scenario: tasks-lifecycle\n';
    expect(requiredServerScenarios(text)).toEqual(['server-stateless', 'caching']);
    expect(requirementsOf(SUITES[0])).toHaveLength(37);
  });
});
