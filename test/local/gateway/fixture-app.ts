/**
 * A small CDK app synthesized into a temporary cloud assembly for the local gateway's tests:
 * a REST API with a TOKEN authorizer, Lambda proxy routes, a multi-origin CORS preflight (MOCK
 * with a VTL template), and customised gateway responses. The handlers are tiny JavaScript files
 * written next to the assembly, so each test exercises the same path as a real `cdk synth`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { AUTHORIZER_CONTEXT_KEYS, authorizerContextOf } from '../../../lambda/shared/identity-context';

const REPO_ROOT = path.resolve(__dirname, '../../..');

/**
 * The identity an allowed token gets, written by the identity contract as the real authorizer
 * writes it (`exp` a number, scopes one string); `sub` is filled in per token.
 */
const ALLOWED_IDENTITY_CONTEXT = authorizerContextOf({ sub: 'user', scopes: ['read', 'write'], exp: 1700000000 });

/** The authorizer decides by the token's text, so each test names the outcome it wants. */
const AUTHORIZER_SOURCE = `
let invocations = 0;
exports.handler = async (event) => {
  invocations++;
  const token = event.authorizationToken.replace(/^bearer /i, '');
  const [arnPrefix, stage] = event.methodArn.split('/');
  const apiWide = arnPrefix + '/' + stage + '/*/*';
  const policy = (effect, resource) => ({ Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }] });
  if (token.startsWith('allow')) {
    return { principalId: 'user-' + token, policyDocument: policy('Allow', apiWide),
      context: { ...${JSON.stringify(ALLOWED_IDENTITY_CONTEXT)}, ${JSON.stringify(AUTHORIZER_CONTEXT_KEYS.sub)}: 'user-' + token, admin: true, authorizerInvocations: invocations,
        eventType: event.type, methodArn: event.methodArn, scheme: event.authorizationToken.split(' ')[0] } };
  }
  if (token.startsWith('only-this-method')) return { principalId: 'narrow', policyDocument: policy('Allow', event.methodArn) };
  if (token === 'deny') return { principalId: 'denied', policyDocument: policy('Deny', apiWide) };
  if (token === 'mixed-deny-items') {
    return { principalId: 'mixed', policyDocument: { Version: '2012-10-17', Statement: [
      { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: apiWide },
      { Action: 'execute-api:*', Effect: 'Deny', Resource: arnPrefix + '/' + stage + '/GET/items/?' } ] } };
  }
  if (token === 'unauthorized') throw new Error('Unauthorized');
  if (token === 'broken') throw new Error('JWKS endpoint unreachable');
  if (token === 'no-policy') return { principalId: 'x' };
  if (token === 'nested-context') return { principalId: 'x', policyDocument: policy('Allow', apiWide), context: { claims: { sub: 'a' } } };
  if (token === 'slow') { await new Promise((r) => setTimeout(r, 5000)); }
  throw new Error('Unauthorized');
};
`;

/** Echoes the event and what the process looks like, or misbehaves on request. */
const ECHO_SOURCE = `
let invocations = 0;
const markerBefore = globalThis.__functionMarker;
globalThis.__functionMarker = 'echo';
exports.handler = async (event, context) => {
  invocations++;
  const mode = (event.queryStringParameters || {}).mode;
  if (mode === 'throw') throw new Error('echo failed on purpose');
  if (mode === 'malformed') return { statusCode: 200, body: 'ok', unexpected: true };
  if (mode === 'body-object') return { statusCode: 200, body: { not: 'a string' } };
  if (mode === 'binary') {
    return { statusCode: 200, headers: { 'Content-Type': 'application/octet-stream' }, isBase64Encoded: true,
      body: Buffer.from([0, 1, 2, 253, 254, 255]).toString('base64') };
  }
  if (mode === 'hop-headers') {
    return { statusCode: 200, headers: { Server: 'fn-server', Date: 'fn-date', 'Content-MD5': 'fn-md5', 'User-Agent': 'fn-agent',
      Via: '1.1 fn', Upgrade: 'h2c', TE: 'trailers', 'Proxy-Authenticate': 'Basic', Trailer: 'X-T', Warn: '199 fn "kept"', Age: '5' }, body: 'ok' };
  }
  if (mode === 'headers') {
    return { statusCode: 201, headers: { 'X-Single': 'one', 'WWW-Authenticate': 'Bearer realm="x"', 'X-Both': 'a' },
      multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'], 'X-Both': ['a', 'b'] }, body: '' };
  }
  return {
    statusCode: 200,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      event,
      invocations,
      markerBefore: markerBefore === undefined ? null : markerBefore,
      pid: process.pid,
      role: process.env.FUNCTION_ROLE,
      otherRole: process.env.OTHER_ROLE === undefined ? null : process.env.OTHER_ROLE,
      region: process.env.AWS_REGION,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      memory: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      contextRequestId: context.awsRequestId,
      remainingMs: context.getRemainingTimeInMillis(),
    }),
  };
};
`;

/** A second function, bundled by NodejsFunction, that must not see the echo function's state or environment. */
const OTHER_SOURCE = `
let invocations = 0;
const markerBefore = (globalThis as { __functionMarker?: string }).__functionMarker;
(globalThis as { __functionMarker?: string }).__functionMarker = 'other';
export const handler = async () => {
  invocations++;
  return {
    statusCode: 200,
    body: JSON.stringify({
      invocations,
      markerBefore: markerBefore ?? null,
      pid: process.pid,
      role: process.env.FUNCTION_ROLE ?? null,
      otherRole: process.env.OTHER_ROLE,
    }),
  };
};
`;

export interface FixtureAssembly {
  readonly dir: string;
  readonly cdkOut: string;
  readonly stackName: string;
  cleanup(): void;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function writeHandler(root: string, name: string, source: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'index.js'), source);
  return dir;
}

