/**
 * The subset of Velocity (VTL) that API Gateway mapping templates in CDK-built stacks use:
 * references (`$context.error.messageString`, `${...}`, `$!...`), `$input.params()` lookups,
 * a few `$util` functions, `#set`, `#if` / `#elseif` / `#else` / `#end`, string and number
 * literals, `==`, `!=`, `&&`, `||`, `!`. A template outside this subset fails to compile, so the
 * gateway refuses to start rather than answer differently from AWS.
 */
import { LocalError } from '../errors';

export class UnsupportedTemplateError extends LocalError {
  readonly code = 'UNSUPPORTED_TEMPLATE';
  constructor(reason: string) {
    super(reason);
  }
}

/** What a template can read. Maps expose `get(name)`. */
export interface TemplateInputs {
  readonly context: Record<string, unknown>;
  readonly stageVariables: Record<string, string>;
  readonly params: {
    header: Record<string, string>;
    querystring: Record<string, string>;
    path: Record<string, string>;
  };
}

/** What rendering produced: the body, plus `$context.responseOverride` settings. */
export interface RenderedTemplate {
  readonly body: string;
  readonly statusOverride?: number;
  readonly headerOverrides: Record<string, string>;
}

type Expr =
  | { kind: 'literal'; value: unknown }
  | { kind: 'ref'; root: string; parts: Part[]; quiet: boolean }
  | { kind: 'not'; operand: Expr }
  | { kind: 'binary'; op: '==' | '!=' | '&&' | '||'; left: Expr; right: Expr };

type Part = { kind: 'prop'; name: string } | { kind: 'call'; name: string; args: Expr[] };

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'ref'; expr: Expr & { kind: 'ref' }; source: string }
  | { kind: 'set'; target: string[]; value: Expr }
  | { kind: 'if'; branches: { condition: Expr | undefined; body: Node[] }[] };

const KNOWN_ROOTS = new Set(['context', 'stageVariables', 'input', 'util']);
const KNOWN_CALLS = new Set([
  'get',
  'params',
  'escapeJavaScript',
  'urlEncode',
  'urlDecode',
  'base64Encode',
  'base64Decode',
]);

/** The `$context` variables the local gateway fills in; a template reading another one is refused at start. */
export const SUPPORTED_CONTEXT_VARIABLES = new Set([
  'error.message',
  'error.messageString',
  'error.responseType',
  'error.validationErrorString',
  'requestId',
  'extendedRequestId',
  'apiId',
  'stage',
  'resourceId',
  'resourcePath',
  'httpMethod',
  'path',
  'domainName',
  'domainPrefix',
  'protocol',
  'requestTime',
  'requestTimeEpoch',
  'accountId',
  'identity.sourceIp',
  'identity.userAgent',
  'authorizer.principalId',
]);

class Parser {
  private pos = 0;
  constructor(private readonly src: string) {}

  parseNodes(stopAt: ReadonlySet<string>): { nodes: Node[]; stop?: string } {
    const nodes: Node[] = [];
    let text = '';
    const flush = () => {
      if (text) nodes.push({ kind: 'text', text });
      text = '';
    };
    while (this.pos < this.src.length) {
      const ch = this.src[this.pos];
      const directive =
        ch === '#'
          ? /^#(set|if|elseif|else|end|foreach|macro|parse|include|define|break|stop|evaluate)\b/.exec(
              this.src.slice(this.pos),
            )?.[1]
          : undefined;
      if (directive !== undefined) {
        // A directive alone on its line takes the line's indentation and newline with it.
        text = text.replace(/(^|\n)[ \t]*$/, '$1');
        if (stopAt.has(directive)) {
          flush();
          return { nodes, stop: directive };
        }
        flush();
        nodes.push(this.parseDirective(directive));
        this.eatLineEnd();
        continue;
      }
      if (ch === '#' && (this.src[this.pos + 1] === '#' || this.src[this.pos + 1] === '*')) {
        throw new UnsupportedTemplateError('VTL comments are not supported');
      }
      if (ch === '$' && /^\$!?\{?[A-Za-z_]/.test(this.src.slice(this.pos))) {
        flush();
        const start = this.pos;
        const expr = this.parseReference();
        nodes.push({ kind: 'ref', expr, source: this.src.slice(start, this.pos) });
        continue;
      }
      text += ch;
      this.pos++;
    }
    flush();
    return { nodes };
  }

