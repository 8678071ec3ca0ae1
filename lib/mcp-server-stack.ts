import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import type { Construct } from 'constructs';
import { AuthKitMcpServer, type AuthKitMcpServerProps } from './authkit-mcp-server';
import type { McpHandler } from './mcp-handler';
import { AuthKitMcpServerPropsError } from './server-settings';
import { StageConfigError, type StageConfig } from './stage-config';

export interface McpServerStackProps extends StackProps {
  /** The stage to deploy, from {@link loadStageConfig}. */
  readonly stage: StageConfig;
  /**
   * The function behind `/mcp`.
   * @default - McpHandler.sampleServer()
   */
  readonly mcpHandler?: McpHandler;
}

/** The name of the stack that deploys a stage. */
export function stackNameForStage(stage: string): string {
  return `McpServer-${stage}`;
}

/** One deployment of the MCP server: one stack per stage, with the outputs a deployer needs. */
export class McpServerStack extends Stack {
  readonly server: AuthKitMcpServer;

  constructor(scope: Construct, id: string, props: McpServerStackProps) {
    const { stage } = props;
    super(scope, id, {
      description: `MCP server behind WorkOS AuthKit (stage ${stage.name})`,
      ...(stage.account || stage.region ? { env: { account: stage.account, region: stage.region } } : {}),
      ...props,
    });
    try {
      this.server = new AuthKitMcpServer(this, 'McpServer', {
        ...serverProps(stage, this),
        ...(props.mcpHandler ? { mcpHandler: props.mcpHandler } : {}),
      });
    } catch (error) {
      // Name the stage: the prop that failed is a field of that stage in cdk.json.
      if (error instanceof AuthKitMcpServerPropsError)
        throw new StageConfigError(`Stage "${stage.name}": ${error.message}`);
      throw error;
    }
    this.server.addOutputs(this);
  }
}

const seconds = (value: number | undefined) => (value === undefined ? undefined : Duration.seconds(value));

function serverProps(stage: StageConfig, scope: Construct): AuthKitMcpServerProps {
  const customDomain = stage.customDomain
    ? {
        domainName: stage.customDomain.domainName,
        certificate: acm.Certificate.fromCertificateArn(scope, 'Certificate', stage.customDomain.certificateArn),
        ...(stage.customDomain.hostedZoneId && stage.customDomain.hostedZoneName
          ? {
              hostedZone: route53.HostedZone.fromHostedZoneAttributes(scope, 'HostedZone', {
                hostedZoneId: stage.customDomain.hostedZoneId,
                zoneName: stage.customDomain.hostedZoneName,
              }),
            }
          : {}),
      }
    : undefined;
  const optional = <K extends keyof AuthKitMcpServerProps>(key: K, value: AuthKitMcpServerProps[K] | undefined) =>
    value === undefined ? {} : ({ [key]: value } as Pick<AuthKitMcpServerProps, K>);
  return {
    authkitDomain: stage.authkitDomain,
    stageName: stage.apiStageName ?? stage.name,
    serviceName: `mcp-server-${stage.name}`,
    ...optional('publicBaseUrl', stage.publicBaseUrl),
    ...optional('customDomain', customDomain),
    ...optional('disableExecuteApiEndpoint', stage.disableExecuteApiEndpoint),
    ...optional('requiredScopes', stage.requiredScopes),
    ...optional('scopesSupported', stage.scopesSupported),
    ...optional('acceptedAudiences', stage.acceptedAudiences),
    ...optional('allowMultipleAudiences', stage.allowMultipleAudiences),
    ...optional('tokenAlgorithms', stage.tokenAlgorithms),
    ...optional(
      'authorizerCacheTtl',
      stage.authorizerCacheTtlSeconds === undefined ? undefined : Duration.seconds(stage.authorizerCacheTtlSeconds),
    ),
    ...optional('resourceName', stage.resourceName),
    ...optional('resourceDocumentation', stage.resourceDocumentation),
    ...optional('throttlingRateLimit', stage.throttlingRateLimit),
    ...optional('throttlingBurstLimit', stage.throttlingBurstLimit),
    ...optional('logRetention', stage.logRetentionDays as logs.RetentionDays | undefined),
    ...optional('allowedOrigins', stage.allowedOrigins),
    ...optional('maxRequestBodyBytes', stage.maxRequestBodyBytes),
    ...optional('authorizerMemorySize', stage.authorizerMemorySize),
    ...optional('metadataMemorySize', stage.metadataMemorySize),
    ...optional('mcpMemorySize', stage.mcpMemorySize),
    ...optional('responseTransferMode', stage.responseTransferMode),
    ...optional('mcpTimeout', seconds(stage.mcpTimeoutSeconds)),
    ...optional('mcpReservedConcurrency', stage.mcpReservedConcurrency),
    ...optional('subscriptionMaxDuration', seconds(stage.subscriptionMaxDurationSeconds)),
    ...optional('rateLimitPerIp', stage.rateLimitPerIp),
    ...optional('rateLimitWindow', seconds(stage.rateLimitWindowSeconds)),
    ...optional('tracing', stage.tracing),
    ...optional('logLevel', stage.logLevel),
    ...optional('apiGatewayCloudWatchRole', stage.apiGatewayCloudWatchRole),
    ...optional('webAclArn', stage.webAclArn),
  };
}
