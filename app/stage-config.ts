/**
 * Per-stage configuration: the `stages` map in cdk.json's context, one entry per deployment
 * (`local`, `dev`, `prod`, ...), selected with `-c stage=NAME`. Validated when the app starts, so a
 * typo fails the synth with the stage and the field named, instead of a surprise at deploy time.
 */
import { STAGE_FIELDS, type StageConfig } from './stage-fields';
import { ConstructError } from '../lib/errors';

export type { StageConfig, StageCustomDomain } from './stage-fields';

/** What the loader reads context from: an App's or Stack's `node`, or any object with the same method. */
export interface ContextSource {
  tryGetContext(key: string): unknown;
}

export class StageConfigError extends ConstructError {
  readonly code = 'INVALID_STAGE_CONFIG';
}

const CUSTOM_DOMAIN_FIELDS = ['domainName', 'certificateArn', 'hostedZoneId', 'hostedZoneName'];
const STAGE_NAME = /^[A-Za-z][A-Za-z0-9-]{0,63}$/;
const CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

/**
 * Reads the selected stage from the CDK context and validates it.
 *
 * - `stages`: the map of stage configurations (cdk.json).
 * - `stage`: the stage to synthesize (`-c stage=dev`); falls back to `defaultStage` from cdk.json.
 * - any stage field (`authkitDomain`, `publicBaseUrl`, `requiredScopes`, ...): an override that wins
 *   over the stage's value, e.g. `-c authkitDomain=http://localhost:9000 -c requiredScopes=mcp:tools`
 *   (the local runner points the `local` stage at its own AuthKit stand-in and port this way).
 *   Lists are separated by commas or spaces; numbers and `true`/`false` are parsed.
 *
 * @throws StageConfigError naming the stage and the field, and what to write instead.
 */
export function loadStageConfig(context: ContextSource): StageConfig {
  const { name, raw } = selectStage(context);
  const overrides: Record<string, unknown> = {};
  const given: Record<string, unknown> = {};
  for (const [field, row] of Object.entries(STAGE_FIELDS)) {
    const value = context.tryGetContext(field);
    if (value === undefined || value === null || value === '') continue;
    // `-c key=value` gives strings; values from cdk.json pass unchanged.
    overrides[field] = typeof value === 'string' ? row.fromCommandLine(value) : value;
    given[field] = value;
  }
  return validateStage(name, { ...raw, ...overrides }, given);
}

/** The stage `-c stage=NAME` (or `defaultStage`) names, and its entry in `stages`. */
function selectStage(context: ContextSource): { name: string; raw: Record<string, unknown> } {
  const stages = context.tryGetContext('stages');
  if (!isRecord(stages) || Object.keys(stages).length === 0) {
    throw new StageConfigError(
      'No stages are configured. Add a "stages" map to the "context" of cdk.json, e.g. "stages": { "dev": { "authkitDomain": "acme.authkit.app" } }.',
    );
  }
  const known = Object.keys(stages);
  const requested = context.tryGetContext('stage') ?? context.tryGetContext('defaultStage');
  if (requested === undefined || requested === null || requested === '') {
    throw new StageConfigError(
      `No stage selected. Pass -c stage=NAME (known stages: ${known.join(', ')}), or set "defaultStage" in the context of cdk.json.`,
    );
  }
  if (typeof requested !== 'string' || !(requested in stages)) {
    throw new StageConfigError(
      `Unknown stage ${show(requested)}. Known stages: ${known.join(', ')}. Pass one of them with -c stage=NAME, or add it to "stages" in cdk.json.`,
    );
  }
  if (!STAGE_NAME.test(requested)) {
    throw new StageConfigError(
      `Stage name ${show(requested)} cannot name a stack. Use a letter followed by letters, digits or hyphens (at most 64), e.g. "dev".`,
    );
  }
  const raw = stages[requested];
  if (!isRecord(raw))
    throw new StageConfigError(`Stage "${requested}" in cdk.json must be an object of settings, got ${show(raw)}.`);
  return { name: requested, raw };
}

type Fail = (field: string, problem: string) => never;

/**
 * @param commandLine the fields `-c field=value` set, with the value as given, so that a refusal
 *   says the value came from the command line rather than from cdk.json.
 */