  private eatLineEnd(): void {
    const rest = /^[ \t]*\r?\n/.exec(this.src.slice(this.pos));
    if (rest) this.pos += rest[0].length;
  }

  private parseDirective(name: string): Node {
    this.pos += name.length + 1;
    if (name === 'set') {
      this.expect('(');
      this.skipSpace();
      const target = /^\$\{?([A-Za-z_][\w.-]*)\}?/.exec(this.src.slice(this.pos));
      if (!target) throw new UnsupportedTemplateError('#set needs a $variable on its left side');
      this.pos += target[0].length;
      this.skipSpace();
      this.expect('=');
      const value = this.parseExpression();
      this.skipSpace();
      this.expect(')');
      const path = target[1].split('.');
      if (path.length > 1 && !(path[0] === 'context' && path[1] === 'responseOverride')) {
        throw new UnsupportedTemplateError(
          `#set on $${target[1]} is not supported (only local variables and $context.responseOverride)`,
        );
      }
      return { kind: 'set', target: path, value };
    }
    if (name === 'if') {
      const branches: { condition: Expr | undefined; body: Node[] }[] = [];
      let condition: Expr | undefined = this.parseCondition();
      for (;;) {
        const { nodes, stop } = this.parseNodes(new Set(['elseif', 'else', 'end']));
        branches.push({ condition, body: nodes });
        if (!stop) throw new UnsupportedTemplateError('#if without #end');
        this.pos += stop.length + 1;
        if (stop === 'end') return { kind: 'if', branches };
        if (stop === 'else') {
          this.eatLineEnd();
          const tail = this.parseNodes(new Set(['end']));
          if (tail.stop !== 'end') throw new UnsupportedTemplateError('#else without #end');
          this.pos += 4;
          branches.push({ condition: undefined, body: tail.nodes });
          return { kind: 'if', branches };
        }
        condition = this.parseCondition();
      }
    }
    throw new UnsupportedTemplateError(`the #${name} directive is not supported`);
  }

  private parseCondition(): Expr {
    this.skipSpace();
    this.expect('(');
    const condition = this.parseExpression();
    this.skipSpace();
    this.expect(')');
    this.eatLineEnd();
    return condition;
  }

  private skipSpace(): void {
    while (/\s/.test(this.src[this.pos] ?? '')) this.pos++;
  }

  private expect(token: string): void {
    this.skipSpace();
    if (!this.src.startsWith(token, this.pos)) {
      throw new UnsupportedTemplateError(`expected "${token}" at offset ${this.pos} of the template`);
    }
    this.pos += token.length;
  }

  private parseExpression(): Expr {
    return this.parseBinary(0);
  }

  private static readonly LEVELS: ReadonlyArray<ReadonlyArray<'==' | '!=' | '&&' | '||'>> = [
    ['||'],
    ['&&'],
    ['==', '!='],
  ];

  private parseBinary(level: number): Expr {
    if (level >= Parser.LEVELS.length) return this.parseUnary();
    let left = this.parseBinary(level + 1);
    for (;;) {
      this.skipSpace();
      const op = Parser.LEVELS[level].find((candidate) => this.src.startsWith(candidate, this.pos));
      if (!op) return left;
      this.pos += op.length;
      left = { kind: 'binary', op, left, right: this.parseBinary(level + 1) };
    }
  }

  private parseUnary(): Expr {
    this.skipSpace();
    const ch = this.src[this.pos];
    if (ch === '!') {
      this.pos++;
      return { kind: 'not', operand: this.parseUnary() };
    }
    if (ch === '(') {
      this.pos++;
      const inner = this.parseExpression();
      this.expect(')');
      return inner;
    }
    if (ch === '"' || ch === "'") {
      const end = this.src.indexOf(ch, this.pos + 1);
      if (end < 0) throw new UnsupportedTemplateError('unterminated string literal');
      const value = this.src.slice(this.pos + 1, end);
      if (ch === '"' && value.includes('$'))
        throw new UnsupportedTemplateError('interpolated string literals are not supported');
      this.pos = end + 1;
      return { kind: 'literal', value };
    }
    const number = /^-?\d+/.exec(this.src.slice(this.pos));
    if (number) {
      this.pos += number[0].length;
      return { kind: 'literal', value: Number(number[0]) };
    }
    const word = /^(true|false|null)\b/.exec(this.src.slice(this.pos));
    if (word) {
      this.pos += word[0].length;
      return { kind: 'literal', value: word[1] === 'null' ? null : word[1] === 'true' };
    }
    if (ch === '$') return this.parseReference();
    throw new UnsupportedTemplateError(`unexpected "${ch}" at offset ${this.pos} of the template`);
  }

