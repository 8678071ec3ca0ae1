import { resourceScopes } from '../shared/scopes';
import type { MetadataConfig } from './config';

/** RFC 9728 §2 protected-resource metadata, limited to the fields this server publishes. */
export interface ProtectedResourceMetadata {
  readonly resource: string;
  readonly authorization_servers: readonly string[];
  readonly bearer_methods_supported: readonly ['header'];
  readonly scopes_supported?: readonly string[];
  readonly resource_name?: string;
  readonly resource_documentation?: string;
}

export type ProtectedResourceMetadataInput = Pick<
  MetadataConfig,
  'urls' | 'issuer' | 'scopesSupported' | 'resourceName' | 'resourceDocumentation'
>;

/**
 * Builds the protected-resource metadata document. `resource` is the canonical resource URL, the same string the
 * authorizer expects as audience and the challenge points at, so a client comparing them (RFC 9728 §3.3) finds a match.
 * Optional fields are omitted, never null; `scopes_supported` is omitted when no scope is advertised.
 */
export function protectedResourceMetadata(input: ProtectedResourceMetadataInput): ProtectedResourceMetadata {
  const scopes = resourceScopes(input.scopesSupported);
  return {
    resource: input.urls.resource,
    authorization_servers: [input.issuer],
    bearer_methods_supported: ['header'],
    ...(scopes.length > 0 ? { scopes_supported: scopes } : {}),
    ...(input.resourceName ? { resource_name: input.resourceName } : {}),
    ...(input.resourceDocumentation ? { resource_documentation: input.resourceDocumentation } : {}),
  };
}
