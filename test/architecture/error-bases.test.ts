import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { AuthorizerError, InvalidTokenError } from '../../lambda/authorizer/errors';
import { MetadataConfigError, MetadataError } from '../../lambda/metadata/errors';
import { McpRuntimeError, NoCallerError } from '../../lambda/runtime/errors';
import { ContractError } from '../../lambda/shared/errors';
import { SettingValueError } from '../../lambda/shared/settings/setting';
import { ConstructError } from '../../lib/errors';
import { AuthKitMcpServerPropsError } from '../../lib/server-settings';
import { LocalError } from '../../local/errors';
import { GatewayStartError, UnsupportedFeatureError } from '../../local/gateway/errors';
import { UsageError } from '../../cli/verify/args';
import { VerifyError } from '../../cli/verify/errors';

// Each room has one error base; every other error class of the room extends it (or another error of
// the room). Outside lambda/ the base names an error after its class. The functions are minified
// bundles, which rename classes, so an error there states its name in one field, which must be its
// class's name.
const ROOT = path.resolve(__dirname, '..', '..');
const ROOM_BASES: ReadonlyArray<{ room: string; file: string; base: string }> = [
  { room: 'lambda/shared', file: 'lambda/shared/errors.ts', base: 'ContractError' },
  { room: 'lambda/authorizer', file: 'lambda/authorizer/errors.ts', base: 'AuthorizerError' },
  { room: 'lambda/metadata', file: 'lambda/metadata/errors.ts', base: 'MetadataError' },
  { room: 'lambda/runtime', file: 'lambda/runtime/errors.ts', base: 'McpRuntimeError' },
  { room: 'lib', file: 'lib/errors.ts', base: 'ConstructError' },
  { room: 'app', file: 'lib/errors.ts', base: 'ConstructError' },
  { room: 'local', file: 'local/errors.ts', base: 'LocalError' },
  { room: 'cli', file: 'cli/verify/errors.ts', base: 'VerifyError' },
];
const SKIPPED_DIRECTORIES = new Set(['node_modules', 'cdk.out', 'dist', '.local']);

function sourceFiles(directory: string): string[] {
  if (!fs.existsSync(directory)) return [];
  return fs.readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) return SKIPPED_DIRECTORIES.has(entry.name) ? [] : sourceFiles(full);
    return /\.m?ts$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

interface ErrorClass {
  readonly file: string;
  readonly name: string;
  readonly extends: string;
}

/** Every class whose `extends` clause names something ending in `Error`, with what it extends. */
function errorClassesIn(file: string): ErrorClass[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: ErrorClass[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isClassDeclaration(node) && node.name) {
      const heritage = node.heritageClauses?.find((clause) => clause.token === ts.SyntaxKind.ExtendsKeyword);
      const parent = heritage?.types[0]?.expression.getText(source);
      if (parent === 'Error' || parent?.endsWith('Error')) {
        found.push({ file: path.relative(ROOT, file), name: node.name.text, extends: parent });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('one error base per room', () => {
  const classes = ROOM_BASES.flatMap(({ room }) => sourceFiles(path.join(ROOT, room)).flatMap(errorClassesIn));

  it('finds the error classes of every room', () => {
    const rooms = new Set(classes.map((c) => ROOM_BASES.find((r) => c.file.startsWith(`${r.room}/`))?.room));
    for (const room of [
      'lambda/shared',
      'lambda/authorizer',
      'lambda/metadata',
      'lambda/runtime',
      'lib',
      'app',
      'local',
      'cli',
    ]) {
      expect(rooms).toContain(room);
    }
  });

  it('extends Error only in the room bases', () => {
    const direct = classes.filter((c) => c.extends === 'Error').map((c) => `${c.file}: ${c.name}`);
    const bases = [...new Set(ROOM_BASES.map((r) => `${r.file}: ${r.base}`))];
    expect(direct.sort()).toEqual(bases.sort());
  });

  it('states, in lambda/, each concrete error’s name as its class name', () => {
    const files = sourceFiles(path.join(ROOT, 'lambda'));
    const wrong = files.flatMap((file) => {
      const text = fs.readFileSync(file, 'utf8');
      return errorClassesIn(file)
        .filter((c) => c.extends !== 'Error' && !new RegExp(`abstract class ${c.name}\\b`).test(text))
        .filter(
          (c) => !new RegExp(`class ${c.name} extends \\w+ \\{\\n  override readonly name = '${c.name}';`).test(text),
        )
        .map((c) => `${c.file}: ${c.name}`);
    });
    expect(files.length).toBeGreaterThan(0);
    expect(wrong).toEqual([]);
  });

  it('names no error class by hand in its constructor, apart from Lambda runtime error names', () => {
    const named = ROOM_BASES.flatMap(({ room }) => sourceFiles(path.join(ROOT, room)))
      .filter((file) => /this\.name = '(?!Runtime\.)/.test(fs.readFileSync(file, 'utf8')))
      .map((file) => path.relative(ROOT, file));
    expect(named).toEqual([]);
  });

  it('gives each error its class name and keeps it an instance of its room base', () => {
    const cases: ReadonlyArray<[Error, string, abstract new (...args: never[]) => Error]> = [
      [new SettingValueError('bad'), 'SettingValueError', ContractError],
      [new InvalidTokenError('malformed', 'not a JWT'), 'InvalidTokenError', AuthorizerError],
      [new MetadataConfigError('AUTHKIT_DOMAIN', 'missing'), 'MetadataConfigError', MetadataError],
      [new NoCallerError(), 'NoCallerError', McpRuntimeError],
      [new AuthKitMcpServerPropsError('authKitDomain', 'is missing'), 'AuthKitMcpServerPropsError', ConstructError],
      [new UnsupportedFeatureError('a feature', 'somewhere'), 'UnsupportedFeatureError', LocalError],
      [new UsageError('no URL'), 'UsageError', VerifyError],
    ];
    for (const [error, name, base] of cases) {
      expect([error.name, error instanceof base, error instanceof Error]).toEqual([name, true, true]);
    }
    expect(new UnsupportedFeatureError('a feature', 'somewhere')).toBeInstanceOf(GatewayStartError);
  });
});
