/**
 * The authorizer's decisions as its metrics name them: the function counts one metric per decision
 * (Powertools Metrics, EMF) and the construct's dashboard and alarms read the same names, so both
 * take them from here.
 */

/** Every reason a decision can carry; `allowed` is the only one that lets a request through. */
export const DECISION_REASONS = [
  'allowed',
  'missing',
  'malformed',
  'expired',
  'not_yet_valid',
  'bad_signature',
  'wrong_issuer',
  'wrong_audience',
  'unknown_key',
  'not_an_access_token',
  'insufficient_scope',
  'wrong_organization',
  'upstream_unavailable',
] as const;

export type DecisionReason = (typeof DECISION_REASONS)[number];

/** The metric counted for each decision, e.g. `token_expired`. */
export function decisionMetricName(reason: DecisionReason): string {
  return `token_${reason}`;
}