  private parseReference(): Expr & { kind: 'ref' } {
    this.pos++;
    const quiet = this.src[this.pos] === '!';
    if (quiet) this.pos++;
    const braced = this.src[this.pos] === '{';
    if (braced) this.pos++;
    const root = /^[A-Za-z_]\w*/.exec(this.src.slice(this.pos))?.[0];
    if (root === undefined) throw new UnsupportedTemplateError(`expected a variable name after "$" at ${this.pos}`);
    this.pos += root.length;
    const parts: Part[] = [];
    for (;;) {
      const next = /^\.([A-Za-z_]\w*)/.exec(this.src.slice(this.pos));
      if (next) {
        this.pos += next[0].length;
        if (this.src[this.pos] === '(') {
          this.pos++;
          const args: Expr[] = [];
          this.skipSpace();
          while (this.src[this.pos] !== ')') {
            args.push(this.parseExpression());
            this.skipSpace();
            if (this.src[this.pos] === ',') this.pos++;
            else if (this.src[this.pos] !== ')')
              throw new UnsupportedTemplateError(`expected ")" after the arguments of ${next[1]}`);
          }
          this.pos++;
          if (!KNOWN_CALLS.has(next[1])) throw new UnsupportedTemplateError(`the method ${next[1]}() is not supported`);
          parts.push({ kind: 'call', name: next[1], args });
        } else {
          parts.push({ kind: 'prop', name: next[1] });
        }
        continue;
      }
      break;
    }
    if (braced) this.expect('}');
    return { kind: 'ref', root, parts, quiet };
  }
}

function checkReferences(nodes: Node[], locals: Set<string>): void {
  const checkExpr = (expr: Expr): void => {
    if (expr.kind === 'not') {
      checkExpr(expr.operand);
      return;
    }
    if (expr.kind === 'binary') {
      checkExpr(expr.left);
      checkExpr(expr.right);
      return;
    }
    if (expr.kind !== 'ref') return;
    for (const part of expr.parts) if (part.kind === 'call') for (const arg of part.args) checkExpr(arg);
    if (locals.has(expr.root)) return;
    if (!KNOWN_ROOTS.has(expr.root))
      throw new UnsupportedTemplateError(`$${expr.root} is not a variable API Gateway provides`);
    if (expr.root === 'context') {
      const names = expr.parts.filter((p) => p.kind === 'prop').map((p) => p.name);
      const dotted = names.join('.');
      if (!(SUPPORTED_CONTEXT_VARIABLES.has(dotted) || (names[0] === 'authorizer' && names.length === 2))) {
        throw new UnsupportedTemplateError(`$context.${dotted} is not supported locally`);
      }
    }
    if (expr.root === 'input' && (expr.parts[0]?.kind !== 'call' || expr.parts[0].name !== 'params')) {
      throw new UnsupportedTemplateError(
        'only $input.params(...) is supported from $input (a gateway cannot read the body here)',
      );
    }
  };
  for (const node of nodes) {
    if (node.kind === 'ref') checkExpr(node.expr);
    if (node.kind === 'set') {
      checkExpr(node.value);
      if (node.target.length === 1) locals.add(node.target[0]);
    }
    if (node.kind === 'if') {
      for (const branch of node.branches) {
        if (branch.condition) checkExpr(branch.condition);
        checkReferences(branch.body, locals);
      }
    }
  }
}

/** A parsed template, checked against what the local gateway can evaluate. */
export class CompiledTemplate {
  private constructor(private readonly nodes: Node[]) {}

  static compile(source: string): CompiledTemplate {
    const parser = new Parser(source);
    const { nodes, stop } = parser.parseNodes(new Set(['end', 'else', 'elseif']));
    if (stop) throw new UnsupportedTemplateError(`#${stop} without #if`);
    checkReferences(nodes, new Set());
    return new CompiledTemplate(nodes);
  }

