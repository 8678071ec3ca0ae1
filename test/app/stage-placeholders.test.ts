import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadStageConfig } from '../../app/stage-config';
import { placeholderMessage, stagePlaceholders } from '../../app/stage-placeholders';

const cdkJsonContext = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8'))
  .context as Record<string, unknown>;

const shippedStage = (stage: string, overrides: Record<string, unknown> = {}) =>
  loadStageConfig({ tryGetContext: (key) => ({ ...cdkJsonContext, stage, ...overrides })[key] });

describe('stagePlaceholders', () => {
  it('finds the example AuthKit domain of the shipped dev stage', () => {
    // Act
    const found = stagePlaceholders(shippedStage('dev'));

    // Assess
    expect(found).toEqual([expect.objectContaining({ field: 'authkitDomain', value: 'acme-dev.authkit.app' })]);
  });

  it('finds the example account, domain, certificate and zone of the shipped prod stage', () => {
    // Act
    const found = stagePlaceholders(shippedStage('prod')).map(({ field, value }) => [field, value]);

    // Assess
    expect(found).toEqual([
      ['account', '123456789012'],
      ['authkitDomain', 'acme.authkit.app'],
      ['resourceDocumentation', 'https://docs.example.com/mcp'],
      ['customDomain.domainName', 'mcp.example.com'],
      [
        'customDomain.certificateArn',
        'arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000',
      ],
      ['customDomain.hostedZoneId', 'Z0000000000000000000'],
      ['customDomain.hostedZoneName', 'example.com'],
    ]);
  });

  it('finds nothing in the local stage', () => {
    expect(stagePlaceholders(shippedStage('local'))).toEqual([]);
  });

  it('finds nothing once the values are filled in, from cdk.json or from -c', () => {
    // Prepare
    const stages = cdkJsonContext.stages as Record<string, Record<string, unknown>>;
    const prod = {
      ...stages.prod,
      account: '111122223333',
      resourceDocumentation: 'https://docs.mycorp.dev/mcp',
      customDomain: {
        domainName: 'mcp.mycorp.dev',
        certificateArn: 'arn:aws:acm:us-east-1:111122223333:certificate/1b2c3d4e-0000-4000-8000-123456789abc',
        hostedZoneId: 'Z1D633PJN98FT9',
        hostedZoneName: 'mycorp.dev',
      },
    };

    // Act
    const found = stagePlaceholders(
      shippedStage('prod', { stages: { ...stages, prod }, authkitDomain: 'https://mycorp.authkit.app' }),
    );

    // Assess
    expect(found).toEqual([]);
  });

  it('finds the example AuthKit domain however it is written', () => {
    expect(stagePlaceholders(shippedStage('dev', { authkitDomain: 'https://ACME.authkit.app/' }))).toHaveLength(1);
  });

  it('tells a nested field to be changed in cdk.json, and a top-level one also with -c', () => {
    // Act
    const [account, , , , certificate] = stagePlaceholders(shippedStage('prod'));

    // Assess
    expect(placeholderMessage('prod', account)).toBe(
      'Stage "prod": field "account" is still the example value "123456789012" and cannot be deployed. ' +
        'Set it to the 12-digit id of the AWS account to deploy to in cdk.json (context.stages.prod.account), or pass -c account=....',
    );
    expect(placeholderMessage('prod', certificate)).toMatch(
      /^Stage "prod": field "customDomain.certificateArn" is still the example value ".+" and cannot be deployed. Set it to the ARN of your ACM certificate .+ in cdk.json \(context.stages.prod.customDomain.certificateArn\).$/,
    );
  });
});
