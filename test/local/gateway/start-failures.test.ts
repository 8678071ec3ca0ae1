import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { GatewayStartError, startGateway, UnsupportedFeatureError } from '../../../local/gateway';
import { type FixtureAssembly, synthVariant } from './fixture-app';

jest.setTimeout(60_000);

const quiet = { port: 0, log: () => undefined, onFunctionOutput: () => undefined };

describe('features the local gateway refuses at start', () => {
  const cases: Array<[string, RegExp, RegExp, Parameters<typeof synthVariant>[0]]> = [
    [
      'a REQUEST authorizer whose identity is a stage variable',
      /the identity source stageVariables\.key/,
      /^RequestAuth/,
      (stack, api, fn) => {
        const authorizer = new apigw.RequestAuthorizer(stack, 'RequestAuth', {
          handler: fn,
          identitySources: [apigw.IdentitySource.stageVariable('key')],
        });
        api.root.addMethod('GET', new apigw.LambdaIntegration(fn), { authorizer });
      },
    ],
    [
      'a non-proxy Lambda integration',
      /a AWS integration/,
      /^ApiGET/,
      (_s, api, fn) => api.root.addMethod('GET', new apigw.LambdaIntegration(fn, { proxy: false })),
    ],
    [
      'an HTTP proxy integration',
      /a HTTP_PROXY integration/,
      /^ApiGET/,
      (_s, api) => api.root.addMethod('GET', new apigw.HttpIntegration('https://example.com')),
    ],
    [
      'a request validator',
      /request validation/,
      /^ApiGET/,
      (_s, api, fn) =>
        api.root.addMethod('GET', new apigw.LambdaIntegration(fn), {
          requestValidatorOptions: { validateRequestParameters: true },
        }),
    ],
    [
      'required API keys',
      /required API keys/,
      /^ApiGET/,
      (_s, api, fn) => api.root.addMethod('GET', new apigw.LambdaIntegration(fn), { apiKeyRequired: true }),
    ],
    [
      // What API Gateway does with a STREAM transfer mode on the Invoke URI is not documented.
      'ResponseTransferMode STREAM with the Invoke (not response-streaming) URI',
      /ResponseTransferMode STREAM with the Invoke URI/,
      /^ApiGET/,
      (_s, api, fn) => {
        const method = api.root.addMethod('GET', new apigw.LambdaIntegration(fn));
        (method.node.defaultChild as apigw.CfnMethod).addPropertyOverride('Integration.ResponseTransferMode', 'STREAM');
      },
    ],
    [
      'stage response caching',
      /response caching/,
      /^ApiDeploymentStage/,
      (_s, api, fn) => {
        api.root.addMethod('GET', new apigw.LambdaIntegration(fn));
        (api.deploymentStage.node.defaultChild as apigw.CfnStage).methodSettings = [
          { cachingEnabled: true, httpMethod: '*', resourcePath: '/*' },
        ];
      },
    ],
    [
      'a resource policy',
      /a resource policy/,
      /^Api[0-9A-F]{8}$/,
      (_s, api, fn) => {
        api.root.addMethod('GET', new apigw.LambdaIntegration(fn));
        (api.node.defaultChild as apigw.CfnRestApi).policy = { Version: '2012-10-17', Statement: [] };
      },
    ],
  ];

  it.each(cases)('fails at start naming %s and its resource', async (_name, feature, logicalId, customise) => {
    const assembly = synthVariant(customise);
    try {
      const error = await startGateway({ cdkOut: assembly.cdkOut, ...quiet }).then(
        async (gateway) => {
          await gateway.stop();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(UnsupportedFeatureError);
      const unsupported = error as UnsupportedFeatureError;
      expect(unsupported.code).toBe('UNSUPPORTED_FEATURE');
      expect(unsupported.feature).toMatch(feature);
      expect(unsupported.logicalId).toMatch(logicalId);
      expect(unsupported.message).toContain(unsupported.logicalId);
    } finally {
      assembly.cleanup();
    }
  });
});

describe('finding what to serve', () => {
  let assembly: FixtureAssembly;
  beforeAll(() => {
    assembly = synthVariant((_s, api, fn) => api.root.addMethod('GET', new apigw.LambdaIntegration(fn)));
  });
  afterAll(() => assembly.cleanup());

  it('fails naming the stacks the assembly holds when the stack name is wrong', async () => {
    const error = await startGateway({ cdkOut: assembly.cdkOut, stackName: 'NoSuchStack', ...quiet }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GatewayStartError);
    expect((error as GatewayStartError).code).toBe('TEMPLATE_NOT_FOUND');
    expect((error as Error).message).toContain('GatewayVariant');
  });

  it('fails when the folder is not a cloud assembly', async () => {
    const error = await startGateway({ cdkOut: assembly.dir, ...quiet }).catch((e: unknown) => e);
    expect((error as GatewayStartError).code).toBe('TEMPLATE_NOT_FOUND');
  });

  it('runs inline (ZipFile) code and serves under /<stage>/ when asked', async () => {
    const gateway = await startGateway({ cdkOut: assembly.cdkOut, serveUnderStagePath: true, ...quiet });
    try {
      const atRoot = await fetch(`${gateway.url}/`);
      expect(await atRoot.text()).toBe('inline');
      const underStage = await fetch(`${gateway.url}/v/`);
      expect(underStage.status).toBe(200);
      expect(await underStage.text()).toBe('inline');
    } finally {
      await gateway.stop();
    }
  });

  it('applies environment overrides over the template values', async () => {
    const withEnv = synthVariant((stack, api) => {
      const echoEnv = new lambda.Function(stack, 'EnvFn', {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline(
          'exports.handler = async () => ({ statusCode: 200, body: process.env.PUBLIC_BASE_URL + "|" + process.env.KEPT });',
        ),
        environment: { PUBLIC_BASE_URL: 'https://example.execute-api.amazonaws.com/v', KEPT: 'kept' },
      });
      api.root.addMethod('GET', new apigw.LambdaIntegration(echoEnv));
    });
    const gateway = await startGateway({
      cdkOut: withEnv.cdkOut,
      environmentOverrides: {
        EnvFn: { PUBLIC_BASE_URL: 'http://localhost:8787' },
        '*': { KEPT: 'overridden for all', PUBLIC_BASE_URL: 'less specific' },
      },
      ...quiet,
    }).catch((error: unknown) => {
      withEnv.cleanup();
      throw error;
    });
    try {
      expect(await (await fetch(`${gateway.url}/`)).text()).toBe('http://localhost:8787|overridden for all');
    } finally {
      await gateway.stop();
      withEnv.cleanup();
    }
  });
});
