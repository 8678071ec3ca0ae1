/**
 * The caller's identity from the authorizer's context, or the 401 that says why there is none: no
 * identity at all, or a token whose `exp` passed while API Gateway kept its Allow in the cache.
 */
import type { AuthInfo } from '@modelcontextprotocol/server';
import { invalidTokenChallenge, unauthorizedChallenge } from '../shared/challenges';
import type { ProxyEvent } from './adapter';
import { authInfoFromAuthorizer } from './auth-info';
import type { readRuntimeSettings } from './config';
import { ExpiredTokenError, MissingIdentityError } from './errors';
import { type Refusal, refusal } from './refusal';
import { jsonRpcErrorResponse, TRANSPORT_ERROR } from './responses';

const EXPIRED_TOKEN_DESCRIPTION = 'The access token has expired';

/** The verified caller, or the refusal; `sub` names the caller for the log line in both cases when known. */
export type IdentityResult =
  | { readonly authInfo: AuthInfo; readonly sub: string }
  | (Refusal & { readonly sub?: string });

export type Identify = (event: ProxyEvent, authorizationHeader: string | undefined) => IdentityResult;

export function createIdentify(settings: ReturnType<typeof readRuntimeSettings>): Identify {
  const resource = new URL(settings.urls.resource);
  return (event, authorizationHeader) => {
    try {
      const authInfo = authInfoFromAuthorizer({
        authorizer: event.requestContext?.authorizer,
        authorizationHeader,
        resource,
        resourceMetadataUrl: settings.urls.protectedResourceMetadata,
        clockToleranceSeconds: settings.clockToleranceSeconds,
      });
      return { authInfo, sub: (authInfo.extra as { sub: string }).sub };
    } catch (error) {
      return identityRefusal(error, settings.urls);
    }
  };
}

function identityRefusal(
  error: unknown,
  urls: ReturnType<typeof readRuntimeSettings>['urls'],
): Refusal & { readonly sub?: string } {
  if (error instanceof ExpiredTokenError) {
    const expired = jsonRpcErrorResponse(401, TRANSPORT_ERROR, `Unauthorized: ${EXPIRED_TOKEN_DESCRIPTION}`, {
      data: { error: 'invalid_token', error_description: EXPIRED_TOKEN_DESCRIPTION },
      headers: { 'WWW-Authenticate': invalidTokenChallenge(urls, EXPIRED_TOKEN_DESCRIPTION) },
    });
    return { ...refusal(expired, `refused: ${error.message}`), sub: error.sub };
  }
  if (!(error instanceof MissingIdentityError)) throw error;
  const missing = jsonRpcErrorResponse(401, TRANSPORT_ERROR, 'Unauthorized: a valid bearer token is required', {
    headers: { 'WWW-Authenticate': unauthorizedChallenge(urls) },
  });
  return refusal(missing, `refused without identity: ${error.message}`);
}
