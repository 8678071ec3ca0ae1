/**
 * mcp-authkit-apigateway: a remote MCP server behind WorkOS AuthKit on an API Gateway REST API,
 * as a reusable CDK construct. The Lambda runtime API for your own tools is a separate entry,
 * `mcp-authkit-apigateway/runtime`, which does not load aws-cdk-lib.
 *
 * This entry is the construct, `McpHandler` and the types their props and fields use. This
 * repository's own stage app (`-c stage=NAME`, stages in cdk.json) is not part of it: another app
 * configures the construct with typed props.
 */
export {
  AuthKitMcpServer,
  type AuthKitMcpServerProps,
  type CustomDomainOptions,
} from './authkit-mcp-server';
export { McpHandler, type McpHandlerEntryOptions } from './mcp-handler';
export { ALARM_THRESHOLDS, ServerMonitoring, type ServerMonitoringProps } from './monitoring';
export {
  AuthKitMcpServerPropsError,
  type LogLevel,
  type ResponseTransferMode,
  type TokenAlgorithm,
} from './server-settings';
export type { ServerUrls } from '../lambda/shared/urls';
