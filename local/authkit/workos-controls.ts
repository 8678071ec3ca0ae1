/**
 * Test controls of the stand-in's WorkOS API (`/__test/workos/*`, served only with test controls):
 * change a membership's roles, make the API fail or answer late, count its requests. The stand-in
 * registers them beside its other controls; {@link workOSTestControls} is their client.
 */
import { DEV_USER, TEST_CONTROLS_PATH } from './contract';
import { type LocalWorkOSApi, WORKOS_API_MODES, type WorkOSApiMode, type WorkOSApiRequestCounts } from './workos-api';

export const WORKOS_CONTROLS_PREFIX = '/workos/';

export interface WorkOSControlAnswer {
  readonly status: number;
  readonly body: unknown;
}

function refused(description: string): WorkOSControlAnswer {
  return { status: 400, body: { error: 'invalid_request', error_description: description } };
}

function stringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/**
 * The answer to `route` (`"<METHOD> /workos/..."`, relative to `/__test`), or `undefined` when the
 * route is not one of these controls. `body` reads the JSON body of a POST.
 */
export async function answerWorkOSControl(
  route: string,
  body: () => Promise<Record<string, unknown>>,
  api: LocalWorkOSApi,
): Promise<WorkOSControlAnswer | undefined> {
  switch (route) {
    case 'POST /workos/memberships': {
      const { userId = DEV_USER.sub, organizationId, roles } = await body();
      if (typeof userId !== 'string' || typeof organizationId !== 'string' || !stringList(roles))
        return refused('send { userId?, organizationId, roles: [slug, ...] } (an empty list removes the membership)');
      try {
        api.setMembershipRoles(userId, organizationId, roles);
      } catch (error) {
        return refused((error as Error).message);
      }
      return { status: 200, body: { userId, organizationId, roles } };
    }
    case 'POST /workos/mode': {
      const { mode, delayMs = api.delayMs } = await body();
      if (!WORKOS_API_MODES.includes(mode as WorkOSApiMode))
        return refused(`mode must be one of ${WORKOS_API_MODES.join(', ')}`);
      if (typeof delayMs !== 'number' || delayMs < 0) return refused('delayMs must be a non-negative number');
      api.mode = mode as WorkOSApiMode;
      api.delayMs = delayMs;
      return { status: 200, body: { mode, delayMs } };
    }
    case 'GET /workos/requests':
      return { status: 200, body: api.requestCounts };
    default:
      return undefined;
  }
}

export interface WorkOSTestControls {
  /** Gives the user (the dev user by default) these roles in the organization; `[]` removes the membership. */
  setMembershipRoles(organizationId: string, roles: readonly string[], userId?: string): Promise<void>;
  /** Makes the WorkOS API answer 500 (`error`), drop the connection (`down`), wait `delayMs` (`slow`), or work. */
  setMode(mode: WorkOSApiMode, options?: { delayMs?: number }): Promise<void>;
  /** Requests the WorkOS API has received since start, by endpoint. */
  requestCounts(): Promise<WorkOSApiRequestCounts>;
}

/** A client for these controls on a stand-in (its issuer) started with test controls. */
export function workOSTestControls(issuer: string): WorkOSTestControls {
  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${issuer}${TEST_CONTROLS_PATH}${WORKOS_CONTROLS_PREFIX}${path}`, {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const payload = (await response.json().catch(() => ({}))) as T & { error_description?: string };
    if (!response.ok) {
      throw new Error(
        `Test control ${method} /workos/${path} failed with HTTP ${response.status}: ${payload.error_description ?? 'no detail'}`,
      );
    }
    return payload;
  };
  return {
    async setMembershipRoles(organizationId, roles, userId = DEV_USER.sub) {
      await call('POST', 'memberships', { userId, organizationId, roles });
    },
    async setMode(mode, options = {}) {
      await call('POST', 'mode', { mode, ...options });
    },
    requestCounts: () => call('GET', 'requests'),
  };
}
