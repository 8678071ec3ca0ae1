import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { loadMetadataConfig, type MetadataConfig } from './config';
import { createMetadataHandler } from './handler';

// Built once per execution environment; the service name, log level and sampling come from POWERTOOLS_* variables.
const logger = new Logger();

function loadConfigOrExplain(): MetadataConfig {
  try {
    return loadMetadataConfig(process.env);
  } catch (error) {
    logger.critical('The metadata function is misconfigured and will not serve requests', {
      errorMessage: error instanceof Error ? error.message : String(error),
    });
    throw error;
  }
}

const config = loadConfigOrExplain();
if (config.ignoredScopes.length > 0) {
  logger.warn('Scopes left out of the protected-resource metadata', {
    ignoredScopes: config.ignoredScopes,
    reason: 'offline_access is never a resource scope',
  });
}
logger.info('Metadata function configured', {
  resource: config.urls.resource,
  issuer: config.issuer,
  scopesSupported: config.scopesSupported,
  asMetadataTtlSeconds: config.asMetadataTtlSeconds,
  asMetadataTimeoutMs: config.asMetadataTimeoutMs,
});

const handleMetadataRequest = createMetadataHandler({ config, logger });

export async function handler(event: APIGatewayProxyEvent, context?: Context): Promise<APIGatewayProxyResult> {
  if (context) logger.addContext(context);
  return handleMetadataRequest(event);
}
