/**
 * The report model: one result per check, grouped in the order a client walks the chain. Renderers
 * (text, JSON) read only this, so both always say the same thing.
 */

export type CheckStatus = 'pass' | 'fail' | 'skip';

/** The six groups of checks, in the order they run. */
export const SECTIONS = {
  challenge: '1. The challenge',
  resourceMetadata: '2. Protected-resource metadata',
  authorizationServer: '3. Authorization-server metadata',
  browser: '4. Browsers',
  hygiene: '5. Hygiene',
  token: '6. With a token',
} as const;

export type SectionId = keyof typeof SECTIONS;

export interface CheckResult {
  /** Stable identifier, e.g. `challenge.header`; CI pipelines may key on it. */
  readonly id: string;
  readonly section: SectionId;
  /** What was checked, as a sentence. */
  readonly title: string;
  readonly status: CheckStatus;
  /** What was seen (never a token). */
  readonly detail?: string;
  /** On failure: what is wrong and the setting that fixes it, in one line. */
  readonly fix?: string;
}

export interface VerifyReport {
  readonly mcpUrl: string;
  /** The browser origin the CORS checks used, or null when they were skipped. */
  readonly origin: string | null;
  /** True when no check failed. */
  readonly ok: boolean;
  readonly checks: readonly CheckResult[];
  readonly durationMs: number;
}

export interface ReportCounts {
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
}

export function countResults(checks: readonly CheckResult[]): ReportCounts {
  return {
    passed: checks.filter((check) => check.status === 'pass').length,
    failed: checks.filter((check) => check.status === 'fail').length,
    skipped: checks.filter((check) => check.status === 'skip').length,
  };
}

/** Builds the results of one section with less repetition. */
export function sectionResults(section: SectionId) {
  return {
    pass: (id: string, title: string, detail?: string): CheckResult => ({
      id,
      section,
      title,
      status: 'pass',
      ...(detail ? { detail } : {}),
    }),
    fail: (id: string, title: string, detail: string, fix: string): CheckResult => ({
      id,
      section,
      title,
      status: 'fail',
      detail,
      fix,
    }),
    skip: (id: string, title: string, detail: string): CheckResult => ({ id, section, title, status: 'skip', detail }),
  };
}
