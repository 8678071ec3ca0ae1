/**
 * The API's resource tree as requests see it: which resource and path parameters a path matches,
 * and the methods it serves.
 */
import type { MethodModel, ResourceNode } from './model';
import { decodeLeniently } from '../../lambda/shared/urls';

export interface RouteMatch {
  readonly node: ResourceNode;
  readonly pathParameters: Record<string, string>;
}

/** Static path parts beat `{param}`, which beats `{proxy+}`, as in API Gateway. */
export function matchRoute(
  node: ResourceNode,
  segments: readonly string[],
  params: Record<string, string> = {},
): RouteMatch | undefined {
  if (segments.length === 0) return { node, pathParameters: params };
  const [head, ...rest] = segments;
  const ordered = [
    ...node.children.filter((c) => !c.pathPart.startsWith('{')),
    ...node.children.filter((c) => c.pathPart.startsWith('{') && !c.pathPart.endsWith('+}')),
    ...node.children.filter((c) => c.pathPart.endsWith('+}')),
  ];
  for (const child of ordered) {
    if (child.pathPart.endsWith('+}')) {
      return {
        node: child,
        pathParameters: { ...params, [child.pathPart.slice(1, -2)]: segments.map(decodeLeniently).join('/') },
      };
    }
    if (child.pathPart.startsWith('{')) {
      const found = matchRoute(child, rest, { ...params, [child.pathPart.slice(1, -1)]: decodeLeniently(head) });
      if (found) return found;
    } else if (child.pathPart === decodeLeniently(head)) {
      const found = matchRoute(child, rest, params);
      if (found) return found;
    }
  }
  return undefined;
}

/** `METHOD /path` of every method under `node`, with its authorization. */
export function listRoutes(node: ResourceNode): string[] {
  const own = [...node.methods.values()].map(
    (m) =>
      `${m.httpMethod} ${node.resourcePath}${m.authorizer ? ` (TOKEN authorizer ${m.authorizer.logicalId})` : ''}${m.integration.kind === 'mock' ? ' (MOCK)' : ''}`,
  );
  return [...own, ...node.children.flatMap(listRoutes)];
}

/** Every method under `node`, depth first. */
export function allMethods(node: ResourceNode): MethodModel[] {
  return [...node.methods.values(), ...node.children.flatMap(allMethods)];
}