/** Synthesizes the main fixture stack. */
export function synthFixture(): FixtureAssembly {
  const dir = tempDir('gateway-fixture-');
  const cdkOut = path.join(dir, 'cdk.out');
  const app = new cdk.App({ outdir: cdkOut });
  const stack = new cdk.Stack(app, 'GatewayFixture');

  const authorizerFn = new lambda.Function(stack, 'AuthorizerFn', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromAsset(writeHandler(dir, 'authorizer', AUTHORIZER_SOURCE)),
    timeout: cdk.Duration.seconds(1),
  });
  const echoFn = new lambda.Function(stack, 'EchoFn', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromAsset(writeHandler(dir, 'echo', ECHO_SOURCE)),
    memorySize: 256,
    timeout: cdk.Duration.seconds(10),
    environment: { FUNCTION_ROLE: 'echo' },
  });
  fs.writeFileSync(path.join(dir, 'other.ts'), OTHER_SOURCE);
  // A project of its own beside the assembly, bundled by this repository's esbuild.
  fs.writeFileSync(path.join(dir, 'package-lock.json'), '{"lockfileVersion":3}');
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const otherFn = new nodejs.NodejsFunction(stack, 'OtherFn', {
    entry: path.join(dir, 'other.ts'),
    runtime: lambda.Runtime.NODEJS_22_X,
    depsLockFilePath: path.join(dir, 'package-lock.json'),
    projectRoot: dir,
    environment: { OTHER_ROLE: 'other' },
    bundling: { sourceMap: true },
  });

  const authorizer = new apigw.TokenAuthorizer(stack, 'TokenAuth', {
    handler: authorizerFn,
    validationRegex: '^[Bb]earer [A-Za-z0-9._-]+$',
    resultsCacheTtl: cdk.Duration.seconds(60),
  });
  const api = new apigw.RestApi(stack, 'Api', {
    deployOptions: { stageName: 'test', variables: { color: 'blue' } },
    binaryMediaTypes: ['application/octet-stream'],
  });
  const mcp = api.root.addResource('mcp');
  mcp.addMethod('ANY', new apigw.LambdaIntegration(echoFn), { authorizer });
  mcp.addCorsPreflight({
    allowOrigins: ['https://app.example', 'https://inspector.example'],
    allowHeaders: ['Authorization', 'Content-Type', 'Mcp-Protocol-Version'],
    allowMethods: ['GET', 'POST', 'DELETE'],
  });
  api.root
    .addResource('items')
    .addResource('{id}')
    .addMethod('GET', new apigw.LambdaIntegration(echoFn), { authorizer });
  api.root.addResource('public').addResource('{proxy+}').addMethod('ANY', new apigw.LambdaIntegration(echoFn));
  api.root.addResource('other').addMethod('GET', new apigw.LambdaIntegration(otherFn));

  const cors = { 'Access-Control-Allow-Origin': "'*'", 'Access-Control-Expose-Headers': "'WWW-Authenticate'" };
  api.addGatewayResponse('Unauthorized', {
    type: apigw.ResponseType.UNAUTHORIZED,
    statusCode: '401',
    responseHeaders: {
      ...cors,
      'WWW-Authenticate': `'Bearer resource_metadata="http://localhost/.well-known/oauth-protected-resource/mcp"'`,
    },
    templates: {
      'application/json':
        '{"message":$context.error.messageString,"type":"$context.error.responseType","requestId":"$context.requestId"}',
    },
  });
  api.addGatewayResponse('NotFound', {
    type: apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
    statusCode: '404',
    responseHeaders: { ...cors, 'X-Requested-A': 'method.request.querystring.a' },
    templates: { 'application/json': '{"error":"not_found","path":"$context.path","stage":"$context.stage"}' },
  });
  api.addGatewayResponse('AuthorizerError', {
    type: apigw.ResponseType.AUTHORIZER_CONFIGURATION_ERROR,
    statusCode: '503',
    responseHeaders: { ...cors, 'Retry-After': "'30'" },
    templates: { 'application/json': '{"error":"temporarily_unavailable"}' },
  });
  api.addGatewayResponse('Default4xx', {
    type: apigw.ResponseType.DEFAULT_4XX,
    responseHeaders: { ...cors, 'X-Fallback': "'default-4xx'" },
    templates: { 'application/json': '{"message":$context.error.messageString,"fallback":true}' },
  });
  api.addGatewayResponse('Default5xx', {
    type: apigw.ResponseType.DEFAULT_5XX,
    responseHeaders: { ...cors, 'X-Echo-Origin': 'method.request.header.Origin' },
  });

  app.synth();
  return { dir, cdkOut, stackName: stack.stackName, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Synthesizes a small API whose shape `customise` changes (start-failure and throttling tests);
 * `apiProps` replace the RestApi's defaults (stage `v`).
 */
export function synthVariant(
  customise: (scope: cdk.Stack, api: apigw.RestApi, fn: lambda.IFunction) => void,
  apiProps: Partial<apigw.RestApiProps> = {},
): FixtureAssembly {
  const dir = tempDir('gateway-variant-');
  const cdkOut = path.join(dir, 'cdk.out');
  const app = new cdk.App({ outdir: cdkOut });
  const stack = new cdk.Stack(app, 'GatewayVariant');
  const fn = new lambda.Function(stack, 'Fn', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200, body: "inline" });'),
  });
  const api = new apigw.RestApi(
    stack,
    'Api',
    apiProps.deploy === false ? apiProps : { deployOptions: { stageName: 'v' }, ...apiProps },
  );
  customise(stack, api, fn);
  app.synth();
  return { dir, cdkOut, stackName: stack.stackName, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
