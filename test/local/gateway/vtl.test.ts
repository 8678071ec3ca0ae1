import { CompiledTemplate, type TemplateInputs, UnsupportedTemplateError } from '../../../local/gateway/vtl';

function inputs(header: Record<string, string> = {}, context: Record<string, unknown> = {}): TemplateInputs {
  return {
    context: { requestId: 'req-1', ...context },
    stageVariables: { color: 'blue' },
    params: { header, querystring: { q: 'search' }, path: { id: '7' } },
  };
}

// The template aws-cdk-lib generates for a preflight with several allowed origins.
const CDK_CORS_TEMPLATE =
  '#set($origin = $input.params().header.get("Origin"))\n#if($origin == "")\n  #set($origin = $input.params().header.get("origin"))\n#end\n' +
  '#if($origin == "https://b.example" || $origin == "https://c.example")\n  #set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)\n#end';

describe('mapping templates', () => {
  it('renders $context and $stageVariables references, quoted and braced', () => {
    const template = CompiledTemplate.compile(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: VTL's braced reference syntax, not a JS template
      '{"message":$context.error.messageString,"id":"${context.requestId}","c":"$stageVariables.color","q":"$input.params(\'q\')"}',
    );
    const rendered = template.render(inputs({}, { error: { messageString: '"Unauthorized"' } }));
    expect(JSON.parse(rendered.body)).toEqual({ message: 'Unauthorized', id: 'req-1', c: 'blue', q: 'search' });
  });

  it.each([
    ['an allowed origin', { Origin: 'https://c.example' }, 'https://c.example'],
    ['a lower-case header name', { origin: 'https://b.example' }, 'https://b.example'],
    ['an origin that is not allowed', { Origin: 'https://evil.example' }, undefined],
  ])('evaluates the CDK CORS template for %s', (_name, header, expected) => {
    const rendered = CompiledTemplate.compile(CDK_CORS_TEMPLATE).render(inputs(header));
    expect(rendered.headerOverrides['Access-Control-Allow-Origin']).toBe(expected);
    expect(rendered.body.trim()).toBe('');
  });

  it.each([
    ['red', 'R'],
    ['blue', 'B'],
    ['green', 'X'],
  ])('takes the #if / #elseif / #else branch that matches (%s)', (color, expected) => {
    const template = CompiledTemplate.compile(
      '#if($stageVariables.color == "red")R#elseif($stageVariables.color == "blue")B#else X#end',
    );
    const rendered = template.render({ ...inputs(), stageVariables: { color } });
    expect(rendered.body.trim()).toBe(expected);
  });

  it('sets the status through $context.responseOverride.status', () => {
    expect(
      CompiledTemplate.compile('#set($context.responseOverride.status = 418)').render(inputs()).statusOverride,
    ).toBe(418);
  });

  it.each([
    ['#foreach', '#foreach($x in $list)$x#end'],
    ['$input.body', '$input.body'],
    ['$input.json', '$input.json("$")'],
    ['an unknown $context variable', '$context.wafResponseCode'],
    ['an unknown root', '$somethingElse'],
    ['an unterminated #if', '#if(true) yes'],
    ['a VTL comment', '## note'],
    ['a "$" without a variable name in an expression', '#if($ == "x")yes#end'],
  ])('refuses %s', (_name, source) => {
    expect(() => CompiledTemplate.compile(source)).toThrow(UnsupportedTemplateError);
  });
});
