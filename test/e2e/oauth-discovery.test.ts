/**
 * A real MCP client (the v2 SDK's Client and StreamableHTTPClientTransport with an OAuth client
 * provider) against the whole local stack: the synthesized template served by the local API
 * Gateway, the bundled Lambdas, and the AuthKit stand-in. The client starts with nothing but the
 * MCP URL and must find everything else through the 401 challenge.
 *
 * It runs against two templates: stage `dev` exactly as `cdk deploy -c stage=dev` deploys it (its
 * URLs built from the API id, region and `/dev` on the execute-api host, which the local gateway
 * resolves to its own origin, served under `/dev`; only the issuer is the local stand-in), and the
 * `local` stage synthesized with a publicBaseUrl at the root, as `npm run dev` serves it.
 */
import {
  Client,
  StreamableHTTPClientTransport,
  UnauthorizedError,
  type CallToolResult,
} from '@modelcontextprotocol/client';
import { DEV_USER, authKitTestControls } from '../../local/authkit/launch';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { HeadlessOAuthClient, recordingFetch, type RecordedRequest } from './headless-oauth-client';

// Each case runs a real `cdk synth` of the whole app.
jest.setTimeout(300_000);

interface WhoamiOutput {
  sub: string;
  organization: string | null;
  client: string;
  scopes: string[];
  tokenExpiresAt: string | null;
}

/** A compact form of the record for order assertions: `METHOD url status [grant|rpc]`. */
function step(request: RecordedRequest): string {
  const detail = request.grantType ?? request.rpcMethod;
  return `${request.method} ${request.url} ${request.status}${detail ? ` ${detail}` : ''}`;
}

