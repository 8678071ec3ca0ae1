/**
 * The physical names and ARNs CloudFormation would give a stack's resources (`Ref`, `Fn::GetAtt`),
 * made up locally but stable: derived from the stack name and logical ids, so a restart gives the
 * same ids, and the served API's id is the one its execute-api URL is built from.
 */
import { createHash } from 'node:crypto';
import type { CfnResource, LoadedStack, PhysicalValues } from './template';

/** A stable id of `length` lowercase letters and digits, derived from `seed`. */
export function shortId(seed: string, length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const digest = createHash('sha256').update(seed).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[digest[i] % alphabet.length];
  return out;
}

/** The REST API being served: its logical id, and the ids API Gateway would give it and its root resource. */
export interface ServedApi {
  readonly restApiLogicalId: string;
  readonly apiId: string;
  readonly rootId: string;
}

export function servedApi(stackName: string, restApiLogicalId: string): ServedApi {
  const apiId = shortId(`${stackName}/${restApiLogicalId}`, 10);
  return { restApiLogicalId, apiId, rootId: shortId(`${apiId}/root`, 10) };
}

/** Resolves a template value that must be a string; names read from properties go through it. */
export type ResolveString = (value: unknown, where: string) => string;

/** The `Ref` and `Fn::GetAtt` values of a stack's resources, as the intrinsic resolver needs them. */
export class PhysicalNames implements PhysicalValues {
  // Function names are needed to resolve other values, so they are computed on demand, once.
  private readonly functionNames = new Map<string, string>();
  private readonly resources: Readonly<Record<string, CfnResource>>;

  constructor(
    private readonly stack: LoadedStack,
    private readonly account: { readonly region: string; readonly accountId: string },
    private readonly api: ServedApi,
    private readonly resolveString: ResolveString,
  ) {
    this.resources = stack.template.Resources;
  }

  functionName(logicalId: string): string {
    let name = this.functionNames.get(logicalId);
    if (name === undefined) {
      const declared = this.resources[logicalId].Properties?.FunctionName;
      name =
        declared !== undefined
          ? this.resolveString(declared, `${logicalId}.FunctionName`)
          : `${this.stack.stackName}-${logicalId}`.slice(0, 64);
      this.functionNames.set(logicalId, name);
    }
    return name;
  }

  functionArn(logicalId: string): string {
    return `arn:aws:lambda:${this.account.region}:${this.account.accountId}:function:${this.functionName(logicalId)}`;
  }

  /** The id of a resource, authorizer, deployment, method, validator or model of the served API. */
  apiChildId(logicalId: string): string {
    return shortId(`${this.api.apiId}/${logicalId}`, 6);
  }

  /** The ARN a function is given for a secret; what it reads there is up to the local runner. */
  secretArn(logicalId: string): string {
    return `arn:aws:secretsmanager:${this.account.region}:${this.account.accountId}:secret:${this.stack.stackName}-${logicalId}-${shortId(logicalId, 6)}`;
  }

  /** A table's name: its `TableName`, or one made as CloudFormation makes them (stack, logical id, suffix). */
  tableName(logicalId: string): string {
    const declared = this.resources[logicalId].Properties?.TableName;
    return declared !== undefined
      ? this.resolveString(declared, `${logicalId}.TableName`)
      : `${this.stack.stackName}-${logicalId}-${shortId(logicalId, 12).toUpperCase()}`;
  }

  tableArn(logicalId: string): string {
    return `arn:aws:dynamodb:${this.account.region}:${this.account.accountId}:table/${this.tableName(logicalId)}`;
  }

  webAclArn(logicalId: string): string {
    return `arn:aws:wafv2:${this.account.region}:${this.account.accountId}:regional/webacl/${this.webAclName(logicalId)}/${this.webAclId(logicalId)}`;
  }

