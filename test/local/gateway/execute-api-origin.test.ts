/**
 * A template synthesized as it deploys builds its public URLs from the API id, `AWS::Region` and
 * `AWS::URLSuffix` on the execute-api host, with the stage as the first path segment
 * (`https://<api-id>.execute-api.<region>.amazonaws.com/<stage>/...`). With `executeApiOrigin`, the
 * gateway resolves those to its own origin and serves the API only under `/<stage>`, as execute-api
 * does; a path outside every stage gets execute-api's own 403 `{"message":"Forbidden"}`.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-call-api.html (invoke URL format)
 */
import * as net from 'node:net';
import * as cdk from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { type RunningGateway, startGateway } from '../../../local/gateway';
import { type FixtureAssembly, synthVariant } from './fixture-app';

jest.setTimeout(60_000);

let assembly: FixtureAssembly;
let gateway: RunningGateway;
let origin: string;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}

beforeAll(async () => {
  assembly = synthVariant((stack, api) => {
    const executeApi = (path: string) =>
      cdk.Fn.join('', [
        'https://',
        api.restApiId,
        '.execute-api.',
        cdk.Aws.REGION,
        '.',
        cdk.Aws.URL_SUFFIX,
        `/v${path}`,
      ]);
    const fn = new lambda.Function(stack, 'UrlFn', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline(
        'exports.handler = async (event) => ({ statusCode: 200, body: JSON.stringify({ base: process.env.PUBLIC_BASE_URL, path: event.path, fullPath: event.requestContext.path }) });',
      ),
      environment: { PUBLIC_BASE_URL: executeApi('') },
    });
    api.root.addResource('mcp').addMethod('GET', new apigw.LambdaIntegration(fn));
    api.addGatewayResponse('Unauthorized', {
      type: apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
      statusCode: '404',
      responseHeaders: { Link: cdk.Fn.join('', ["'<", executeApi('/mcp'), ">'"]) },
      templates: { 'application/json': '{"error":"not_found"}' },
    });
  });
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  gateway = await startGateway({
    cdkOut: assembly.cdkOut,
    port,
    executeApiOrigin: origin,
    log: () => undefined,
    onFunctionOutput: () => undefined,
  });
});

afterAll(async () => {
  await gateway?.stop();
  assembly?.cleanup();
});

describe('serving a template as its execute-api endpoint', () => {
  it('resolves URLs built from the API id, region and URL suffix to the local origin, stage included', async () => {
    const response = await fetch(`${origin}/v/mcp`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ base: `${origin}/v`, path: '/mcp', fullPath: '/v/mcp' });
  });

  it('resolves them in gateway response headers too', async () => {
    const response = await fetch(`${origin}/v/nowhere`);
    expect(response.status).toBe(404);
    expect(response.headers.get('link')).toBe(`<${origin}/v/mcp>`);
  });

  it("answers a path outside the stage with execute-api's 403 Forbidden", async () => {
    const response = await fetch(`${origin}/mcp`);
    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('ForbiddenException');
    expect(await response.json()).toEqual({ message: 'Forbidden' });
  });

  it('refuses an origin with a path', async () => {
    await expect(
      startGateway({ cdkOut: assembly.cdkOut, port: 0, executeApiOrigin: 'http://127.0.0.1:1/v' }),
    ).rejects.toThrow(/executeApiOrigin must be an origin/);
  });
});
