/**
 * The stage settings of cdk.json are the JSON view of the construct's props: every valid stage
 * reads as props and back without loss, and every prop a stage can set reads as fields and back.
 */
import fc from 'fast-check';
import * as logs from 'aws-cdk-lib/aws-logs';
import { LOG_LEVELS } from '../../lambda/shared/settings/common';
import { TOKEN_ALGORITHMS } from '../../lambda/shared/token-policy';
import { loadStageConfig } from '../../lib/stage-config';
import { STAGE_FIELDS, stageFieldsOf, stageProps } from '../../lib/stage-fields';

const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?$/);
const dnsName = fc
  .tuple(fc.array(label, { minLength: 1, maxLength: 3 }), fc.stringMatching(/^[a-z]{2,6}$/))
  .map(([labels, top]) => [...labels, top].join('.'));
const word = fc.stringMatching(/^[A-Za-z0-9:._-]{1,16}$/);
const words = fc.uniqueArray(word, { maxLength: 4 });
const positive = fc.integer({ min: 1, max: 100_000 });
const retentionDays = Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number');

/** A stage as a deployer writes it in cdk.json, with every field that sets a prop. */
const stageJson = fc.record(
  {
    authkitDomain: dnsName,
    publicBaseUrl: dnsName.map((host) => `https://${host}`),
    disableExecuteApiEndpoint: fc.constant(false),
    apiStageName: fc.stringMatching(/^[A-Za-z0-9_-]{1,16}$/),
    requiredScopes: words,
    scopesSupported: words,
    acceptedAudiences: words,
    allowMultipleAudiences: fc.boolean(),
    tokenAlgorithms: fc.uniqueArray(fc.constantFrom(...TOKEN_ALGORITHMS), { minLength: 1 }),
    authorizerCacheTtlSeconds: fc.integer({ min: 0, max: 3600 }),
    resourceName: word,
    resourceDocumentation: dnsName.map((host) => `https://${host}/docs`),
    throttlingRateLimit: fc.double({ min: 0.5, max: 10_000, noNaN: true }),
    throttlingBurstLimit: positive,
    logRetentionDays: fc.constantFrom(...retentionDays),
    allowedOrigins: words,
    maxRequestBodyBytes: positive,
    authorizerMemorySize: positive,
    metadataMemorySize: positive,
    mcpMemorySize: positive,
    responseTransferMode: fc.constantFrom('stream', 'buffered'),
    mcpTimeoutSeconds: positive,
    mcpReservedConcurrency: fc.oneof(fc.constant(false as const), positive),
    subscriptionMaxDurationSeconds: positive,
    rateLimitPerIp: positive,
    rateLimitWindowSeconds: positive,
    tracing: fc.boolean(),
    logLevel: fc.constantFrom(...LOG_LEVELS),
    apiGatewayCloudWatchRole: fc.boolean(),
    webAclArn: word,
  },
  { requiredKeys: ['authkitDomain'] },
);

const load = (stage: Record<string, unknown>) =>
  loadStageConfig({ tryGetContext: (key) => ({ stages: { dev: stage }, stage: 'dev' })[key] });

describe('the stage JSON view of the props', () => {
  it('reads every valid stage as props and back without loss', () => {
    fc.assert(
      fc.property(stageJson, (json) => {
        // Act
        const fields = stageFieldsOf(stageProps(load(json)));

        // Assess
        expect(fields).toEqual(json);
      }),
      { numRuns: 300 },
    );
  });

  it('writes durations as whole seconds, which read back as the same Duration', () => {
    fc.assert(
      fc.property(stageJson, (json) => {
        const props = stageProps(load(json));
        expect(stageProps({ name: 'dev', ...stageFieldsOf(props) } as never)).toEqual(props);
      }),
    );
  });

  it('sets a prop from every field but the ones the stack reads itself', () => {
    const withoutProp = Object.entries(STAGE_FIELDS)
      .filter(([, row]) => row.prop === undefined)
      .map(([field]) => field);
    expect(withoutProp.sort()).toEqual(['account', 'customDomain', 'region']);
  });
});
