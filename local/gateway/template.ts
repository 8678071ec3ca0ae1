/**
 * Reading a synthesized stack from a cloud assembly (`cdk.out`) and resolving the CloudFormation
 * intrinsics its request-time values use.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GatewayStartError, UnresolvableValueError, UnsupportedFeatureError } from './errors';

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly Condition?: string;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Parameters?: Record<string, { Type: string; Default?: unknown }>;
  readonly Conditions?: Record<string, unknown>;
  readonly Mappings?: Record<string, Record<string, Record<string, unknown>>>;
}

export interface LoadedStack {
  /** The CloudFormation stack name (as `cdk deploy` would create it). */
  readonly stackName: string;
  readonly template: CfnTemplate;
  /** The folder of the assembly that holds the template; asset paths are relative to it. */
  readonly assemblyDir: string;
  /** S3 object key of each file asset → its folder or file in the assembly. */
  readonly assetPathByObjectKey: ReadonlyMap<string, string>;
}

interface ManifestArtifact {
  readonly type: string;
  readonly displayName?: string;
  readonly properties?: { templateFile?: string; stackName?: string; directoryName?: string; file?: string };
}

interface AssemblyManifest {
  readonly artifacts?: Record<string, ManifestArtifact>;
}

interface StackCandidate {
  readonly artifactId: string;
  readonly stackName: string;
  readonly displayName: string;
  readonly assemblyDir: string;
  readonly templateFile: string;
}

function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

// Stacks inside CDK Stages live in nested assemblies (`assembly-<Stage>/`), so walk them all.
function stackCandidates(assemblyDir: string, seen = new Set<string>()): StackCandidate[] {
  const manifestFile = path.join(assemblyDir, 'manifest.json');
  if (seen.has(assemblyDir) || !fs.existsSync(manifestFile)) return [];
  seen.add(assemblyDir);
  const manifest = readJson(manifestFile) as AssemblyManifest;
  const found: StackCandidate[] = [];
  for (const [artifactId, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type === 'aws:cloudformation:stack' && artifact.properties?.templateFile) {
      found.push({
        artifactId,
        stackName: artifact.properties.stackName ?? artifactId,
        displayName: artifact.displayName ?? artifactId,
        assemblyDir,
        templateFile: path.join(assemblyDir, artifact.properties.templateFile),
      });
    } else if (artifact.type === 'cdk:cloud-assembly' && artifact.properties?.directoryName) {
      found.push(...stackCandidates(path.join(assemblyDir, artifact.properties.directoryName), seen));
    }
  }
  return found;
}

/** Asset manifests (`*.assets.json`) map each S3 object key to the asset's source in the assembly. */
function assetPaths(assemblyDir: string): Map<string, string> {
  const byKey = new Map<string, string>();
  for (const file of fs.readdirSync(assemblyDir)) {
    if (!file.endsWith('.assets.json')) continue;
    const manifest = readJson(path.join(assemblyDir, file)) as {
      files?: Record<string, { source?: { path?: string }; destinations?: Record<string, { objectKey?: string }> }>;
    };
    for (const asset of Object.values(manifest.files ?? {})) {
      if (!asset.source?.path) continue;
      for (const destination of Object.values(asset.destinations ?? {})) {
        if (destination.objectKey) byKey.set(destination.objectKey, path.join(assemblyDir, asset.source.path));
      }
    }
  }
  return byKey;
}

/**
 * Finds a stack in a cloud assembly by its stack name, artifact id or display path
 * (`Stage/Stack`). With no name, the assembly must hold exactly one stack.
 */
export function loadStack(cdkOut: string, stackName?: string): LoadedStack {
  if (!fs.existsSync(path.join(cdkOut, 'manifest.json'))) {
    throw new GatewayStartError(
      'TEMPLATE_NOT_FOUND',
      `No cloud assembly at ${cdkOut} (manifest.json is missing). Run \`cdk synth\` first.`,
    );
  }
  const candidates = stackCandidates(path.resolve(cdkOut));
  const matches = stackName
    ? candidates.filter((c) => c.stackName === stackName || c.artifactId === stackName || c.displayName === stackName)
    : candidates;
  const known = candidates.map((c) => c.stackName).join(', ') || 'none';
  if (matches.length === 0) {
    throw new GatewayStartError(
      'TEMPLATE_NOT_FOUND',
      `Stack "${stackName}" is not in ${cdkOut}; the assembly holds: ${known}.`,
    );
  }
  if (matches.length > 1) {
    throw new GatewayStartError(
      'TEMPLATE_AMBIGUOUS',
      `${cdkOut} holds several stacks (${known}); pass stackName to choose one.`,
    );
  }
  const chosen = matches[0];
  const template = readJson(chosen.templateFile) as CfnTemplate;
  if (!template || typeof template.Resources !== 'object') {
    throw new GatewayStartError(
      'TEMPLATE_NOT_FOUND',
      `${chosen.templateFile} is not a CloudFormation template (no Resources).`,
    );
  }
  return {
    stackName: chosen.stackName,
    template,
    assemblyDir: chosen.assemblyDir,
    assetPathByObjectKey: assetPaths(chosen.assemblyDir),
  };
}

