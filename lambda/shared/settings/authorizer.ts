/**
 * The authorizer's settings contract: every environment variable the construct sets on the
 * authorizer and the authorizer reads, one row each.
 */
import type { ToolScopes } from '../challenges';
import { isScopeToken } from '../scopes';
import { isTokenAlgorithm, DEFAULT_TOKEN_ALGORITHMS, TOKEN_ALGORITHMS, type TokenAlgorithm } from '../token-policy';
import {
  authkitIssuerSetting,
  clockToleranceSeconds,
  logLevel,
  metricsNamespace,
  publicBaseUrl,
  secureUrl,
  serviceName,
} from './common';
import {
  flag,
  fromConstruct,
  fromProp,
  invalid,
  list,
  optional,
  SettingValueError,
  type SettingsOf,
  type SettingsTable,
  withDefault,
  wholeNumber,
} from './setting';

/** A JWKS fetch must end well inside API Gateway's authorizer budget. */
export const JWKS_TIMEOUT_MS = { fallback: 2000, min: 1, max: 3000 } as const;
/** At most one hour between refetches triggered by an unknown key id. */
export const JWKS_COOLDOWN_MS = { fallback: 30_000, min: 0, max: 3_600_000 } as const;

const jwksUrl = fromConstruct(
  optional<string>({
    variable: 'AUTHKIT_JWKS_URL',
    doc: "Where AuthKit publishes its signing keys; unset: the issuer's `/oauth2/jwks`.",
    write: (value) => value,
    parse(raw) {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw new SettingValueError(`"${raw}" is not an absolute URL.`);
      }
      if (url.username || url.password || url.hash || url.search) {
        throw new SettingValueError(`"${raw}" must not carry credentials, a query or a fragment.`);
      }
      if (secureUrl(raw) === undefined) {
        throw new SettingValueError(`"${raw}" must use https (http is allowed only for localhost or 127.0.0.1).`);
      }
      return url.href;
    },
  }),
  "the issuer's /oauth2/jwks",
);

/** What to write instead of an algorithm that is not accepted. */
const TOKEN_ALGORITHM_ADVICE = `use asymmetric algorithms from ${TOKEN_ALGORITHMS.join(', ')} (AuthKit signs with RS256).`;

/**
 * The one rule for an accepted algorithm, which the variable, the prop and the stage field apply
 * to each name: the refusal, or `undefined` when `name` is one asymmetric algorithm.
 */
export function tokenAlgorithmRefusal(name: string): SettingValueError | undefined {
  return isTokenAlgorithm(name) ? undefined : invalid(`"${name}" is not accepted`, TOKEN_ALGORITHM_ADVICE);
}

const tokenAlgorithms = fromProp(
  withDefault<readonly TokenAlgorithm[]>(
    {
      variable: 'TOKEN_ALGORITHMS',
      doc: 'Accepted token signature algorithms (asymmetric only), separated by commas.',
      write: (value) => value.join(','),
      parse(raw) {
        const names = [...new Set(raw.split(/[\s,]+/).filter((name) => name !== ''))];
        if (names.length === 0) return DEFAULT_TOKEN_ALGORITHMS;
        for (const name of names) {
          const refusal = tokenAlgorithmRefusal(name);
          if (refusal !== undefined) throw refusal;
        }
        return names as TokenAlgorithm[];
      },
    },
    DEFAULT_TOKEN_ALGORITHMS,
  ),
  'tokenAlgorithms',
  // Unset reads as the default, so only the prop can ask for no algorithm: the construct refuses that.
  { byConstruct: true },
);

const AUDIENCE_RULE = 'an audience is one non-empty value without spaces, commas or quotes.';

/** A WorkOS organization id as AuthKit writes it in `org_id`: `org_` and a 26-character ULID. */
export const ORGANIZATION_ID = /^org_[0-9A-Z]{26}$/;
const ORGANIZATION_RULE =
  'an organization id is "org_" followed by 26 upper-case letters and digits, as the WorkOS dashboard shows it, e.g. "org_01EHZNVPK3SFK441A1RGBFSHRT".';

/** What the tool scope map must look like, for the error that refuses another one. */
const TOOL_SCOPES_RULE =
  'write a JSON object mapping each tool name to a non-empty list of scope names without spaces or quotes, e.g. {"server_config":["mcp:admin"]}.';

