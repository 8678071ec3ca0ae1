import { Stack, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { ToolScopes } from '../lambda/shared/challenges';
import { DEFAULT_SERVICE_NAME } from '../lambda/shared/settings/common';
import { AuthKitMcpServer } from '../lib/authkit-mcp-server';
import type { AuthKitMcpServerProps, CustomDomainOptions } from '../lib/authkit-mcp-server-props';
import type { McpHandler } from '../lib/mcp-handler';
import { AuthKitMcpServerPropsError } from '../lib/server-settings';
import { StageConfigError } from './stage-config';
import { stageProps, type StageConfig, type StageCustomDomain } from './stage-fields';

export interface McpServerStackProps extends StackProps {
  /** The stage to deploy, from {@link loadStageConfig}. */
  readonly stage: StageConfig;
  /**
   * The function behind `/mcp`.
   * @default - McpHandler.sampleServer()
   */
  readonly mcpHandler?: McpHandler;
  /**
   * The MCP handler's tool scopes (`toolScopesOf(tools)` over the definitions it serves), which
   * the gateway judges when the stage turns `stepUpChallenge` on.
   * @default - none: a stage with stepUpChallenge is refused
   */
  readonly toolScopes?: ToolScopes;
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
        ...stepUpChallenge(stage, props.toolScopes),
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

/** The props of a stage: its fields, the custom domain it references, its stage and service names. */
function serverProps(stage: StageConfig, scope: Construct): AuthKitMcpServerProps {
  return {
    stageName: stage.name,
    serviceName: `${DEFAULT_SERVICE_NAME}-${stage.name}`,
    ...stageProps(stage),
    authkitDomain: stage.authkitDomain,
    ...(stage.customDomain ? { customDomain: customDomain(stage.customDomain, scope) } : {}),
    ...workosApiKeySecret(stage, scope),
  };
}

/** The step-up challenge a stage turns on, over the tool scopes the app derived from its tools. */
function stepUpChallenge(
  stage: StageConfig,
  toolScopes: ToolScopes | undefined,
): Pick<AuthKitMcpServerProps, 'stepUpChallenge'> {
  if (stage.stepUpChallenge !== true) return {};
  if (toolScopes === undefined) {
    throw new StageConfigError(
      `Stage "${stage.name}": stepUpChallenge is true, but the app passes no toolScopes for its MCP handler. Pass toolScopes: toolScopesOf(tools) to McpServerStack, or set stepUpChallenge to false.`,
    );
  }
  return { stepUpChallenge: { toolScopes } };
}

/** The WorkOS API key's secret a stage names by ARN or by name, imported into the stack. */
function workosApiKeySecret(stage: StageConfig, scope: Construct): Pick<AuthKitMcpServerProps, 'workosApiKeySecret'> {
  if (stage.workosApiKeySecretArn !== undefined) {
    return {
      workosApiKeySecret: secretsmanager.Secret.fromSecretCompleteArn(
        scope,
        'WorkOSApiKey',
        stage.workosApiKeySecretArn,
      ),
    };
  }
  if (stage.workosApiKeySecretName !== undefined) {
    return {
      workosApiKeySecret: secretsmanager.Secret.fromSecretNameV2(scope, 'WorkOSApiKey', stage.workosApiKeySecretName),
    };
  }
  return {};
}

/** The certificate and hosted zone a stage names by reference, imported into the stack. */
function customDomain(domain: StageCustomDomain, scope: Construct): CustomDomainOptions {
  return {
    domainName: domain.domainName,
    certificate: acm.Certificate.fromCertificateArn(scope, 'Certificate', domain.certificateArn),
    ...(domain.hostedZoneId && domain.hostedZoneName
      ? {
          hostedZone: route53.HostedZone.fromHostedZoneAttributes(scope, 'HostedZone', {
            hostedZoneId: domain.hostedZoneId,
            zoneName: domain.hostedZoneName,
          }),
        }
      : {}),
  };
}