/** The pseudo parameters as the local gateway pretends the stack was deployed. */
export interface DeploymentEnvironment {
  readonly region: string;
  readonly accountId: string;
  readonly partition: string;
  readonly urlSuffix: string;
  readonly stackName: string;
}

/** Physical values of the template's resources, supplied by whoever models them. */
export interface PhysicalValues {
  ref(logicalId: string): string | undefined;
  getAtt(logicalId: string, attribute: string): string | undefined;
}

/**
 * Resolves `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::Sub`, `Fn::If`,
 * `Fn::FindInMap` and `Fn::Base64`. Anything else, or a value that cannot be known locally, throws
 * naming where the value was needed.
 */
export class IntrinsicResolver {
  private readonly conditionCache = new Map<string, boolean>();

  /**
   * @param rewrite applied to every string an `Fn::Join` or `Fn::Sub` builds, e.g. to turn the
   * execute-api URL of the API into the local listener's.
   */
  constructor(
    private readonly template: CfnTemplate,
    private readonly environment: DeploymentEnvironment,
    private readonly physical: PhysicalValues,
    private readonly rewrite: (built: string) => string = (built) => built,
  ) {}

  /** Resolves a value that must end up a string. */
  resolveString(value: unknown, where: string): string {
    const resolved = this.resolve(value, where);
    if (typeof resolved === 'string') return resolved;
    if (typeof resolved === 'number' || typeof resolved === 'boolean') return String(resolved);
    throw new UnresolvableValueError(where, `expected a string, got ${JSON.stringify(resolved)}`);
  }

