/**
 * Gateway response body templates, as API Gateway evaluates them: not with VTL but by "simple
 * variable substitution" of `$context.*`, `$stageVariables.*` and `$method.request.*` references.
 * Anything else in the template, a `#if`, a `$util.escapeJavaScript(...)` or a `${...}`, is sent
 * to the client as written, so a template that would need VTL shows the same broken body locally
 * that it shows on AWS.
 *
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-gateway-responses.responseTemplates.html
 * ("A GatewayResponse mapping template isn't processed by the Velocity Template Language (VTL)
 * engine"; "supporting only simple variable substitution")
 */
import type { TemplateInputs } from './vtl';

const REFERENCE = /\$(context|stageVariables|method\.request\.(?:header|querystring|path))((?:\.[A-Za-z0-9_-]+)+)/g;
const VTL_LOOKING = /#(?:set|if|elseif|else|end|foreach)\b|\$util\.|\$input\.|\$!?\{/;

export class SubstitutionTemplate {
  private constructor(readonly source: string) {}

  static compile(source: string): SubstitutionTemplate {
    return new SubstitutionTemplate(source);
  }

  /** The first VTL construct in the template, which AWS leaves as written (for a start-up warning). */
  vtlConstruct(): string | undefined {
    return VTL_LOOKING.exec(this.source)?.[0];
  }

  render(inputs: TemplateInputs): { readonly body: string } {
    const body = this.source.replace(REFERENCE, (_whole, root: string, dotted: string) => {
      const path = dotted.slice(1).split('.');
      if (root === 'context')
        return text(
          path.reduce<unknown>(
            (value, key) =>
              value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined,
            inputs.context,
          ),
        );
      if (root === 'stageVariables') return text(inputs.stageVariables[path.join('.')]);
      const location = root.slice('method.request.'.length) as 'header' | 'querystring' | 'path';
      // Header names are matched exactly, as for gateway response header mappings.
      return text(inputs.params[location][path.join('.')]);
    });
    return { body };
  }
}

function text(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}
