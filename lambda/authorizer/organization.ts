/**
 * Which organizations' callers may use the server: AuthKit writes the organization a user signed in
 * through, or the organization of an M2M application, in the `org_id` claim
 * (https://workos.com/docs/authkit/connect/token-claims). A pure check on a verified token.
 */
import type { OrganizationPolicy } from './config';

/**
 * Why a verified token's organization is refused, as a sentence for the logs (it names the
 * token's `org_id`, which is no secret), or `undefined` when the organization is acceptable.
 * Machine tokens are judged like user tokens: WorkOS gives them their application's organization.
 */
export function organizationRefusal(orgId: string | undefined, policy: OrganizationPolicy): string | undefined {
  if (orgId === undefined) {
    return policy.requireOrganization || policy.allowedOrganizations.length > 0
      ? 'Token has no org_id; this server serves callers of an organization only'
      : undefined;
  }
  if (policy.allowedOrganizations.length === 0 || policy.allowedOrganizations.includes(orgId)) return undefined;
  return `Token organization ${JSON.stringify(orgId.slice(0, 64))} is not one this server serves (ALLOWED_ORGANIZATIONS)`;
}