  resolve(value: unknown, where: string): unknown {
    if (Array.isArray(value)) return value.map((item, i) => this.resolve(item, `${where}[${i}]`));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [key, argument] = entries[0];
      if (key === 'Ref') return this.ref(String(argument), where);
      if (key.startsWith('Fn::') || key === 'Condition') return this.intrinsic(key, argument, where);
    }
    const out: Record<string, unknown> = {};
    for (const [key, item] of entries) {
      const resolved = this.resolve(item, `${where}.${key}`);
      if (resolved !== NO_VALUE) out[key] = resolved;
    }
    return out;
  }

  private ref(name: string, where: string): unknown {
    switch (name) {
      case 'AWS::Region':
        return this.environment.region;
      case 'AWS::AccountId':
        return this.environment.accountId;
      case 'AWS::Partition':
        return this.environment.partition;
      case 'AWS::URLSuffix':
        return this.environment.urlSuffix;
      case 'AWS::StackName':
        return this.environment.stackName;
      case 'AWS::StackId':
        return `arn:${this.environment.partition}:cloudformation:${this.environment.region}:${this.environment.accountId}:stack/${this.environment.stackName}/00000000-0000-0000-0000-000000000000`;
      case 'AWS::NoValue':
        return NO_VALUE;
      default:
        break;
    }
    const parameter = this.template.Parameters?.[name];
    if (parameter) {
      if (parameter.Type.startsWith('AWS::SSM::') || parameter.Default === undefined) {
        throw new UnresolvableValueError(where, `parameter ${name} (${parameter.Type}) has no value outside AWS`);
      }
      return parameter.Default;
    }
    const physical = this.physical.ref(name);
    if (physical !== undefined) return physical;
    const resource = this.template.Resources[name];
    throw new UnresolvableValueError(
      where,
      resource ? `Ref to ${resource.Type} ${name} has no local value` : `Ref to unknown ${name}`,
    );
  }

  private getAtt(logicalId: string, attribute: string, where: string): string {
    const value = this.physical.getAtt(logicalId, attribute);
    if (value !== undefined) return value;
    const resource = this.template.Resources[logicalId];
    throw new UnresolvableValueError(
      where,
      `Fn::GetAtt ${logicalId}.${attribute}${resource ? ` (${resource.Type})` : ''} has no local value`,
    );
  }

  private intrinsic(name: string, argument: unknown, where: string): unknown {
    switch (name) {
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = Array.isArray(argument) ? argument : String(argument).split(/\.(.*)/s);
        return this.getAtt(String(logicalId), this.resolveString(attribute, where), where);
      }
      case 'Fn::Join': {
        const [delimiter, items] = argument as [string, unknown];
        const list = this.resolve(items, where);
        if (!Array.isArray(list)) throw new UnresolvableValueError(where, 'Fn::Join needs a list');
        return this.rewrite(
          list
            .filter((item) => item !== NO_VALUE)
            .map((item) => this.resolveString(item, where))
            .join(delimiter),
        );
      }
      case 'Fn::Select': {
        const [index, items] = argument as [unknown, unknown];
        const list = this.resolve(items, where);
        const i = Number(this.resolve(index, where));
        if (!Array.isArray(list) || !Number.isInteger(i) || i < 0 || i >= list.length) {
          throw new UnresolvableValueError(where, `Fn::Select index ${i} is out of range`);
        }
        return list[i];
      }
      case 'Fn::Split': {
        const [delimiter, source] = argument as [string, unknown];
        return this.resolveString(source, where).split(delimiter);
      }
      case 'Fn::Sub':
        return this.rewrite(this.sub(argument, where));
      case 'Fn::Base64':
        return Buffer.from(this.resolveString(argument, where), 'utf8').toString('base64');
      case 'Fn::FindInMap': {
        const [map, top, second] = (argument as unknown[]).map((part) => this.resolveString(part, where));
        const value = this.template.Mappings?.[map]?.[top]?.[second];
        if (value === undefined)
          throw new UnresolvableValueError(where, `Fn::FindInMap ${map}.${top}.${second} is not in Mappings`);
        return value;
      }
      case 'Fn::If': {
        const [condition, whenTrue, whenFalse] = argument as [string, unknown, unknown];
        return this.resolve(this.condition(condition, where) ? whenTrue : whenFalse, where);
      }
      case 'Fn::Equals':
      case 'Fn::Not':
      case 'Fn::And':
      case 'Fn::Or':
      case 'Condition':
        return this.evaluateCondition({ [name]: argument }, where);
      default:
        throw new UnsupportedFeatureError(`the intrinsic ${name}`, where);
    }
  }

  private sub(argument: unknown, where: string): string {
    const [text, variables] = Array.isArray(argument)
      ? (argument as [string, Record<string, unknown>])
      : [String(argument), {}];
    return text.replace(/\$\{([^}]+)\}/g, (whole, expression: string) => {
      if (expression.startsWith('!')) return `\${${expression.slice(1)}}`;
      if (expression in variables) return this.resolveString(variables[expression], where);
      const dot = expression.indexOf('.');
      if (dot > 0 && !expression.startsWith('AWS::'))
        return this.getAtt(expression.slice(0, dot), expression.slice(dot + 1), where);
      const value = this.ref(expression, where);
      if (value === NO_VALUE) throw new UnresolvableValueError(where, `${whole} resolves to no value`);
      return String(value);
    });
  }

  /** Whether a named template condition holds in this local deployment. */
  condition(name: string, where: string): boolean {
    const cached = this.conditionCache.get(name);
    if (cached !== undefined) return cached;
    const definition = this.template.Conditions?.[name];
    if (definition === undefined) throw new UnresolvableValueError(where, `condition ${name} is not defined`);
    const value = this.evaluateCondition(definition, `condition ${name}`);
    this.conditionCache.set(name, value);
    return value;
  }

  private evaluateCondition(definition: unknown, where: string): boolean {
    const [[name, argument]] = Object.entries(definition as Record<string, unknown>);
    const items = argument as unknown[];
    switch (name) {
      case 'Fn::Equals':
        return JSON.stringify(this.resolve(items[0], where)) === JSON.stringify(this.resolve(items[1], where));
      case 'Fn::Not':
        return !this.evaluateCondition(items[0], where);
      case 'Fn::And':
        return items.every((item) => this.evaluateCondition(item, where));
      case 'Fn::Or':
        return items.some((item) => this.evaluateCondition(item, where));
      case 'Condition':
        return this.condition(String(argument), where);
      default:
        throw new UnsupportedFeatureError(`the condition function ${name}`, where);
    }
  }
}

/** `Ref: AWS::NoValue`: the property is removed. */
export const NO_VALUE: unique symbol = Symbol('AWS::NoValue');
