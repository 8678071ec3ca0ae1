/**
 * What AWS answers a request for no method when the API keeps the default MISSING_AUTHENTICATION_TOKEN
 * response: 403 `{"message":"Missing Authentication Token"}`, and with an Authorization header that is
 * not a SigV4 signature, 403 IncompleteSignatureException whose message quotes the header:
 * `'<token>' not a valid key=value pair (missing equal-sign) in Authorization header: 'Bearer <token>'.`
 * Sources: https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
 * (MISSING_AUTHENTICATION_TOKEN, 403); the message as reported at http://www.kouhan.cn/en/article/00039538.
 * The emulator reproduces the echo so that a stack leaking tokens this way shows it locally; its own
 * log never carries the header.
 */
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import { type RunningGateway, startGateway } from '../../../local/gateway';
import { type FixtureAssembly, synthVariant } from './fixture-app';

jest.setTimeout(60_000);

let assembly: FixtureAssembly;
let gateway: RunningGateway;
const logLines: string[] = [];

beforeAll(async () => {
  assembly = synthVariant((_stack, api, fn) =>
    api.root.addResource('known').addMethod('GET', new apigw.LambdaIntegration(fn)),
  );
  gateway = await startGateway({
    cdkOut: assembly.cdkOut,
    port: 0,
    log: (line) => logLines.push(line),
    onFunctionOutput: () => undefined,
  });
});

afterAll(async () => {
  await gateway?.stop();
  assembly?.cleanup();
});

describe('a request for no method, with the default MISSING_AUTHENTICATION_TOKEN response', () => {
  it('answers 403 Missing Authentication Token without an Authorization header', async () => {
    const response = await fetch(`${gateway.url}/unknown`);
    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(await response.json()).toEqual({ message: 'Missing Authentication Token' });
  });

  it('answers 403 IncompleteSignatureException quoting the Bearer header, as AWS does, and keeps it out of the log', async () => {
    const response = await fetch(`${gateway.url}/known`, {
      method: 'POST',
      headers: { Authorization: 'Bearer abc.def.ghi' },
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('IncompleteSignatureException');
    expect(await response.json()).toEqual({
      message:
        "'abc.def.ghi' not a valid key=value pair (missing equal-sign) in Authorization header: 'Bearer abc.def.ghi'.",
    });
    expect(logLines.join('\n')).not.toContain('abc.def.ghi');
  });

  it('warns at start that this response echoes tokens', () => {
    expect(logLines).toContainEqual(
      expect.stringMatching(
        /warning: the MISSING_AUTHENTICATION_TOKEN response \(AWS default\) renders \$context\.error\.message.*token is echoed/,
      ),
    );
  });
});
