/**
 * The stage settings of cdk.json are the JSON view of the construct's props: every valid stage
 * reads as props and back without loss, and every prop a stage can set reads as fields and back.
 */
import fc from 'fast-check';
import * as logs from 'aws-cdk-lib/aws-logs';
import { LOG_LEVELS } from '../../lambda/shared/settings/common';
import { TOKEN_ALGORITHMS } from '../../lambda/shared/token-policy';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadStageConfig } from '../../app/stage-config';
import { PROPS_WITHOUT_STAGE_FIELD, STAGE_FIELDS, stageFieldsOf, stageProps } from '../../app/stage-fields';

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
    allowedOrganizations: fc.uniqueArray(fc.stringMatching(/^org_[0-9A-Z]{26}$/), { maxLength: 3 }),
    requireOrganization: fc.boolean(),
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
    maxConcurrentRequestsPerCaller: fc.oneof(fc.constant(false as const), fc.integer({ min: 1, max: 1000 })),
    subscriptionMaxDurationSeconds: positive,
    rateLimitPerIp: positive,
    rateLimitWindowSeconds: positive,
    tracing: fc.boolean(),
    logLevel: fc.constantFrom(...LOG_LEVELS),
    apiGatewayCloudWatchRole: fc.boolean(),
    webAclArn: word,
    clockToleranceSeconds: fc.integer({ min: 0, max: 300 }),
    jwksTimeoutMs: fc.integer({ min: 1, max: 3000 }),
    jwksCooldownMs: fc.integer({ min: 0, max: 3_600_000 }),
    permissionsCacheTtlSeconds: fc.integer({ min: 0, max: 3600 }),
    authorizationServerMetadataCacheTtlSeconds: fc.integer({ min: 1, max: 86_400 }),
    serviceName: fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/),
    metricsNamespace: fc.stringMatching(/^[A-Za-z0-9._#:-]{1,32}$/),
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
    expect(withoutProp.sort()).toEqual([
      'account',
      'customDomain',
      'region',
      'stepUpChallenge',
      'workosApiKeySecretArn',
      'workosApiKeySecretName',
    ]);
  });
});

const repoFile = (path: string) => readFileSync(join(__dirname, '..', '..', path), 'utf8');

/** The members of `AuthKitMcpServerProps` as its source declares them. */
function declaredProps(): string[] {
  const source = repoFile('lib/authkit-mcp-server-props.ts');
  const start = source.indexOf('export interface AuthKitMcpServerProps');
  const body = source.slice(start, source.indexOf('\n}', start));
  return [...body.matchAll(/^ {2}readonly (\w+)\??:/gm)].map((match) => match[1] ?? '');
}

describe('which props a stage can set', () => {
  it('has a stage field for every prop but the ones excluded with their reason', () => {
    // Prepare
    const set = new Set(Object.values(STAGE_FIELDS).map((row) => row.prop));
    const excluded = new Set<string>(PROPS_WITHOUT_STAGE_FIELD);

    // Act
    const undecided = declaredProps().filter((prop) => !set.has(prop as never) && !excluded.has(prop));

    // Assess
    expect(declaredProps().length).toBeGreaterThan(30);
    expect(undecided).toEqual([]);
  });

  it('excludes only props that exist and that no field sets', () => {
    const set = new Set<string>(Object.values(STAGE_FIELDS).flatMap((row) => (row.prop ? [row.prop] : [])));
    for (const prop of PROPS_WITHOUT_STAGE_FIELD) {
      expect(declaredProps()).toContain(prop);
      expect(set.has(prop)).toBe(false);
    }
  });

  it("lists exactly the stage fields in the README's stage settings", () => {
    // Prepare
    const readme = repoFile('README.md');
    const start = readme.indexOf('### Stage settings');
    const section = readme.slice(start, readme.indexOf('An unknown stage', start));
    const nested = ['domainName', 'certificateArn', 'hostedZoneId', 'hostedZoneName'];

    // Act
    const listed = [...section.matchAll(/`([a-z][A-Za-z]+)`/g)]
      .map((match) => match[1] ?? '')
      .filter((name) => name !== 'false' && !nested.includes(name));

    // Assess
    expect(listed.sort()).toEqual(Object.keys(STAGE_FIELDS).sort());
  });
});

describe('the stage fields of the function settings', () => {
  it.each<[keyof typeof STAGE_FIELDS, unknown, RegExp]>([
    ['clockToleranceSeconds', 301, /whole number of seconds from 0 to 300/],
    ['jwksTimeoutMs', 0, /whole number of milliseconds from 1 to 3000/],
    ['jwksCooldownMs', 1.5, /whole number of milliseconds from 0 to 3600000/],
    ['permissionsCacheTtlSeconds', 3601, /whole number of seconds from 0 to 3600/],
    ['authorizationServerMetadataCacheTtlSeconds', 0, /from 1 to 86400/],
    ['serviceName', 'my service', /is invalid: .*use 1 to 64 letters/],
    ['metricsNamespace', 'AWS/Lambda', /is invalid: .*does not start with "AWS\/"/],
  ])('refuses %s %j', (name, value, problem) => {
    expect(STAGE_FIELDS[name].check(value)).toMatch(problem);
  });

  it('sets the sub-second JWKS timeout in milliseconds', () => {
    expect(
      stageProps(load({ authkitDomain: 'a.authkit.app', jwksTimeoutMs: 1500 })).jwksTimeout?.toMilliseconds(),
    ).toBe(1500);
  });
});
