/**
 * The environment of each function, written from the validated props through the function's
 * settings contract (lambda/shared/settings), which the function reads it back with: one
 * definition of every variable's name, format and default on both sides.
 */
import { AUTHORIZER_SETTINGS, type AuthorizerSettings } from '../lambda/shared/settings/authorizer';
import { SERVICE_NAME_SUFFIXES } from '../lambda/shared/settings/common';
import { MCP_SETTINGS, type McpSettings } from '../lambda/shared/settings/mcp';
import { METADATA_SETTINGS, type MetadataSettings } from '../lambda/shared/settings/metadata';
import { toEnvironment } from '../lambda/shared/settings/setting';
import type { ServerSettings } from './server-settings';

/** The bundles carry source maps; Node applies them to stack traces only with this flag. */
const SOURCE_MAPS = { NODE_OPTIONS: '--enable-source-maps' } as const;

/** What the authorizer is told: `publicBaseUrl` is the server's base URL (it may hold CDK tokens). */
export function authorizerSettings(settings: ServerSettings, publicBaseUrl: string): AuthorizerSettings {
  return {
    publicBaseUrl,
    issuer: settings.issuer,
    jwksUrl: settings.jwksUrl,
    acceptedAudiences: settings.acceptedAudiences,
    allowMultipleAudiences: settings.allowMultipleAudiences,
    allowedOrganizations: settings.allowedOrganizations,
    requireOrganization: settings.requireOrganization,
    stepUpToolScopes: settings.stepUpToolScopes ?? {},
    tokenAlgorithms: settings.tokenAlgorithms,
    clockToleranceSeconds: settings.clockToleranceSeconds,
    requiredScopes: settings.requiredScopes,
    jwksTimeoutMs: settings.jwksTimeoutMs,
    jwksCooldownMs: settings.jwksCooldownMs,
    serviceName: `${settings.serviceName}${SERVICE_NAME_SUFFIXES.authorizer}`,
    // Only the authorizer publishes metrics (one count per decision).
    metricsNamespace: settings.metricsNamespace,
    logLevel: settings.logLevel,
  };
}

export function metadataSettings(settings: ServerSettings, publicBaseUrl: string): MetadataSettings {
  return {
    publicBaseUrl,
    issuer: settings.issuer,
    serviceName: `${settings.serviceName}${SERVICE_NAME_SUFFIXES.metadata}`,
    logLevel: settings.logLevel,
    scopesSupported: settings.scopesSupported,
    resourceName: settings.resourceName,
    resourceDocumentation: settings.resourceDocumentation,
    asMetadataTtlSeconds: settings.authorizationServerMetadataTtlSeconds,
    asMetadataTimeoutMs: settings.authorizationServerMetadataTimeoutMs,
  };
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
  return {
    publicBaseUrl,
    serviceName: `${settings.serviceName}${SERVICE_NAME_SUFFIXES.mcp}`,
    logLevel: settings.logLevel,
    allowedOrigins: settings.allowedOrigins,
    maxBodyBytes: settings.maxRequestBodyBytes,
    // The runtime checks `exp` on every request (the authorizer cache does not), with the authorizer's tolerance.
    clockToleranceSeconds: settings.clockToleranceSeconds,
    responseTransferMode: settings.responseTransferMode,
    requestStateSecretArn,
    functionTimeoutSeconds: settings.mcpFunctionTimeout.toSeconds(),
    // Undefined when buffered, which cannot hold a listen stream: the variable is then absent.
    listenMaxSeconds: settings.subscriptionMaxDurationSeconds,
    stateTableName,
    maxConcurrentRequestsPerCaller: settings.maxConcurrentRequestsPerCaller,
    // Without a secret the variable is absent: the runtime then refuses role lookups, naming the prop.
    workosApiKeySecretArn,
    workosApiBaseUrl: settings.workosApiBaseUrl,
    permissionsCacheTtlMs: settings.permissionsCacheTtlMs,
  };
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