function validateStage(name: string, raw: Record<string, unknown>, commandLine: Record<string, unknown>): StageConfig {
  const fail: Fail = (field, problem) => {
    const source = field in commandLine ? `-c ${field}=${showGiven(commandLine[field])} (from the command line): ` : '';
    throw new StageConfigError(`Stage "${name}": ${source}field "${field}" ${problem}`);
  };
  const known = Object.keys(STAGE_FIELDS);
  for (const field of Object.keys(raw)) {
    if (!known.includes(field)) fail(field, unknownSetting(field, known, `context.stages.${name} in cdk.json`));
  }
  const out: Record<string, unknown> = { name };
  for (const [field, row] of Object.entries(STAGE_FIELDS)) {
    const value = raw[field];
    if (value === undefined && !row.required) continue;
    const problem = row.check(value);
    if (problem !== undefined) fail(field, problem);
    out[field] = value;
  }
  if (raw.customDomain !== undefined) checkCustomDomain(raw.customDomain, fail);
  if (raw.disableExecuteApiEndpoint === true && raw.customDomain === undefined) {
    fail(
      'disableExecuteApiEndpoint',
      'is true without "customDomain", which would leave the API unreachable. Add customDomain or remove disableExecuteApiEndpoint.',
    );
  }
  if (raw.workosApiKeySecretArn !== undefined && raw.workosApiKeySecretName !== undefined) {
    fail(
      'workosApiKeySecretName',
      'is set with "workosApiKeySecretArn": name the WorkOS API key secret once, by ARN or by name.',
    );
  }
  return out as unknown as StageConfig;
}

function checkCustomDomain(domain: unknown, fail: Fail): void {
  if (!isRecord(domain)) {
    fail('customDomain', `must be an object with "domainName" and "certificateArn", got ${show(domain)}.`);
    return;
  }
  for (const key of Object.keys(domain)) {
    if (!CUSTOM_DOMAIN_FIELDS.includes(key)) fail(`customDomain.${key}`, unknownSetting(key, CUSTOM_DOMAIN_FIELDS));
  }
  if (typeof domain.domainName !== 'string' || domain.domainName.trim() === '')
    fail('customDomain.domainName', `must be a DNS name such as "mcp.example.com", got ${show(domain.domainName)}.`);
  if (typeof domain.certificateArn !== 'string' || !CERTIFICATE_ARN.test(domain.certificateArn)) {
    fail(
      'customDomain.certificateArn',
      `must be the ARN of an ACM certificate (arn:aws:acm:<region>:<account>:certificate/<id>), got ${show(domain.certificateArn)}.`,
    );
  }
  if ((domain.hostedZoneId === undefined) !== (domain.hostedZoneName === undefined)) {
    fail(
      'customDomain.hostedZoneId',
      'and "customDomain.hostedZoneName" must be set together (both, to create the alias record, or neither).',
    );
  }
  for (const key of ['hostedZoneId', 'hostedZoneName']) {
    const value = domain[key];
    if (value !== undefined && (typeof value !== 'string' || value.trim() === ''))
      fail(`customDomain.${key}`, `must be a non-empty string, got ${show(value)}.`);
  }
}

const showGiven = (value: unknown): string => (typeof value === 'string' ? value : show(value));

/** The refusal of an unknown setting, with the known one it is nearest to when it looks like a misspelling. */
function unknownSetting(name: string, known: readonly string[], where?: string): string {
  const nearest = nearestName(name, known);
  return (
    `is not a known setting${where === undefined ? '' : ` (in ${where})`}.` +
    (nearest === undefined ? '' : ` Did you mean "${nearest}"?`) +
    ` Known settings: ${known.join(', ')}.`
  );
}

/**
 * The known name `name` most likely misspells: the nearest by edit distance (insertions,
 * deletions, substitutions and swaps of neighbours, case ignored), if within a quarter of its length
 * (at least 2 edits); none when two are equally near.
 */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(name.length / 4));
  const ranked = known
    .map((candidate) => ({ candidate, distance: editDistance(name.toLowerCase(), candidate.toLowerCase()) }))
    .filter(({ distance }) => distance <= limit)
    .sort((a, b) => a.distance - b.distance);
  if (ranked.length === 0 || ranked[1]?.distance === ranked[0].distance) return undefined;
  return ranked[0].candidate;
}

/** Damerau-Levenshtein distance in its optimal-string-alignment form. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
    }
  }
  return rows[a.length][b.length];
}
