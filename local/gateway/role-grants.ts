/**
 * What each function's role lets it do with one AWS service, read from the template as IAM would
 * decide it for the local AWS endpoints (local/aws/): the role's inline policies and the
 * `AWS::IAM::Policy` resources attached to it, a matching Deny winning over any Allow, and no
 * matching Allow meaning no access. Conditions are not evaluated.
 */

type Resources = Readonly<Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown> }>>;
/** Resolves a template value (intrinsics included) to what it is on the local stack. */
export type Resolve = (value: unknown, where: string) => unknown;

interface Statement {
  readonly effect: 'Allow' | 'Deny';
  readonly actions: readonly string[];
  readonly resources: readonly string[];
}

/** Who may call what on which resource: function logical id → its role's statements about one service. */
export interface RoleGrants {
  mayAccess(functionLogicalId: string, action: string, arn: string): boolean;
}

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);

/** `*` and `?` as IAM reads them in actions and resource ARNs. */
function matches(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
}

/** The role's statements (inline policies and attached AWS::IAM::Policy resources) that name the service. */
function statementsOfRole(resources: Resources, roleId: string, resolve: Resolve, service: string): Statement[] {
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
      if (!actions.some((a) => a === '*' || a.toLowerCase().startsWith(`${service}:`))) continue;
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

/** Reads each function's role (`Role: Fn::GetAtt [<role>, Arn]`) for what it may do with `service` (`secretsmanager`, `lambda`). */
export function roleGrantsOf(
  resources: Resources,
  functionLogicalIds: readonly string[],
  resolve: Resolve,
  service: string,
): RoleGrants {
  const byFunction = new Map<string, Statement[]>();
  for (const id of functionLogicalIds) {
    const role = resources[id]?.Properties?.Role as { 'Fn::GetAtt'?: [string, string] } | undefined;
    const roleId = role?.['Fn::GetAtt']?.[0];
    byFunction.set(id, roleId === undefined ? [] : statementsOfRole(resources, roleId, resolve, service));
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