  render(inputs: TemplateInputs): RenderedTemplate {
    const locals = new Map<string, unknown>();
    const result = {
      body: '',
      statusOverride: undefined as number | undefined,
      headerOverrides: {} as Record<string, string>,
    };
    const run = (nodes: Node[]): void => {
      for (const node of nodes) {
        if (node.kind === 'text') result.body += node.text;
        else if (node.kind === 'ref') {
          const value = evaluate(node.expr, inputs, locals);
          result.body +=
            value === undefined || value === null
              ? node.expr.quiet || node.expr.root === 'context'
                ? ''
                : node.source
              : String(value);
        } else if (node.kind === 'set') {
          const value = evaluate(node.value, inputs, locals);
          if (node.target.length === 1) locals.set(node.target[0], value);
          else if (node.target[2] === 'status') result.statusOverride = Number(value);
          else if (node.target[2] === 'header' && node.target.length === 4)
            result.headerOverrides[node.target[3]] = String(value ?? '');
          else throw new UnsupportedTemplateError(`#set on $${node.target.join('.')} is not supported`);
        } else {
          const branch = node.branches.find(
            (b) => b.condition === undefined || truthy(evaluate(b.condition, inputs, locals)),
          );
          if (branch) run(branch.body);
        }
      }
    };
    run(this.nodes);
    return result;
  }
}

function truthy(value: unknown): boolean {
  return value !== undefined && value !== null && value !== false;
}

function lookupMap(map: Record<string, string>, key: string): string {
  return Object.hasOwn(map, key) ? map[key] : '';
}

function evaluate(expr: Expr, inputs: TemplateInputs, locals: Map<string, unknown>): unknown {
  switch (expr.kind) {
    case 'literal':
      return expr.value;
    case 'not':
      return !truthy(evaluate(expr.operand, inputs, locals));
    case 'binary': {
      if (expr.op === '&&')
        return truthy(evaluate(expr.left, inputs, locals)) && truthy(evaluate(expr.right, inputs, locals));
      if (expr.op === '||')
        return truthy(evaluate(expr.left, inputs, locals)) || truthy(evaluate(expr.right, inputs, locals));
      const equal = String(evaluate(expr.left, inputs, locals)) === String(evaluate(expr.right, inputs, locals));
      return expr.op === '==' ? equal : !equal;
    }
    case 'ref': {
      let value: unknown;
      if (locals.has(expr.root)) value = locals.get(expr.root);
      else if (expr.root === 'context') value = inputs.context;
      else if (expr.root === 'stageVariables') value = inputs.stageVariables;
      else value = expr.root;
      for (const part of expr.parts) {
        if (part.kind === 'prop') {
          value =
            value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part.name] : undefined;
          continue;
        }
        const args = part.args.map((arg) => evaluate(arg, inputs, locals));
        value = call(value, part.name, args, inputs);
      }
      return value;
    }
  }
}

function call(target: unknown, name: string, args: unknown[], inputs: TemplateInputs): unknown {
  const arg = args[0] === undefined || args[0] === null ? '' : String(args[0]);
  if (target === 'input' && name === 'params') {
    if (args.length === 0) return inputs.params;
    // `$input.params('x')` searches path, then query string, then headers.
    const { path, querystring, header } = inputs.params;
    return lookupMap(path, arg) || lookupMap(querystring, arg) || lookupMap(header, arg);
  }
  if (target === 'util') {
    switch (name) {
      case 'escapeJavaScript':
        return JSON.stringify(arg).slice(1, -1).replace(/'/g, "\\'");
      case 'urlEncode':
        return encodeURIComponent(arg);
      case 'urlDecode':
        return decodeURIComponent(arg);
      case 'base64Encode':
        return Buffer.from(arg, 'utf8').toString('base64');
      case 'base64Decode':
        return Buffer.from(arg, 'base64').toString('utf8');
      default:
        break;
    }
  }
  if (name === 'get' && target !== null && typeof target === 'object')
    return lookupMap(target as Record<string, string>, arg);
  throw new UnsupportedTemplateError(`${name}() cannot be called here`);
}
