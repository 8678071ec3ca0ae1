/**
 * What each function's role lets it do with one AWS service, read from the synthesized template as
 * IAM would read it: the statements of the role's inline policies and of the `AWS::IAM::Policy`
 * resources attached to it that name the service's actions (or `*`). A call is allowed when an
 * Allow statement matches its action and resource and no Deny does. Used by the local Secrets
 * Manager and the local DynamoDB, so a function reaches locally exactly what its role reaches on AWS.
 */
import { wildcardMatch } from './policy';

type Resources = Readonly<Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown> }>>;
/** Resolves a template value (intrinsics included) to what it is on the local stack. */
export type Resolve = (value: unknown, where: string) => unknown;

interface Statement {
  readonly effect: 'Allow' | 'Deny';
  readonly actions: readonly string[];
  readonly resources: readonly string[];
}

/** Who may call what on which resource of one service: function logical id → its role's statements. */
export interface RoleGrants {
  /** Whether the function's role allows `action` (e.g. `dynamodb:PutItem`) on `arn`, and denies neither. */
  mayAccess(functionLogicalId: string, action: string, arn: string): boolean;
}

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);

/** The role's policy documents: inline ones and those of attached AWS::IAM::Policy resources. */
function documentsOfRole(resources: Resources, roleId: string): { doc: unknown; where: string }[] {
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
  return documents;
}

/** The role's statements that name `service` (`secretsmanager`, `dynamodb`) or every action. */
function statementsOfRole(resources: Resources, roleId: string, service: string, resolve: Resolve): Statement[] {
  const prefix = `${service.toLowerCase()}:`;
  const statements: Statement[] = [];
  for (const { doc, where } of documentsOfRole(resources, roleId)) {
    for (const raw of list((doc as { Statement?: unknown } | undefined)?.Statement)) {
      const s = raw as { Effect?: string; Action?: unknown; Resource?: unknown };
      const actions = list(s.Action).map(String);
      if (!actions.some((a) => a === '*' || a.toLowerCase().startsWith(prefix))) continue;
      let resourcesOf: string[];
      try {
        resourcesOf = list(resolve(s.Resource, `${where}.PolicyDocument.Statement.Resource`)).map(String);
      } catch {
        continue; // A resource this runner cannot resolve cannot name a local one.
      }
      statements.push({ effect: s.Effect === 'Deny' ? 'Deny' : 'Allow', actions, resources: resourcesOf });
    }
  }
  return statements;
}

/** Reads each function's role (`Role: Fn::GetAtt [<role>, Arn]`) for what it may do with `service`. */
export function roleGrantsOf(
  resources: Resources,
  functionLogicalIds: readonly string[],
  service: string,
  resolve: Resolve,
): RoleGrants {
  const byFunction = new Map<string, Statement[]>();
  for (const id of functionLogicalIds) {
    const role = resources[id]?.Properties?.Role as { 'Fn::GetAtt'?: [string, string] } | undefined;
    const roleId = role?.['Fn::GetAtt']?.[0];
    byFunction.set(id, roleId === undefined ? [] : statementsOfRole(resources, roleId, service, resolve));
  }
  return {
    mayAccess(functionLogicalId, action, arn) {
      // Action names are case-insensitive in IAM; resource ARNs are not.
      const applicable = (byFunction.get(functionLogicalId) ?? []).filter(
        (s) => s.actions.some((a) => wildcardMatch(a, action, true)) && s.resources.some((r) => wildcardMatch(r, arn)),
      );
      return applicable.some((s) => s.effect === 'Allow') && !applicable.some((s) => s.effect === 'Deny');
    },
  };
}
