/**
 * The two ways a report is printed: text for people (one line per check, one line of fix per
 * failure) and JSON for CI pipelines. Both pass through `redact`, so a token given to the command
 * cannot reach its output even if a server or an error message quoted it.
 */
import { countResults, SECTIONS, type SectionId, type VerifyReport } from './report';

const MARK = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' } as const;
const REDACTED = '[redacted]';

/** Replaces each secret, and each long segment of one (a JWT's signature, say), with a marker. */
export function redact(text: string, secrets: readonly string[]): string {
  const pieces = secrets
    .flatMap((secret) => [secret, ...secret.split('.').filter((segment) => segment.length >= 16)])
    .filter((piece) => piece.length > 0);
  // Longest first, so a whole token is replaced before its segments.
  return pieces.sort((a, b) => b.length - a.length).reduce((out, piece) => out.split(piece).join(REDACTED), text);
}

export function renderText(report: VerifyReport, secrets: readonly string[] = []): string {
  const lines = [`Verifying ${report.mcpUrl}${report.origin ? ` (browser origin ${report.origin})` : ''}`];
  let section: SectionId | undefined;
  for (const check of report.checks) {
    if (check.section !== section) {
      section = check.section;
      lines.push('', SECTIONS[section]);
    }
    lines.push(`  ${MARK[check.status]}  ${check.title}`);
    if (check.detail) lines.push(`        ${check.detail}`);
    if (check.fix) lines.push(`        fix: ${check.fix}`);
  }
  const counts = countResults(report.checks);
  lines.push(
    '',
    `${report.ok ? 'OK' : 'FAILED'}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped (${(report.durationMs / 1000).toFixed(1)} s).`,
  );
  return redact(`${lines.join('\n')}\n`, secrets);
}

export function renderJson(report: VerifyReport, secrets: readonly string[] = []): string {
  return redact(`${JSON.stringify({ ...report, counts: countResults(report.checks) }, null, 2)}\n`, secrets);
}
