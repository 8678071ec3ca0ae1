/**
 * The metadata function's settings contract: every environment variable the construct sets on the
 * metadata function and the function reads, one row each.
 */
import { isScopeToken } from '../scopes';
import { authkitIssuerSetting, logLevel, publicBaseUrl, secureUrl, serviceName } from './common';
import {
  fromConstruct,
  fromProp,
  list,
  optional,
  SettingValueError,
  type SettingsOf,
  type SettingsTable,
  text,
  wholeNumber,
} from './setting';

/** How long a fetched copy of AuthKit's metadata counts as fresh: one second to one day. */
export const AS_METADATA_TTL_SECONDS = { fallback: 3600, min: 1, max: 86_400 } as const;
/** The upstream call must stay well inside the integration timeout and the Lambda's own timeout. */
export const AS_METADATA_TIMEOUT_MS = { fallback: 2000, min: 1, max: 3000 } as const;

export const METADATA_SETTINGS = {
  publicBaseUrl,
  issuer: authkitIssuerSetting,
  serviceName: serviceName('metadata'),
  logLevel,
  scopesSupported: fromProp(
    list(
      'SCOPES_SUPPORTED',
      {
        separator: ' ',
        split: /\s+/,
        omitWhenEmpty: false,
        check: (scope) =>
          isScopeToken(scope)
            ? undefined
            : `"${scope}" is not a valid OAuth scope. List scopes separated by spaces, e.g. "mcp:read mcp:write".`,
      },
      'Scopes advertised in the protected-resource metadata, separated by spaces (`offline_access` is dropped).',
    ),
    'scopesSupported',
    // The construct adds the required scopes, and refuses what a gateway header cannot carry.
    { byConstruct: true },
  ),
  resourceName: fromProp(
    optional(text('RESOURCE_NAME', 'Human-readable `resource_name` in the metadata; unset: omitted.')),
    'resourceName',
    // The prop has a default and must be one printable line.
    { byConstruct: true },
  ),
  resourceDocumentation: fromProp(
    optional<string>({
      variable: 'RESOURCE_DOCUMENTATION',
      doc: 'An https URL documenting the server (`resource_documentation`); unset: omitted.',
      write: (value) => value,
      parse(raw) {
        if (secureUrl(raw) === undefined) {
          throw new SettingValueError(
            `"${raw}" is not an absolute https URL. Set it to the page that documents this server, or leave it unset.`,
          );
        }
        return raw;
      },
    }),
    'resourceDocumentation',
    // The prop takes https only, where the variable also allows http on loopback (the local stack).
    { byConstruct: true },
  ),
  asMetadataTtlSeconds: fromProp(
    wholeNumber(
      'AS_METADATA_TTL_SECONDS',
      AS_METADATA_TTL_SECONDS,
      "How long the copy of AuthKit's metadata is served before it is refetched, in seconds.",
    ),
    'authorizationServerMetadataCacheTtl',
    { unit: 'seconds' },
  ),
  asMetadataTimeoutMs: fromConstruct(
    wholeNumber(
      'AS_METADATA_TIMEOUT_MS',
      AS_METADATA_TIMEOUT_MS,
      "Upper bound of one fetch of AuthKit's metadata, in milliseconds.",
    ),
    'its default: no prop sets it',
  ),
} satisfies SettingsTable;

/** What the construct writes to the metadata function's environment and the function reads back. */
export type MetadataSettings = SettingsOf<typeof METADATA_SETTINGS>;