describe.each([
  ['the dev stage as cdk deploy -c stage=dev deploys it, under /dev', { deployedStage: 'dev' }],
  ['the local stage synthesized with a publicBaseUrl', {}],
] as const)('A real MCP client discovers, signs in, calls tools and refreshes against %s', (_shape, shape) => {
  let stack: LocalStack;
  let oauth: HeadlessOAuthClient;
  let requests: RecordedRequest[];
  let client: Client;
  let firstConnectError: unknown;

  function connectClient(): { client: Client; transport: StreamableHTTPClientTransport } {
    const transport = new StreamableHTTPClientTransport(new URL(stack.mcpUrl), {
      authProvider: oauth,
      fetch: recordingFetch(requests),
    });
    return { client: new Client({ name: 'e2e-oauth-client', version: '1.0.0' }), transport };
  }

  async function whoami(): Promise<WhoamiOutput> {
    const result = (await client.callTool({ name: 'whoami', arguments: {} })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    return result.structuredContent as unknown as WhoamiOutput;
  }

  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, authkitPort: 0, autoApprove: true, testControls: true, ...shape });
    oauth = new HeadlessOAuthClient();
    requests = [];

    // The interactive flow as an application runs it: connect, get sent to sign in, finish, reconnect.
    const first = connectClient();
    try {
      await first.client.connect(first.transport);
    } catch (error) {
      firstConnectError = error;
    }
    if (oauth.callbackUrl) await first.transport.finishAuth(oauth.callbackUrl.searchParams);
    await first.client.close().catch(() => undefined);

    const second = connectClient();
    client = second.client;
    await client.connect(second.transport);
  });

  afterAll(async () => {
    if (process.env.E2E_PRINT_REQUESTS) console.log(requests.map(step).join('\n'));
    await client?.close().catch(() => undefined);
    await stack?.stop();
  });

  it('is first told, by the exact challenge on a 401, where the protected-resource metadata is', () => {
    // Assess
    if ('deployedStage' in shape) expect(new URL(stack.mcpUrl).pathname).toBe(`/${shape.deployedStage}/mcp`);
    expect(firstConnectError).toBeInstanceOf(UnauthorizedError);
    const first = requests[0];
    expect(first).toMatchObject({ method: 'POST', url: stack.mcpUrl, status: 401, authorized: false });
    expect(first.challenge).toBe(
      `Bearer resource_metadata="${stack.urls.base}/.well-known/oauth-protected-resource/mcp"`,
    );
  });

  it('walks the discovery chain in order: 401, PRM, AS metadata, registration, authorize, token, then MCP with the token', () => {
    // Prepare
    const issuer = stack.issuer;
    const tokenIndex = requests.findIndex((request) => request.grantType === 'authorization_code');

    // Assess
    expect(requests.slice(0, tokenIndex + 1).map(step)).toEqual([
      `POST ${stack.mcpUrl} 401 initialize`,
      `GET ${stack.urls.protectedResourceMetadata} 200`,
      `GET ${issuer}/.well-known/oauth-authorization-server 200`,
      `POST ${issuer}/oauth2/register 201`,
      `POST ${issuer}/oauth2/token 200 authorization_code`,
    ]);
    // The sign-in happened between registration and the code exchange, at AuthKit's authorize path.
    expect(oauth.authorizationRequests).toEqual([`${issuer}/oauth2/authorize`]);
    expect(oauth.callbackUrl?.searchParams.get('code')).toEqual(expect.any(String));
    expect(oauth.callbackUrl?.searchParams.get('iss')).toBe(issuer);
    // Then the MCP handshake, with the token.
    expect(requests.slice(tokenIndex + 1, tokenIndex + 3).map(step)).toEqual([
      `POST ${stack.mcpUrl} 200 initialize`,
      `POST ${stack.mcpUrl} 202 notifications/initialized`,
    ]);
    const afterToken = requests.slice(tokenIndex + 1);
    for (const request of afterToken) expect(request).toMatchObject({ url: stack.mcpUrl, authorized: true });
    // The client may open the optional SSE stream; a stateless server behind a buffered integration declines with 405, not 401.
    for (const request of afterToken.filter((r) => r.method === 'GET')) expect(request.status).toBe(405);
  });

  it('received an access token bound to this server and a refresh token', async () => {
    // Prepare
    const [tokens] = oauth.savedTokens;
    const payload = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;

    // Assess
    expect(tokens.token_type).toMatch(/^bearer$/i);
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(payload).toMatchObject({
      iss: stack.issuer,
      aud: stack.mcpUrl,
      sub: DEV_USER.sub,
      client_id: oauth.clientInformation()?.client_id,
    });
  });

  it('lists the sample tools and whoami returns the signed-in user, organization and client', async () => {
    // Act
    const { tools } = await client.listTools();
    const identity = await whoami();

    // Assess
    // server_config needs the mcp:admin scope, which only a stage that offers it grants.
    const admin = (identity.scopes as string[]).includes('mcp:admin');
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      'config_audit',
      'confirm',
      'format_json',
      'long_task',
      ...(admin ? ['server_config'] : []),
      'whoami',
    ]);
    expect(identity).toMatchObject({
      kind: 'user',
      sub: DEV_USER.sub,
      organization: DEV_USER.orgId,
      client: oauth.clientInformation()?.client_id,
    });
    expect(
      requests
        .filter((request) => request.method === 'POST')
        .slice(-2)
        .map(step),
    ).toEqual([`POST ${stack.mcpUrl} 200 tools/list`, `POST ${stack.mcpUrl} 200 tools/call`]);
  });

  it('uses its refresh token when the access token has expired, and keeps working', async () => {
    // Prepare: the stored access token is replaced by one the same AuthKit issued for this server but that has expired.
    const expired = await authKitTestControls(stack.issuer).mintToken({
      aud: stack.mcpUrl,
      expiresInSeconds: -300,
      claims: { client_id: oauth.clientInformation()?.client_id },
    });
    oauth.replaceAccessToken(expired.accessToken);
    const refreshToken = oauth.tokens()?.refresh_token;
    const before = requests.length;

    // Act
    const identity = await whoami();

    // Assess
    const sequence = requests.slice(before).map(step);
    // The SDK reuses the discovery it saved at sign-in: no second PRM or AS metadata fetch.
    expect(sequence).toEqual([
      `POST ${stack.mcpUrl} 401 tools/call`,
      `POST ${stack.issuer}/oauth2/token 200 refresh_token`,
      `POST ${stack.mcpUrl} 200 tools/call`,
    ]);
    expect(oauth.authorizationRequests).toHaveLength(1); // no second sign-in
    const latest = oauth.tokens();
    expect(latest?.access_token).not.toBe(expired.accessToken);
    expect(latest?.refresh_token).toEqual(expect.any(String));
    expect(latest?.refresh_token).not.toBe(refreshToken); // public clients get a new refresh token each time
    expect(identity).toMatchObject({ sub: DEV_USER.sub, organization: DEV_USER.orgId });
  });
});
