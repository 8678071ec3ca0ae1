/**
 * mcp-authkit-apigateway: a remote MCP server behind WorkOS AuthKit on an API Gateway REST API,
 * as a reusable CDK construct. The Lambda runtime API for your own tools is a separate entry,
 * `mcp-authkit-apigateway/runtime`, which does not load aws-cdk-lib.
 */
export {
  AuthKitMcpServer,
  BEARER_TOKEN_VALIDATION_REGEX,
  type AuthKitMcpServerProps,
  type CustomDomainOptions,
} from './authkit-mcp-server';
export { McpHandler, type McpHandlerEntryOptions } from './mcp-handler';
export { McpServerStack, stackNameForStage, type McpServerStackProps } from './mcp-server-stack';
export {
  loadStageConfig,
  StageConfigError,
  type ContextSource,
  type StageConfig,
  type StageCustomDomain,
} from './stage-config';
export {
  AuthKitMcpServerPropsError,
  DEFAULT_SCOPES_SUPPORTED,
  LOG_LEVELS,
  TOKEN_ALGORITHMS,
  type LogLevel,
  type ResponseTransferMode,
  type TokenAlgorithm,
} from './server-settings';
export { authkitIssuer, InvalidAuthKitDomainError } from './authkit-domain';
export { serverUrls, type ServerUrls } from '../lambda/shared/urls';