  ref(logicalId: string): string | undefined {
    const resource = this.resources[logicalId];
    if (!resource) return undefined;
    switch (resource.Type) {
      case 'AWS::ApiGateway::RestApi':
        return logicalId === this.api.restApiLogicalId
          ? this.api.apiId
          : shortId(`${this.stack.stackName}/${logicalId}`, 10);
      case 'AWS::ApiGateway::Resource':
      case 'AWS::ApiGateway::Authorizer':
      case 'AWS::ApiGateway::Deployment':
      case 'AWS::ApiGateway::Method':
      case 'AWS::ApiGateway::RequestValidator':
      case 'AWS::ApiGateway::Model':
        return this.apiChildId(logicalId);
      case 'AWS::ApiGateway::Stage':
        return this.resolveString(resource.Properties?.StageName, `${logicalId}.StageName`);
      case 'AWS::Lambda::Function':
        return this.functionName(logicalId);
      case 'AWS::Lambda::Alias':
      case 'AWS::Lambda::Version':
        return this.qualifiedFunctionArn(logicalId, resource);
      case 'AWS::IAM::Role':
        return this.roleName(logicalId);
      case 'AWS::SecretsManager::Secret':
        return this.secretArn(logicalId);
      case 'AWS::DynamoDB::Table':
        return this.tableName(logicalId);
      case 'AWS::WAFv2::WebACL':
        // CloudFormation's Ref of a web ACL is `name|id|scope`.
        return `${this.webAclName(logicalId)}|${this.webAclId(logicalId)}|${this.resolveString(resource.Properties?.Scope ?? 'REGIONAL', `${logicalId}.Scope`)}`;
      case 'AWS::Logs::LogGroup':
        return this.logGroupName(logicalId, resource);
      default:
        return undefined;
    }
  }

  getAtt(logicalId: string, attribute: string): string | undefined {
    const resource = this.resources[logicalId];
    if (!resource) return undefined;
    const { region, accountId } = this.account;
    switch (`${resource.Type}.${attribute}`) {
      case 'AWS::ApiGateway::RestApi.RootResourceId':
        return logicalId === this.api.restApiLogicalId ? this.api.rootId : shortId(`${logicalId}/root`, 10);
      case 'AWS::ApiGateway::RestApi.RestApiId':
      case 'AWS::ApiGateway::Resource.ResourceId':
      case 'AWS::ApiGateway::Authorizer.AuthorizerId':
      case 'AWS::ApiGateway::Deployment.DeploymentId':
        return this.ref(logicalId);
      case 'AWS::Lambda::Function.Arn':
        return this.functionArn(logicalId);
      case 'AWS::IAM::Role.Arn':
        return `arn:aws:iam::${accountId}:role/${this.roleName(logicalId)}`;
      case 'AWS::DynamoDB::Table.Arn':
        return this.tableArn(logicalId);
      case 'AWS::WAFv2::WebACL.Arn':
        return this.webAclArn(logicalId);
      case 'AWS::WAFv2::WebACL.Id':
        return this.webAclId(logicalId);
      case 'AWS::Logs::LogGroup.Arn':
        return `arn:aws:logs:${region}:${accountId}:log-group:${this.logGroupName(logicalId, resource)}:*`;
      default:
        return undefined;
    }
  }

  private qualifiedFunctionArn(logicalId: string, resource: CfnResource): string {
    const target = this.resolveString(resource.Properties?.FunctionName, `${logicalId}.FunctionName`);
    const qualifier =
      resource.Type === 'AWS::Lambda::Alias' ? this.resolveString(resource.Properties?.Name, `${logicalId}.Name`) : '1';
    const base = target.startsWith('arn:')
      ? target
      : `arn:aws:lambda:${this.account.region}:${this.account.accountId}:function:${target}`;
    return `${base}:${qualifier}`;
  }

  private roleName(logicalId: string): string {
    return `${this.stack.stackName}-${logicalId}`.slice(0, 64);
  }

  private logGroupName(logicalId: string, resource: CfnResource): string {
    return resource.Properties?.LogGroupName !== undefined
      ? this.resolveString(resource.Properties.LogGroupName, `${logicalId}.LogGroupName`)
      : `${this.stack.stackName}-${logicalId}`;
  }

  private webAclName(logicalId: string): string {
    const declared = this.resources[logicalId].Properties?.Name;
    return declared !== undefined
      ? this.resolveString(declared, `${logicalId}.Name`)
      : `${logicalId}-${shortId(logicalId, 12)}`;
  }

  private webAclId(logicalId: string): string {
    return shortId(`${this.stack.stackName}/${logicalId}/id`, 36);
  }
}
