import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { createAuthorizationServerMetadataCache, type MetadataLogger } from './as-metadata-cache';
import type { MetadataConfig } from './config';
import { protectedResourceMetadata } from './documents';
import { createMetadataRouter, type MetadataRequest } from './router';

export interface MetadataHandlerOptions {
  readonly config: MetadataConfig;
  readonly logger: MetadataLogger;
  /** Clock in epoch milliseconds for the metadata cache. @default Date.now */
  readonly now?: () => number;
  /** @default 30 */
  readonly failureCooldownSeconds?: number;
}

export type MetadataHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/**
 * Builds the REST API proxy handler (payload 1.0). Everything long-lived (the documents, the metadata cache) is built
 * here once, so one call at cold start serves every warm invocation.
 */
export function createMetadataHandler(options: MetadataHandlerOptions): MetadataHandler {
  const { config, logger } = options;
  const route = createMetadataRouter({
    protectedResourceMetadata: protectedResourceMetadata(config),
    authorizationServerMetadata: createAuthorizationServerMetadataCache({
      issuer: config.issuer,
      timeoutMs: config.asMetadataTimeoutMs,
      ttlSeconds: config.asMetadataTtlSeconds,
      logger,
      ...(options.now ? { now: options.now } : {}),
      ...(options.failureCooldownSeconds === undefined
        ? {}
        : { failureCooldownSeconds: options.failureCooldownSeconds }),
    }),
    issuer: config.issuer,
  });

  return async (event) => {
    const request = metadataRequest(event);
    try {
      const response = await route(request);
      logger.info('Metadata request answered', {
        method: request.method,
        path: event.path,
        resource: event.resource,
        statusCode: response.statusCode,
      });
      return { statusCode: response.statusCode, headers: { ...response.headers }, body: response.body };
    } catch (error) {
      // The router is not expected to throw; if it does, the client still gets JSON rather than the gateway's 502.
      logger.error('Metadata request failed unexpectedly', {
        method: request.method,
        path: event.path,
        errorMessage: error instanceof Error ? error.message : String(error),
      });
      return {
        statusCode: 500,
        headers: {
          'Content-Type': 'application/json',
          'Access-Control-Allow-Origin': '*',
          'Cache-Control': 'no-store',
        },
        body: JSON.stringify({
          error: 'server_error',
          error_description: 'The metadata could not be produced; see the function logs.',
        }),
      };
    }
  };
}

/**
 * The paths a REST API proxy event may have been addressed to. A literal `resource` names the route exactly whatever
 * the stage or base-path mapping; with a greedy resource (`/{proxy+}`) `path` is used, which on the default
 * execute-api endpoint carries no stage prefix (unlike `requestContext.path`).
 */
export function metadataRequest(
  event: Pick<APIGatewayProxyEvent, 'httpMethod' | 'resource' | 'path'>,
): MetadataRequest {
  const paths: string[] = [];
  if (event.resource && !event.resource.includes('{')) paths.push(event.resource);
  if (event.path) paths.push(event.path);
  return { method: event.httpMethod ?? 'GET', paths };
}
