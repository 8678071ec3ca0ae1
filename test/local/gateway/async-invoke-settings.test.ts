/**
 * What the local Lambda endpoint reads from the template: each function's asynchronous retry
 * settings (its EventInvokeConfig, else Lambda's defaults) and which roles may invoke which
 * function. The template is a real synth of a small stack.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { asyncInvokeSettingsOf } from '../../../local/gateway/async-invoke';
import { roleGrantsOf } from '../../../local/gateway/role-grants';
import { defined } from '../../../fixtures/defined';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

function synth() {
  const stack = new Stack(new App(), 'AsyncFixture');
  const code = lambda.Code.fromInline('exports.handler = async () => ({})');
  const make = (id: string) =>
    new lambda.Function(stack, id, { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code });
  const once = make('Once');
  once.configureAsyncInvoke({ retryAttempts: 0 });
  make('Plain');
  const caller = make('Caller');
  make('Bystander');
  once.grantInvoke(caller);
  const resources = Template.fromStack(stack).toJSON().Resources as Resources;
  const idOf = (prefix: string) =>
    defined(
      Object.keys(resources).find((id) => resources[id].Type === 'AWS::Lambda::Function' && id.startsWith(prefix)),
      `a function named ${prefix}...`,
    );
  return {
    resources,
    fn: { once: idOf('Once'), plain: idOf('Plain'), caller: idOf('Caller'), bystander: idOf('Bystander') },
  };
}

const { resources, fn } = synth();
const arnOf = (logicalId: string) => `arn:aws:lambda:us-east-1:123456789012:function:${logicalId}`;
// Fn::GetAtt [fn, Arn] resolves to the function's ARN; Fn::Join of resolved parts joins them.
const resolve = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(resolve);
  if (value !== null && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (Array.isArray(v['Fn::GetAtt'])) return arnOf(String(v['Fn::GetAtt'][0]));
    if (Array.isArray(v['Fn::Join'])) return (resolve(v['Fn::Join'][1]) as string[]).join(String(v['Fn::Join'][0]));
    throw new Error('not resolvable here');
  }
  return value;
};

describe('asynchronous retry settings', () => {
  const settings = asyncInvokeSettingsOf(resources, Object.values(fn));

  it('reads MaximumRetryAttempts from the function’s EventInvokeConfig', () => {
    expect(settings.get(fn.once)).toEqual({ maximumRetryAttempts: 0, maximumEventAgeSeconds: 21_600 });
  });

  it('gives a function without one Lambda’s defaults: 2 retries, 6 hours', () => {
    expect(settings.get(fn.plain)).toEqual({ maximumRetryAttempts: 2, maximumEventAgeSeconds: 21_600 });
  });

  it.each([
    ['retries above 2', { MaximumRetryAttempts: 3 }, /MaximumRetryAttempts must be a whole number from 0 to 2/],
    ['an event age under a minute', { MaximumEventAgeInSeconds: 10 }, /MaximumEventAgeInSeconds/],
  ])('refuses %s', (_, properties, message) => {
    const config = {
      Type: 'AWS::Lambda::EventInvokeConfig',
      Properties: { FunctionName: { Ref: fn.plain }, Qualifier: '$LATEST', ...properties },
    };
    expect(() => asyncInvokeSettingsOf({ ...resources, Bad: config }, Object.values(fn))).toThrow(message);
  });
});

describe('who may invoke whom', () => {
  const grants = roleGrantsOf(resources, Object.values(fn), 'lambda', resolve);

  it('lets the role granted invoke on the function call it', () => {
    expect(grants.mayAccess(fn.caller, 'lambda:InvokeFunction', arnOf(fn.once))).toBe(true);
  });

  it('refuses the same role another function, and a role granted nothing', () => {
    expect(grants.mayAccess(fn.caller, 'lambda:InvokeFunction', arnOf(fn.plain))).toBe(false);
    expect(grants.mayAccess(fn.bystander, 'lambda:InvokeFunction', arnOf(fn.once))).toBe(false);
  });
});
