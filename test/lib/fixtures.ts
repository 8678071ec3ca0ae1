/** Small factories for the construct and stack tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AuthKitMcpServer, type AuthKitMcpServerProps } from '../../lib/authkit-mcp-server';

/** Context that skips esbuild bundling: unit tests look at the template, not the bundles. */
export const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] as string[] };

// An App without `outdir` makes a new `cdk.outXXXX` folder in the system temp folder and never
// removes it; every test app here writes below one folder per test file, removed after the file.
let outdirRoot: string | undefined;
afterAll(() => {
  if (outdirRoot !== undefined) rmSync(outdirRoot, { recursive: true, force: true });
  outdirRoot = undefined;
});

function freshOutdir(): string {
  outdirRoot ??= mkdtempSync(join(tmpdir(), 'cdk-test-apps-'));
  return mkdtempSync(join(outdirRoot, 'cdk.out-'));
}

export function testApp(context: Record<string, unknown> = {}): App {
  return new App({ outdir: freshOutdir(), context: { ...NO_BUNDLING, ...context } });
}

export function serverStack(props: Partial<AuthKitMcpServerProps> = {}): {
  stack: Stack;
  server: AuthKitMcpServer;
  template: Template;
} {
  const app = testApp();
  const stack = new Stack(app, 'TestStack');
  const server = new AuthKitMcpServer(stack, 'McpServer', { authkitDomain: 'acme.authkit.app', ...props });
  server.addOutputs();
  return { stack, server, template: Template.fromStack(stack) };
}

type Json = unknown;

/**
 * Renders a CloudFormation string value (a literal or an `Fn::Join`) to text, with each `Ref`
 * shown as `{Ref:<logical id or pseudo parameter>}`, so a test can compare a whole URL or header
 * value at once.
 */
export function renderCfnString(value: Json, refName: (ref: string) => string = (ref) => `{Ref:${ref}}`): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const record = value as Record<string, Json>;
    if ('Fn::Join' in record) {
      const [separator, parts] = record['Fn::Join'] as [string, Json[]];
      return parts.map((part) => renderCfnString(part, refName)).join(separator);
    }
    if ('Ref' in record) return refName(record.Ref as string);
  }
  throw new Error(`Cannot render ${JSON.stringify(value)} as a string`);
}

/** The logical id of the only resource of a type whose properties match. */
export function logicalIdOf(template: Template, type: string, props: Record<string, unknown> = {}): string {
  const found = Object.keys(template.findResources(type, { Properties: props }));
  if (found.length !== 1)
    throw new Error(`Expected one ${type} matching ${JSON.stringify(props)}, found ${found.length}`);
  return found[0];
}

export interface Route {
  readonly path: string;
  readonly method: string;
  readonly authorizationType: string;
  readonly authorizerId?: Json;
  readonly integrationType: string;
  /** The logical id of the Lambda function the integration invokes, if any. */
  readonly functionLogicalId?: string;
  readonly properties: Record<string, Json>;
}

/** Every method of the template's REST API with its full resource path. */
export function routes(template: Template): Route[] {
  const resources = template.findResources('AWS::ApiGateway::Resource');
  const pathOf = (parent: Json): string => {
    const ref = (parent as { Ref?: string }).Ref;
    if (ref === undefined) return ''; // Fn::GetAtt RootResourceId
    const resource = resources[ref].Properties as { ParentId: Json; PathPart: string };
    return `${pathOf(resource.ParentId)}/${resource.PathPart}`;
  };
  return Object.values(template.findResources('AWS::ApiGateway::Method')).map((m) => {
    const p = m.Properties as Record<string, Json>;
    const integration = p.Integration as { Type: string; Uri?: Json };
    const uriText = integration.Uri === undefined ? '' : JSON.stringify(integration.Uri);
    const fnMatch = /"Fn::GetAtt":\["([^"]+)","Arn"\]/.exec(uriText);
    return {
      path: pathOf(p.ResourceId) || '/',
      method: p.HttpMethod as string,
      authorizationType: p.AuthorizationType as string,
      ...(p.AuthorizerId === undefined ? {} : { authorizerId: p.AuthorizerId }),
      integrationType: integration.Type,
      ...(fnMatch ? { functionLogicalId: fnMatch[1] } : {}),
      properties: p,
    };
  });
}

/** The value a lookup found, or a test failure that says what was missing. */
export function found<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`Expected ${what}, found none`);
  return value;
}
