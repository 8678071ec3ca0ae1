/**
 * The local Secrets Manager reads the template as IAM would: a function reads a secret only when
 * its role allows `secretsmanager:GetSecretValue` on it (and denies nothing), and a generated
 * secret follows its `GenerateSecretString`. The template is a real synth.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { secretGrantsOf, secretsOf } from '../../../local/gateway/secrets';
import { defined } from '../../../fixtures/defined';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

function synth() {
  const stack = new Stack(new App(), 'SecretsFixture');
  const key = new secretsmanager.Secret(stack, 'Key', {
    generateSecretString: { passwordLength: 48, excludePunctuation: true },
  });
  new secretsmanager.Secret(stack, 'Other', {
    generateSecretString: { secretStringTemplate: '{"user":"app"}', generateStringKey: 'password' },
  });
  const code = lambda.Code.fromInline('exports.handler = async () => ({})');
  const reader = new lambda.Function(stack, 'Reader', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code,
  });
  new lambda.Function(stack, 'Bystander', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code });
  const denied = new lambda.Function(stack, 'Denied', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code,
  });
  key.grantRead(reader);
  key.grantRead(denied);
  denied.addToRolePolicy(
    new iam.PolicyStatement({ effect: iam.Effect.DENY, actions: ['secretsmanager:*'], resources: [key.secretArn] }),
  );
  const resources = Template.fromStack(stack).toJSON().Resources as Resources;
  const idOf = (type: string, prefix: string) =>
    defined(
      Object.keys(resources).find((id) => resources[id].Type === type && id.startsWith(prefix)),
      `a ${type} named ${prefix}...`,
    );
  return {
    resources,
    keyId: idOf('AWS::SecretsManager::Secret', 'Key'),
    otherId: idOf('AWS::SecretsManager::Secret', 'Other'),
    fn: {
      reader: idOf('AWS::Lambda::Function', 'Reader'),
      bystander: idOf('AWS::Lambda::Function', 'Bystander'),
      denied: idOf('AWS::Lambda::Function', 'Denied'),
    },
  };
}

describe('local secrets and who may read them', () => {
  const { resources, keyId, otherId, fn } = synth();
  const arnOf = (logicalId: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${logicalId}-AbCdEf`;
  // The template's Refs to a secret resolve to its ARN; other intrinsics are not needed here.
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    const ref = (value as { Ref?: string } | null)?.Ref;
    if (typeof ref === 'string') return arnOf(ref);
    if (value !== null && typeof value === 'object') throw new Error('not resolvable here');
    return value;
  };
  const grants = secretGrantsOf(resources, Object.values(fn), resolve);

  it('lets the function whose role was granted the secret read it', () => {
    expect(grants.mayAccess(fn.reader, 'secretsmanager:GetSecretValue', arnOf(keyId))).toBe(true);
  });

  it('refuses a function whose role names no such grant', () => {
    expect(grants.mayAccess(fn.bystander, 'secretsmanager:GetSecretValue', arnOf(keyId))).toBe(false);
  });

  it('refuses the granted secret to a role that also denies it', () => {
    expect(grants.mayAccess(fn.denied, 'secretsmanager:GetSecretValue', arnOf(keyId))).toBe(false);
  });

  it('refuses another secret than the one granted', () => {
    expect(grants.mayAccess(fn.reader, 'secretsmanager:GetSecretValue', arnOf(otherId))).toBe(false);
  });

  it('makes each secret as its GenerateSecretString asks, new for each run', () => {
    const secrets = secretsOf(resources, arnOf, resolve);
    const secretOf = (list: typeof secrets, id: string) =>
      defined(
        list.find((s) => s.arn === arnOf(id)),
        `the secret ${id}`,
      );
    const key = secretOf(secrets, keyId);
    expect(key.value).toMatch(/^[A-Za-z0-9]{48}$/);
    expect(secretOf(secretsOf(resources, arnOf, resolve), keyId).value).not.toBe(key.value);
    const other = JSON.parse(secretOf(secrets, otherId).value) as Record<string, string>;
    expect(other.user).toBe('app');
    expect(other.password).toHaveLength(32);
  });
});
