/**
 * The environment of each function, written from the validated props through the function's
 * settings contract (lambda/shared/settings), which the function reads it back with: one
 * definition of every variable's name, format and default on both sides. Every row takes its
 * value from `ServerSettings` under the row's own key, so a new row whose key `ServerSettings`
 * holds reaches the function's environment without a line here (and one it does not hold fails to
 * compile); only what the construct makes itself (URLs, ARNs, names of resources) is given.
 */
import { AUTHORIZER_SETTINGS, type AuthorizerSettings } from '../lambda/shared/settings/authorizer';
import { SERVICE_NAME_SUFFIXES } from '../lambda/shared/settings/common';
import { MCP_SETTINGS, type McpSettings } from '../lambda/shared/settings/mcp';
import { METADATA_SETTINGS, type MetadataSettings } from '../lambda/shared/settings/metadata';
import { type SettingsOf, type SettingsTable, toEnvironment } from '../lambda/shared/settings/setting';
import type { ServerSettings } from './server-settings';

/** The bundles carry source maps; Node applies them to stack traces only with this flag. */
const SOURCE_MAPS = { NODE_OPTIONS: '--enable-source-maps' } as const;

/** The settings `S` of a table as a source holds them: a row that may be unset may be left out. */
type Holding<S> = { readonly [K in keyof S as undefined extends S[K] ? never : K]: S[K] } & {
  readonly [K in keyof S as undefined extends S[K] ? K : never]?: S[K];
};

/** The settings of `table`: each row's value from `settings` by the row's key, unless `given` holds it. */
function rowsOf<T extends SettingsTable, G extends Partial<SettingsOf<T>>>(
  table: T,
  settings: Holding<Omit<SettingsOf<T>, keyof G>>,
  given: G,
): SettingsOf<T> {
  const values: Record<string, unknown> = {};
  for (const key of Object.keys(table)) {
    values[key] = key in given ? given[key as keyof G] : settings[key as keyof typeof settings];
  }
  return values as SettingsOf<T>;
}

/** What the authorizer is told: `publicBaseUrl` is the server's base URL (it may hold CDK tokens). */
export function authorizerSettings(settings: ServerSettings, publicBaseUrl: string): AuthorizerSettings {
  // Only the authorizer publishes metrics (one count per decision), under `metricsNamespace`.
  return rowsOf(AUTHORIZER_SETTINGS, settings, {
    publicBaseUrl,
    // Off, the variable is absent and the authorizer judges no tool.
    stepUpToolScopes: settings.stepUpToolScopes ?? {},
    serviceName: `${settings.serviceName}${SERVICE_NAME_SUFFIXES.authorizer}`,
  });
}

export function metadataSettings(settings: ServerSettings, publicBaseUrl: string): MetadataSettings {
  return rowsOf(METADATA_SETTINGS, settings, {
    publicBaseUrl,
    serviceName: `${settings.serviceName}${SERVICE_NAME_SUFFIXES.metadata}`,
  });
}

/**
 * `requestStateSecretArn` is the ARN of the secret that keys the `requestState` HMAC;
 * `stateTableName` the table of the per-caller leases (it may hold CDK tokens);
 * `workosApiKeySecretArn` that of the WorkOS API key, when one is configured.
 */
export function mcpSettings(
  settings: ServerSettings,
  publicBaseUrl: string,
  requestStateSecretArn: string,
  stateTableName?: string,
  workosApiKeySecretArn?: string,
): McpSettings {
  // `clockToleranceSeconds`: the runtime checks `exp` on every request (the authorizer cache does
  // not), with the authorizer's tolerance. `listenMaxSeconds` is undefined when buffered, which
  // cannot hold a listen stream: the variable is then absent. Without a WorkOS secret its variable
  // is absent: the runtime then refuses role lookups, naming the prop.
  return rowsOf(MCP_SETTINGS, settings, {
    publicBaseUrl,
    serviceName: `${settings.serviceName}${SERVICE_NAME_SUFFIXES.mcp}`,
    requestStateSecretArn,
    functionTimeoutSeconds: settings.mcpFunctionTimeout.toSeconds(),
    stateTableName,
    workosApiKeySecretArn,
  });
}

export function authorizerEnvironment(settings: ServerSettings, publicBaseUrl: string): Record<string, string> {
  return { ...toEnvironment(AUTHORIZER_SETTINGS, authorizerSettings(settings, publicBaseUrl)), ...SOURCE_MAPS };
}

export function metadataEnvironment(settings: ServerSettings, publicBaseUrl: string): Record<string, string> {
  return { ...toEnvironment(METADATA_SETTINGS, metadataSettings(settings, publicBaseUrl)), ...SOURCE_MAPS };
}

export function mcpEnvironment(
  settings: ServerSettings,
  publicBaseUrl: string,
  requestStateSecretArn: string,
  stateTableName?: string,
  workosApiKeySecretArn?: string,
): Record<string, string> {
  return {
    ...toEnvironment(
      MCP_SETTINGS,
      mcpSettings(settings, publicBaseUrl, requestStateSecretArn, stateTableName, workosApiKeySecretArn),
    ),
    ...SOURCE_MAPS,
  };
}
