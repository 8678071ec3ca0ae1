import { UnresolvableValueError, UnsupportedFeatureError } from '../../../local/gateway/errors';
import { type CfnTemplate, IntrinsicResolver } from '../../../local/gateway/template';

const template: CfnTemplate = {
  Resources: { Fn: { Type: 'AWS::Lambda::Function' }, Table: { Type: 'AWS::DynamoDB::Table' } },
  Parameters: {
    Greeting: { Type: 'String', Default: 'hello' },
    Bootstrap: { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/cdk' },
  },
  Conditions: {
    IsLocal: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] },
    NotLocal: { 'Fn::Not': [{ Condition: 'IsLocal' }] },
  },
  Mappings: { Sizes: { small: { memory: 128 } } },
};

const resolver = new IntrinsicResolver(
  template,
  { region: 'us-east-1', accountId: '000000000000', partition: 'aws', urlSuffix: 'amazonaws.com', stackName: 'S' },
  {
    ref: (id) => (id === 'Fn' ? 'S-Fn' : undefined),
    getAtt: (id, attribute) =>
      id === 'Fn' && attribute === 'Arn' ? 'arn:aws:lambda:us-east-1:000000000000:function:S-Fn' : undefined,
  },
);

describe('intrinsic resolution', () => {
  it.each([
    [
      'Fn::Join with pseudo parameters',
      {
        'Fn::Join': ['', ['https://', 'api', '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]],
      },
      'https://api.execute-api.us-east-1.amazonaws.com',
    ],
    [
      'Fn::Select over Fn::Split of an ARN',
      { 'Fn::Select': [3, { 'Fn::Split': [':', { 'Fn::GetAtt': ['Fn', 'Arn'] }] }] },
      'us-east-1',
    ],
    [
      'Fn::Sub with attributes, parameters and a variable map',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not a JS template
      { 'Fn::Sub': ['${Fn.Arn}|${Greeting}|${AWS::AccountId}|${x}|${!Literal}', { x: { Ref: 'Fn' } }] },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal text Fn::Sub leaves for ${!Literal}
      'arn:aws:lambda:us-east-1:000000000000:function:S-Fn|hello|000000000000|S-Fn|${Literal}',
    ],
    ['Fn::If on a condition', { 'Fn::If': ['NotLocal', 'remote', 'local'] }, 'local'],
    ['Fn::FindInMap', { 'Fn::FindInMap': ['Sizes', 'small', 'memory'] }, 128],
  ])('resolves %s', (_name, value, expected) => {
    expect(resolver.resolve(value, 'test')).toEqual(expected);
  });

  it('drops properties set to AWS::NoValue', () => {
    expect(resolver.resolve({ A: 'a', B: { Ref: 'AWS::NoValue' } }, 'test')).toEqual({ A: 'a' });
  });

  it.each([
    ['a Ref to a resource with no local value', { Ref: 'Table' }, UnresolvableValueError],
    ['an SSM parameter', { Ref: 'Bootstrap' }, UnresolvableValueError],
    ['Fn::ImportValue', { 'Fn::ImportValue': 'SharedExport' }, UnsupportedFeatureError],
  ])('refuses %s, naming where the value was needed', (_name, value, errorClass) => {
    expect(() => resolver.resolveString(value, 'Fn.Environment.Variables.X')).toThrow(errorClass);
    expect(() => resolver.resolveString(value, 'Fn.Environment.Variables.X')).toThrow(/Fn\.Environment\.Variables\.X/);
  });
});
