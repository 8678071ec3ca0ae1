/**
 * The emulated AWS WAF web ACL: the per-IP count of a rate-based rule (with an injected clock),
 * the rule shapes it reads from a template and those it refuses, and, through the gateway, a web
 * ACL associated with the served stage answering before throttling and integrations.
 */
import * as http from 'node:http';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import type { Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { type RunningGateway, startGateway, UnsupportedFeatureError } from '../../../local/gateway';
import { RateCounter, WebAclEvaluator, webAclModelOf } from '../../../local/gateway/waf';
import { type FixtureAssembly, synthVariant } from './fixture-app';
import { defined } from '../../../fixtures/defined';

jest.setTimeout(60_000);

describe('RateCounter (a rate-based rule keyed on the client IP)', () => {
  it('counts each IP on its own: the request after the limit is over it, another IP is not', () => {
    // Prepare
    const counter = new RateCounter(10, 60, () => 0);

    // Act
    const first = Array.from({ length: 10 }, () => counter.count('127.0.0.2'));
    const eleventh = counter.count('127.0.0.2');
    const other = Array.from({ length: 10 }, () => counter.count('127.0.0.3'));

    // Assess
    expect(first.every((over) => !over)).toBe(true);
    expect(eleventh).toBe(true);
    expect(other.every((over) => !over)).toBe(true);
  });

  it('forgets requests once they are older than the evaluation window', () => {
    // Prepare
    let now = 1_000;
    const counter = new RateCounter(10, 60, () => now);
    for (let i = 0; i < 25; i++) counter.count('127.0.0.2');

    // Act
    now += 59_000;
    const withinWindow = counter.count('127.0.0.2');
    now += 1_001; // the 25 requests are now more than 60 s old; the one at 59 s is not
    const afterWindow = Array.from({ length: 9 }, () => counter.count('127.0.0.2'));
    const overAgain = counter.count('127.0.0.2');

    // Assess
    expect(withinWindow).toBe(true);
    expect(afterWindow.every((over) => !over)).toBe(true);
    expect(overAgain).toBe(true);
  });

  it('slides the window: requests spread over it add up', () => {
    // Prepare
    let now = 0;
    const counter = new RateCounter(10, 60, () => now);

    // Act: one request every 5 s, so 12 fall in any 60 s
    const verdicts: boolean[] = [];
    for (let i = 0; i < 12; i++) {
      verdicts.push(counter.count('127.0.0.2'));
      now += 5_000;
    }

    // Assess
    expect(verdicts.slice(0, 10).every((over) => !over)).toBe(true);
    expect(verdicts.slice(10).every((over) => over)).toBe(true);
  });
});

const RATE_RULE = {
  Name: 'RateLimitPerIp',
  Priority: 0,
  Action: {
    Block: {
      CustomResponse: {
        ResponseCode: 429,
        CustomResponseBodyKey: 'TooMany',
        ResponseHeaders: [{ Name: 'Retry-After', Value: '60' }],
      },
    },
  },
  Statement: { RateBasedStatement: { Limit: 10, AggregateKeyType: 'IP', EvaluationWindowSec: 60 } },
  VisibilityConfig: { CloudWatchMetricsEnabled: false, MetricName: 'm', SampledRequestsEnabled: false },
};
const ACL = {
  DefaultAction: { Allow: {} },
  Scope: 'REGIONAL',
  CustomResponseBodies: { TooMany: { ContentType: 'APPLICATION_JSON', Content: '{"error":"too_many_requests"}' } },
  Rules: [RATE_RULE],
};

describe('webAclModelOf and WebAclEvaluator', () => {
  it("blocks an IP over the limit with the rule's custom response, and applies the default action otherwise", () => {
    // Prepare
    const evaluator = new WebAclEvaluator(webAclModelOf('Acl', 'Assoc', ACL), () => 0);

    // Act
    const allowed = Array.from({ length: 10 }, () => evaluator.evaluate('127.0.0.2'));
    const blocked = evaluator.evaluate('127.0.0.2');
    const other = evaluator.evaluate('127.0.0.3');

    // Assess
    expect(allowed.every((verdict) => !verdict.blocked)).toBe(true);
    expect(blocked).toMatchObject({
      blocked: true,
      rule: 'RateLimitPerIp',
      customResponse: {
        status: 429,
        headers: [['Retry-After', '60']],
        body: { contentType: 'application/json', content: '{"error":"too_many_requests"}' },
      },
    });
    expect(other.blocked).toBe(false);
  });

  it('blocks with no custom response when the Block action has none (API Gateway answers WAF_FILTERED, 403)', () => {
    // Prepare
    const evaluator = new WebAclEvaluator(
      webAclModelOf('Acl', 'Assoc', { ...ACL, Rules: [{ ...RATE_RULE, Action: { Block: {} } }] }),
      () => 0,
    );

    // Act
    for (let i = 0; i < 10; i++) evaluator.evaluate('127.0.0.2');
    const verdict = evaluator.evaluate('127.0.0.2');

    // Assess
    expect(verdict).toMatchObject({ blocked: true, customResponse: undefined });
  });

  it('blocks every request when the default action blocks and no rule allows it', () => {
    // Prepare
    const evaluator = new WebAclEvaluator(
      webAclModelOf('Acl', 'Assoc', { ...ACL, DefaultAction: { Block: {} } }),
      () => 0,
    );

    // Act
    const verdict = evaluator.evaluate('127.0.0.2');

    // Assess
    expect(verdict.blocked).toBe(true);
  });

  it.each([
    [
      'a statement type it does not emulate',
      { ...RATE_RULE, Statement: { ByteMatchStatement: { SearchString: 'x' } } },
      /the WAF statement ByteMatchStatement/,
    ],
    [
      'a managed rule group',
      {
        ...RATE_RULE,
        Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesCommonRuleSet' } },
      },
      /ManagedRuleGroupStatement/,
    ],
    [
      'the forwarded IP as the key',
      { ...RATE_RULE, Statement: { RateBasedStatement: { Limit: 10, AggregateKeyType: 'FORWARDED_IP' } } },
      /aggregated on FORWARDED_IP/,
    ],
    [
      'a scope-down statement',
      {
        ...RATE_RULE,
        Statement: {
          RateBasedStatement: { Limit: 10, AggregateKeyType: 'IP', ScopeDownStatement: { ByteMatchStatement: {} } },
        },
      },
      /ScopeDownStatement/,
    ],
    ['a CAPTCHA action', { ...RATE_RULE, Action: { Captcha: {} } }, /the WAF Captcha action/],
    [
      'custom request headers',
      { ...RATE_RULE, Action: { Count: { CustomRequestHandling: { InsertHeaders: [] } } } },
      /custom request handling/,
    ],
  ])('refuses %s, naming it', (_case, rule, feature) => {
    // Act
    const build = () => webAclModelOf('Acl', 'Assoc', { ...ACL, Rules: [rule] });

    // Assess
    expect(build).toThrow(UnsupportedFeatureError);
    expect(build).toThrow(feature);
  });
});

interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** A GET from a chosen loopback address, standing for a client IP. */
function getFrom(url: string, localAddress: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { localAddress, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}

function withWebAcl(rule: wafv2.CfnWebACL.RuleProperty, associate = true) {
  return (stack: Stack, api: apigw.RestApi, fn: lambda.IFunction) => {
    api.root.addResource('items').addMethod('GET', new apigw.LambdaIntegration(fn));
    const acl = new wafv2.CfnWebACL(stack, 'Acl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      customResponseBodies: { TooMany: { contentType: 'APPLICATION_JSON', content: '{"error":"too_many_requests"}' } },
      rules: [rule],
      visibilityConfig: { cloudWatchMetricsEnabled: false, metricName: 'acl', sampledRequestsEnabled: false },
    });
    if (associate)
      new wafv2.CfnWebACLAssociation(stack, 'AclAssociation', {
        resourceArn: api.deploymentStage.stageArn,
        webAclArn: acl.attrArn,
      });
  };
}

const rateRule = (action: wafv2.CfnWebACL.RuleActionProperty): wafv2.CfnWebACL.RuleProperty => ({
  name: 'PerIp',
  priority: 0,
  action,
  statement: { rateBasedStatement: { limit: 10, aggregateKeyType: 'IP', evaluationWindowSec: 60 } },
  visibilityConfig: { cloudWatchMetricsEnabled: false, metricName: 'rule', sampledRequestsEnabled: false },
});

describe('a web ACL associated with the served stage, through the gateway', () => {
  const fixtures: FixtureAssembly[] = [];
  const gateways: RunningGateway[] = [];
  afterAll(async () => {
    for (const gateway of gateways) await gateway.stop();
    for (const fixture of fixtures) fixture.cleanup();
  });

  async function serve(customise: Parameters<typeof synthVariant>[0], apiProps?: Parameters<typeof synthVariant>[1]) {
    const fixture = synthVariant(customise, apiProps);
    fixtures.push(fixture);
    const log: string[] = [];
    const gateway = await startGateway({
      cdkOut: fixture.cdkOut,
      stackName: fixture.stackName,
      port: 0,
      log: (line) => log.push(line),
      onFunctionOutput: () => undefined,
    });
    gateways.push(gateway);
    return { gateway, log };
  }

  describe('a rate-based rule blocking with a custom 429', () => {
    let gateway: RunningGateway;
    let log: string[];
    let flood: Reply[];
    beforeAll(async () => {
      ({ gateway, log } = await serve(
        withWebAcl(
          rateRule({
            block: {
              customResponse: {
                responseCode: 429,
                customResponseBodyKey: 'TooMany',
                responseHeaders: [{ name: 'Retry-After', value: '60' }],
              },
            },
          }),
        ),
        // A stage bucket that does not refill during the test, big enough for the requests WAF lets through.
        { deployOptions: { stageName: 'v', throttlingRateLimit: 0.01, throttlingBurstLimit: 25 } },
      ));
      // 60 requests from one address, claiming another in X-Forwarded-For, which WAF's IP key ignores.
      flood = [];
      for (let i = 0; i < 60; i++)
        flood.push(await getFrom(`${gateway.url}/items`, '127.0.0.2', { 'X-Forwarded-For': '127.0.0.3' }));
    });

    it('says at start that the web ACL is emulated, with its rule', () => {
      // Assess
      const line = log.find((l) => l.includes('AWS WAF web ACL'));
      expect(line).toMatch(/AWS WAF web ACL Acl\w* on stage v .* is emulated/);
      expect(line).toMatch(
        /rule PerIp \(priority 0\): more than 10 requests per client IP \(TCP peer address\) in 60 s → block with 429/,
      );
      expect(gateway.ignored.some((item) => item.type.startsWith('AWS::WAFv2::'))).toBe(false);
    });

    it('blocks the flooding address with the custom response, and serves another address', async () => {
      // Act
      const other = await getFrom(`${gateway.url}/items`, '127.0.0.3');

      // Assess
      expect(flood[0].status).toBe(200);
      const blocked = flood.filter((reply) => reply.status === 429);
      expect(blocked.length).toBeGreaterThan(30);
      expect(blocked[0].headers['retry-after']).toBe('60');
      expect(blocked[0].headers['content-type']).toBe('application/json');
      expect(JSON.parse(blocked[0].body)).toEqual({ error: 'too_many_requests' });
      expect(other.status).toBe(200);
    });

    it('answers blocked requests before the stage: they take no throttling token and invoke nothing', () => {
      // Assess
      const stats = gateway.stats();
      const blocked = flood.filter((reply) => reply.status === 429).length;
      expect(stats.wafBlocked).toBe(blocked);
      expect(stats.throttled).toBe(0);
      expect(Object.values(stats.functions).reduce((sum, fn) => sum + fn.invocations, 0)).toBeLessThanOrEqual(
        flood.length - blocked + 1,
      );
    });
  });

  it('answers 403 through the WAF_FILTERED gateway response when the Block action has no custom response', async () => {
    // Prepare
    const { gateway } = await serve(withWebAcl(rateRule({ block: {} })));

    // Act
    const replies: Reply[] = [];
    for (let i = 0; i < 30; i++) replies.push(await getFrom(`${gateway.url}/items`, '127.0.0.4'));

    // Assess
    const blocked = replies.find((reply) => reply.status !== 200);
    expect(blocked?.status).toBe(403);
    expect(JSON.parse(defined(blocked, 'a blocked reply').body)).toEqual({ message: 'Forbidden' });
  });

  it('lists a web ACL that is associated with nothing as ignored', async () => {
    // Prepare
    const { gateway, log } = await serve(withWebAcl(rateRule({ block: {} }), false));

    // Assess
    expect(gateway.ignored).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'AWS::WAFv2::WebACL', reason: 'not associated with the served stage' }),
      ]),
    );
    expect(log.some((l) => l.includes('is emulated'))).toBe(false);
  });

  it('refuses to start on a statement it does not emulate, naming it', async () => {
    // Prepare
    const fixture = synthVariant(
      withWebAcl({
        name: 'Match',
        priority: 0,
        action: { block: {} },
        statement: {
          byteMatchStatement: {
            fieldToMatch: { uriPath: {} },
            positionalConstraint: 'CONTAINS',
            searchString: 'admin',
            textTransformations: [{ priority: 0, type: 'NONE' }],
          },
        },
        visibilityConfig: { cloudWatchMetricsEnabled: false, metricName: 'm', sampledRequestsEnabled: false },
      }),
    );
    fixtures.push(fixture);

    // Act
    const start = startGateway({
      cdkOut: fixture.cdkOut,
      stackName: fixture.stackName,
      port: 0,
      log: () => undefined,
      onFunctionOutput: () => undefined,
    });

    // Assess
    await expect(start).rejects.toThrow(UnsupportedFeatureError);
    await expect(start).rejects.toThrow(/the WAF statement ByteMatchStatement/);
  });
});
