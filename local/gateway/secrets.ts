/**
 * The Secrets Manager secrets of the template and who may read them, for the local Secrets
 * Manager endpoint (local/aws/secrets-manager.ts): each `AWS::SecretsManager::Secret` gets a value
 * made as its `GenerateSecretString` asks (or its literal `SecretString`), and each function's
 * role is read for the statements that allow or deny `secretsmanager:GetSecretValue` on it, so a
 * function reads locally exactly what IAM would let it read on AWS.
 */
import { generateSecretString, type LocalSecret } from '../aws/secrets-manager';

type Resources = Readonly<Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown> }>>;
/** Resolves a template value (intrinsics included) to what it is on the local stack. */
export type Resolve = (value: unknown, where: string) => unknown;

interface Statement {
  readonly effect: 'Allow' | 'Deny';
  readonly actions: readonly string[];
  readonly resources: readonly string[];
}

/** Who may call what on which secret: function logical id → its role's statements about Secrets Manager. */
export interface SecretGrants {
  mayAccess(functionLogicalId: string, action: string, arn: string): boolean;
}

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);

/** The template's secrets, each with a fresh value for this run. */
export function secretsOf(
  resources: Resources,
  physicalArn: (logicalId: string) => string,
  resolve: Resolve,
): LocalSecret[] {
  const secrets: LocalSecret[] = [];
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::SecretsManager::Secret') continue;
    const p = resource.Properties ?? {};
    const arn = physicalArn(logicalId);
    const name = p.Name !== undefined ? String(resolve(p.Name, `${logicalId}.Name`)) : arn.split(':secret:')[1];
    secrets.push({
      arn,
      name,
      value:
        p.SecretString !== undefined
          ? String(resolve(p.SecretString, `${logicalId}.SecretString`))
          : generated(p.GenerateSecretString as Record<string, unknown> | undefined),
    });
  }
  return secrets;
}

function generated(spec: Record<string, unknown> = {}): string {
  let exclude = typeof spec.ExcludeCharacters === 'string' ? spec.ExcludeCharacters : '';
  if (spec.ExcludePunctuation === true) exclude += '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
  if (spec.ExcludeNumbers === true) exclude += '0123456789';
  if (spec.ExcludeUppercase === true) exclude += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  if (spec.ExcludeLowercase === true) exclude += 'abcdefghijklmnopqrstuvwxyz';
  const value = generateSecretString(typeof spec.PasswordLength === 'number' ? spec.PasswordLength : 32, exclude);
  if (typeof spec.SecretStringTemplate === 'string' && typeof spec.GenerateStringKey === 'string') {
    return JSON.stringify({ ...(JSON.parse(spec.SecretStringTemplate) as object), [spec.GenerateStringKey]: value });
  }
  return value;
}

/** `*` and `?` as IAM reads them in actions and resource ARNs. */
function matches(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
}

/** The role's statements (inline policies and attached AWS::IAM::Policy resources) that name Secrets Manager. */
function statementsOfRole(resources: Resources, roleId: string, resolve: Resolve): Statement[] {
  const documents: { doc: unknown; where: string }[] = [];
  for (const [logicalId, resource] of Object.entries(resources)) {
    const p = resource.Properties ?? {};
    if (resource.Type === 'AWS::IAM::Policy' && list(p.Roles).some((r) => (r as { Ref?: string })?.Ref === roleId))
      documents.push({ doc: p.PolicyDocument, where: logicalId });
    if (resource.Type === 'AWS::IAM::Role' && logicalId === roleId) {
      for (const policy of list(p.Policies))
        documents.push({ doc: (policy as { PolicyDocument?: unknown }).PolicyDocument, where: logicalId });
    }
  }
  const statements: Statement[] = [];
  for (const { doc, where } of documents) {
    for (const raw of list((doc as { Statement?: unknown } | undefined)?.Statement)) {
      const s = raw as { Effect?: string; Action?: unknown; Resource?: unknown };
      const actions = list(s.Action).map(String);
      if (!actions.some((a) => a === '*' || a.toLowerCase().startsWith('secretsmanager:'))) continue;
      let resourcesOf: string[];
      try {
        resourcesOf = list(resolve(s.Resource, `${where}.PolicyDocument.Statement.Resource`)).map(String);
      } catch {
        continue; // A resource this runner cannot resolve cannot name a local secret.
      }
      statements.push({ effect: s.Effect === 'Deny' ? 'Deny' : 'Allow', actions, resources: resourcesOf });
    }
  }
  return statements;
}

/** Reads each function's role (`Role: Fn::GetAtt [<role>, Arn]`) for what it may do with secrets. */
export function secretGrantsOf(
  resources: Resources,
  functionLogicalIds: readonly string[],
  resolve: Resolve,
): SecretGrants {
  const byFunction = new Map<string, Statement[]>();
  for (const id of functionLogicalIds) {
    const role = resources[id]?.Properties?.Role as { 'Fn::GetAtt'?: [string, string] } | undefined;
    const roleId = role?.['Fn::GetAtt']?.[0];
    byFunction.set(id, roleId === undefined ? [] : statementsOfRole(resources, roleId, resolve));
  }
  return {
    mayAccess(functionLogicalId, action, arn) {
      const applicable = (byFunction.get(functionLogicalId) ?? []).filter(
        (s) => s.actions.some((a) => matches(a, action, true)) && s.resources.some((r) => matches(r, arn, false)),
      );
      return applicable.some((s) => s.effect === 'Allow') && !applicable.some((s) => s.effect === 'Deny');
    },
  };
}