function parseToolScopes(raw: string): ToolScopes {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw invalid('it is not JSON', TOOL_SCOPES_RULE);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid('it is not an object', TOOL_SCOPES_RULE);
  const entries: [string, readonly string[]][] = [];
  for (const [tool, scopes] of Object.entries(value)) {
    if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => typeof s === 'string' && isScopeToken(s)))
      throw invalid(
        `tool ${JSON.stringify(tool.slice(0, 64))} has ${JSON.stringify(scopes)?.slice(0, 100)}`,
        TOOL_SCOPES_RULE,
      );
    entries.push([tool, scopes]);
  }
  // Own properties only, whatever the tool is called (`__proto__` included).
  return Object.fromEntries(entries);
}

/**
 * The tools' required scopes, set only when the stage turns the step-up challenge on: the REQUEST
 * authorizer refuses a `tools/call` whose token lacks its tool's scopes (403 with the challenge).
 */
const stepUpToolScopes = fromProp(
  withDefault<ToolScopes>(
    {
      variable: 'STEP_UP_TOOL_SCOPES',
      doc: 'Tools and the scopes each requires (JSON), which the step-up REQUEST authorizer enforces per `tools/call`; unset: none.',
      write: (value) => (Object.keys(value).length === 0 ? undefined : JSON.stringify(value)),
      parse: parseToolScopes,
    },
    {},
  ),
  'stepUpChallenge',
  // Its `toolScopes`; refused beside the organizations, and without single quotes (a static gateway header).
  { byConstruct: true },
);

export const AUTHORIZER_SETTINGS = {
  publicBaseUrl,
  issuer: authkitIssuerSetting,
  jwksUrl,
  acceptedAudiences: fromProp(
    list(
      'ACCEPTED_AUDIENCES',
      {
        separator: ',',
        split: /[\s,]+/,
        omitWhenEmpty: true,
        // Quotes are refused here, so the construct and the function accept the same audiences.
        check: (audience) => (/['"]/.test(audience) ? `"${audience}" is not an audience; ${AUDIENCE_RULE}` : undefined),
        item: AUDIENCE_RULE,
      },
      'Audiences accepted besides the canonical resource URL.',
    ),
    'acceptedAudiences',
  ),
  allowMultipleAudiences: fromProp(
    flag('ALLOW_MULTIPLE_AUDIENCES', false, 'Accept a token whose `aud` names several audiences, one of them ours.'),
    'allowMultipleAudiences',
  ),
  tokenAlgorithms,
  clockToleranceSeconds,
  allowedOrganizations: fromProp(
    list(
      'ALLOWED_ORGANIZATIONS',
      {
        separator: ',',
        split: /[\s,]+/,
        omitWhenEmpty: true,
        check: (id) =>
          ORGANIZATION_ID.test(id) ? undefined : `"${id}" is not a WorkOS organization id; ${ORGANIZATION_RULE}`,
        item: ORGANIZATION_RULE,
      },
      'WorkOS organizations whose tokens are accepted (`org_id`), separated by commas; a token of another organization, or of none, gets 403.',
    ),
    'allowedOrganizations',
    // With requireOrganization: a list cannot be combined with requireOrganization false.
    { byConstruct: true },
  ),
  requireOrganization: fromProp(
    flag('REQUIRE_ORGANIZATION', false, 'Refuse (403) a token without `org_id`; implied by ALLOWED_ORGANIZATIONS.'),
    'requireOrganization',
    { byConstruct: true },
  ),
  requiredScopes: fromProp(
    list(
      'REQUIRED_SCOPES',
      { separator: ' ', split: /\s+/, omitWhenEmpty: true },
      'Scopes every token must carry; without them a valid token gets 403.',
    ),
    'requiredScopes',
    // The prop also refuses what a gateway header cannot carry, and `offline_access`.
    { byConstruct: true },
  ),
  stepUpToolScopes,
  jwksTimeoutMs: fromProp(
    wholeNumber('JWKS_TIMEOUT_MS', JWKS_TIMEOUT_MS, 'Upper bound of one JWKS fetch, in milliseconds.'),
    'jwksTimeout',
    { unit: 'ms' },
  ),
  jwksCooldownMs: fromProp(
    wholeNumber(
      'JWKS_COOLDOWN_MS',
      JWKS_COOLDOWN_MS,
      'Minimum time between JWKS fetches triggered by an unknown key id, in milliseconds.',
    ),
    'jwksCooldown',
    { unit: 'ms' },
  ),
  serviceName: serviceName('authorizer'),
  metricsNamespace,
  logLevel,
} satisfies SettingsTable;

/** What the construct writes to the authorizer's environment and the authorizer reads back. */
export type AuthorizerSettings = SettingsOf<typeof AUTHORIZER_SETTINGS>;
