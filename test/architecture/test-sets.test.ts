/**
 * `npm run test:unit` runs the unit set of test/test-sets.js; `npm test` runs every file. A test
 * file in neither set, or in both, or a listed file that no longer exists, fails here, so the fast
 * subset cannot drift from the suite without someone deciding it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface TestSets {
  readonly UNIT_FOLDERS: readonly string[];
  readonly UNIT_FILES: readonly string[];
  readonly SLOW_FOLDERS: readonly string[];
  readonly SLOW_FILES: Readonly<Record<string, string>>;
}

const ROOT = path.resolve(__dirname, '..', '..');
const SETS = require(path.join(ROOT, 'test', 'test-sets.js')) as TestSets;

function testFiles(directory: string): string[] {
  return fs.readdirSync(path.join(ROOT, directory), { withFileTypes: true }).flatMap((entry) => {
    const relative = `${directory}/${entry.name}`;
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : testFiles(relative);
    return entry.name.endsWith('.test.ts') ? [relative] : [];
  });
}

const under = (folders: readonly string[], file: string): boolean =>
  folders.some((folder) => file.startsWith(`${folder}/`));

function setsOf(file: string): string[] {
  return [
    ...(under(SETS.UNIT_FOLDERS, file) || SETS.UNIT_FILES.includes(file) ? ['unit'] : []),
    ...(under(SETS.SLOW_FOLDERS, file) || file in SETS.SLOW_FILES ? ['slow'] : []),
  ];
}

describe('test sets (npm run test:unit and npm test)', () => {
  const files = testFiles('test');

  it('files every test file in exactly one of the unit and slow sets', () => {
    // Act
    const misfiled = files
      .map((file) => ({ file, sets: setsOf(file) }))
      .filter(({ sets }) => sets.length !== 1)
      .map(({ file, sets }) => `${file}: ${sets.length === 0 ? 'in no set' : 'in both sets'}`);

    // Assess: add a new file to UNIT_FILES or SLOW_FILES (with its reason) in test/test-sets.js.
    expect(misfiled).toEqual([]);
  });

  it('names only files and folders that exist', () => {
    // Act
    const listed = [...SETS.UNIT_FOLDERS, ...SETS.UNIT_FILES, ...SETS.SLOW_FOLDERS, ...Object.keys(SETS.SLOW_FILES)];
    const missing = listed.filter((entry) => !fs.existsSync(path.join(ROOT, entry)));

    // Assess
    expect(missing).toEqual([]);
  });

  it('leaves no unit test inside a slow folder', () => {
    // Act
    const nested = [...SETS.UNIT_FOLDERS, ...SETS.UNIT_FILES].filter((entry) => under(SETS.SLOW_FOLDERS, entry));

    // Assess
    expect(nested).toEqual([]);
  });
});
