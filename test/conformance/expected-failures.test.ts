import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ExpectedFailuresFileError, parseExpectedFailures, readExpectedFailures } from './expected-failures';

const run = promisify(execFile);
const REPO_ROOT = join(__dirname, '..', '..');

describe('conformance baseline (expected-failures.yml)', () => {
  it('gives every entry a reason and names only server scenarios the pinned suite has', async () => {
    // Prepare
    const { stdout } = await run(
      process.execPath,
      [join(REPO_ROOT, 'node_modules', 'conformance-2025', 'dist', 'index.js'), 'list'],
      { cwd: REPO_ROOT },
    );
    const serverSection = stdout.slice(stdout.indexOf('Server scenarios'), stdout.indexOf('Client scenarios'));
    const serverScenarios = [...serverSection.matchAll(/^\s+-\s+(\S+)/gm)].map((match) => match[1]);

    // Act
    const entries = readExpectedFailures(join(__dirname, 'expected-failures.yml'));

    // Assess
    expect(serverScenarios.length).toBeGreaterThan(10);
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) {
      expect(serverScenarios).toContain(entry.scenario);
      expect(entry.reason.length).toBeGreaterThan(20);
    }
  });

  it('reads a reason written over several comment lines', () => {
    const entries = parseExpectedFailures(
      'server:\n  # Needs streaming,\n  # which a buffered integration lacks.\n  - tools-call-with-progress\n',
    );
    expect(entries).toEqual([
      { scenario: 'tools-call-with-progress', reason: 'Needs streaming, which a buffered integration lacks.' },
    ]);
  });

  it.each([
    ['an entry without a reason', 'server:\n  - ping\n', /"ping" has no reason/],
    ['a reason separated from its entry by a blank line', 'server:\n  # why\n\n  - ping\n', /"ping" has no reason/],
    ['an inline comment', 'server:\n  - ping # why\n', /no inline comments/],
    ['a client section', 'client:\n  # why\n  - initialize\n', /only a "server:" list/],
    ['an entry outside any section', '# why\n  - ping\n', /must be listed under "server:"/],
    ['a duplicate entry', 'server:\n  # why\n  - ping\n  # why again\n  - ping\n', /listed twice/],
  ])('refuses %s', (_case, text, message) => {
    expect(() => parseExpectedFailures(text)).toThrow(ExpectedFailuresFileError);
    expect(() => parseExpectedFailures(text)).toThrow(message);
  });
});
