/**
 * Reads the conformance baseline (expected-failures.yml) and insists that every entry says why.
 *
 * The file is the CLI's own YAML format (`server:` followed by `- <scenario>` items); the reason for
 * an entry is the block of `#` comment lines directly above it. An entry without one, an entry
 * outside `server:`, or anything else the CLI would read differently is refused.
 */
import { readFileSync } from 'node:fs';

export interface ExpectedFailure {
  readonly scenario: string;
  readonly reason: string;
}

export class ExpectedFailuresFileError extends Error {
  readonly code = 'INVALID_EXPECTED_FAILURES';
  constructor(message: string) {
    super(message);
    this.name = 'ExpectedFailuresFileError';
  }
}

const ENTRY = /^\s+-\s+([a-z0-9][a-z0-9/-]*)\s*$/;

export function parseExpectedFailures(text: string, source = 'expected-failures.yml'): ExpectedFailure[] {
  const entries: ExpectedFailure[] = [];
  let section: string | undefined;
  let comments: string[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const where = `${source}:${index + 1}`;
    const trimmed = line.trim();
    if (trimmed === '') {
      // A blank line ends a comment block: a reason must sit directly above its entry.
      comments = [];
      return;
    }
    if (trimmed.startsWith('#')) {
      comments.push(trimmed.replace(/^#+\s?/, '').trim());
      return;
    }
    const key = /^([a-z]+):\s*$/.exec(line);
    if (key) {
      section = key[1];
      if (section !== 'server')
        throw new ExpectedFailuresFileError(`${where}: only a "server:" list is expected here, got "${section}:".`);
      comments = [];
      return;
    }
    const entry = ENTRY.exec(line);
    if (!entry)
      throw new ExpectedFailuresFileError(
        `${where}: expected "  - <scenario>" (no inline comments), got ${JSON.stringify(line)}.`,
      );
    if (section !== 'server')
      throw new ExpectedFailuresFileError(`${where}: scenario "${entry[1]}" must be listed under "server:".`);
    const reason = comments.filter(Boolean).join(' ');
    if (reason === '')
      throw new ExpectedFailuresFileError(
        `${where}: scenario "${entry[1]}" has no reason. Write why it is expected to fail in # comments directly above it.`,
      );
    if (entries.some((known) => known.scenario === entry[1]))
      throw new ExpectedFailuresFileError(`${where}: scenario "${entry[1]}" is listed twice.`);
    entries.push({ scenario: entry[1], reason });
    comments = [];
  });
  return entries;
}

export function readExpectedFailures(path: string): ExpectedFailure[] {
  return parseExpectedFailures(readFileSync(path, 'utf8'), path);
}
