/**
 * The local API Gateway: serves a synthesized stack's REST API on localhost with its Lambda
 * TOKEN or REQUEST authorizer, gateway responses, MOCK and Lambda proxy integrations, running each function's
 * bundled asset from `cdk.out` in its own warm process.
 */
export { startGateway, parseAuthorizerResult, matchRoute } from './server';
export type { GatewayOptions, GatewayStats, RunningGateway } from './server';
export { GatewayStartError, UnsupportedFeatureError, UnresolvableValueError } from './errors';
export type { GatewayStartErrorCode } from './errors';
export type { FunctionStats, ProcessStats } from './lambda-runtime';
export type { IgnoredResource } from './model';
