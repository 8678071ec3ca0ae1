/**
 * The Secrets Manager secrets of the template and who may read them, for the local Secrets
 * Manager endpoint (local/aws/secrets-manager.ts): each `AWS::SecretsManager::Secret` gets a value
 * made as its `GenerateSecretString` asks (or its literal `SecretString`), and each function's
 * role is read for the statements that allow or deny `secretsmanager:GetSecretValue` on it, so a
 * function reads locally exactly what IAM would let it read on AWS.
 */
import { generateSecretString, type LocalSecret } from '../aws/secrets-manager';
import { type Resolve, type RoleGrants, roleGrantsOf } from './role-grants';

type Resources = Readonly<Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown> }>>;
export type { Resolve };

/** Who may call what on which secret: function logical id → its role's statements about Secrets Manager. */
export type SecretGrants = RoleGrants;

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

/** Reads each function's role (`Role: Fn::GetAtt [<role>, Arn]`) for what it may do with secrets. */
export function secretGrantsOf(
  resources: Resources,
  functionLogicalIds: readonly string[],
  resolve: Resolve,
): SecretGrants {
  return roleGrantsOf(resources, functionLogicalIds, resolve, 'secretsmanager');
}
