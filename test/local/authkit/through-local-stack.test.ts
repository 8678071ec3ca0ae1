/**
 * The stand-in's CIMD clients and M2M tokens against the whole local stack: the synthesized
 * template served by the local API Gateway, its authorizer and the sample MCP function, with the
 * real MCP SDK client; and the local stage's browser origins as cdk.json sets them.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, StreamableHTTPClientTransport, type CallToolResult } from '@modelcontextprotocol/client';
import { DEV_USER, ENVIRONMENT_CLIENT_ID } from '../../../local/authkit/launch';
import { startLocalStack, type LocalStack } from '../../../local/stack';
import {
  HeadlessOAuthClient,
  REDIRECT_URI,
  recordingFetch,
  type RecordedRequest,
} from '../../e2e/headless-oauth-client';

jest.setTimeout(120_000);

interface WhoamiOutput {
  sub: string;
  organization: string | null;
  client: string;
}

/** A client that names itself by the URL of its metadata document instead of registering. */
class MetadataDocumentClient extends HeadlessOAuthClient {
  constructor(readonly clientMetadataUrl: string) {
    super();
  }
}

async function whoami(client: Client): Promise<WhoamiOutput> {
  const result = (await client.callTool({ name: 'whoami', arguments: {} })) as CallToolResult;
  if (result.isError) throw new Error(`whoami failed: ${JSON.stringify(result.content)}`);
  return result.structuredContent as unknown as WhoamiOutput;
}

describe('The local stack with the AuthKit stand-in: CIMD clients and M2M tokens', () => {
  let stack: LocalStack;
  let documentServer: Server;
  let clientMetadataUrl: string;
  let documentRequests = 0;

  beforeAll(async () => {
    documentServer = createServer((_req, res) => {
      documentRequests += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          client_id: clientMetadataUrl,
          client_name: 'CIMD end-to-end client',
          redirect_uris: [REDIRECT_URI],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'none',
        }),
      );
    });
    await new Promise<void>((resolve) => documentServer.listen(0, '127.0.0.1', resolve));
    clientMetadataUrl = `https://127.0.0.1:${(documentServer.address() as AddressInfo).port}/oauth/client-metadata.json`;
    // M2M tokens are audienced to the environment client id, as AuthKit's are: the stage lists it.
    stack = await startLocalStack({
      port: 0,
      authkitPort: 0,
      autoApprove: true,
      cimdLoopback: true,
      context: { acceptedAudiences: ENVIRONMENT_CLIENT_ID },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await new Promise((resolve) => documentServer?.close(resolve));
  });

  it('signs an SDK client in by its clientMetadataUrl, with no registration, and whoami names that URL as the client', async () => {
    // Prepare
    const oauth = new MetadataDocumentClient(clientMetadataUrl);
    const requests: RecordedRequest[] = [];
    const connect = async () => {
      const transport = new StreamableHTTPClientTransport(new URL(stack.mcpUrl), {
        authProvider: oauth,
        fetch: recordingFetch(requests),
      });
      const client = new Client({ name: 'cimd-e2e-client', version: '1.0.0' });
      await client.connect(transport);
      return { client, transport };
    };

    // Act: the first connection ends in the sign-in redirect, as in an application.
    const first = new StreamableHTTPClientTransport(new URL(stack.mcpUrl), {
      authProvider: oauth,
      fetch: recordingFetch(requests),
    });
    await new Client({ name: 'cimd-e2e-client', version: '1.0.0' }).connect(first).catch(() => undefined);
    if (!oauth.callbackUrl) throw new Error('the client was never sent to sign in');
    await first.finishAuth(oauth.callbackUrl.searchParams);
    const { client } = await connect();
    const identity = await whoami(client);
    await client.close();

    // Assess
    expect(requests.some((request) => request.url.endsWith('/oauth2/register'))).toBe(false);
    expect(oauth.clientInformation()?.client_id).toBe(clientMetadataUrl);
    expect(documentRequests).toBeGreaterThanOrEqual(1);
    expect(identity).toMatchObject({ sub: DEV_USER.sub, organization: DEV_USER.orgId, client: clientMetadataUrl });
  });

  async function m2mAccessToken(): Promise<{ clientId: string; accessToken: string; status: number }> {
    const registration = await fetch(`${stack.issuer}/oauth2/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'Nightly sync',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_post',
      }),
    });
    const { client_id: clientId, client_secret: clientSecret } = (await registration.json()) as {
      client_id: string;
      client_secret: string;
    };
    const tokenResponse = await fetch(`${stack.issuer}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
    });
    const { access_token: accessToken } = (await tokenResponse.json()) as { access_token: string };
    return { clientId, accessToken, status: tokenResponse.status };
  }

  it('lets an M2M application call whoami with a client-credentials token, shown as the application', async () => {
    // Prepare
    const { clientId, accessToken, status } = await m2mAccessToken();

    // Act
    const transport = new StreamableHTTPClientTransport(new URL(stack.mcpUrl), {
      requestInit: { headers: { authorization: `Bearer ${accessToken}` } },
    });
    const client = new Client({ name: 'm2m-e2e-client', version: '1.0.0' });
    await client.connect(transport);
    const identity = await whoami(client);
    await client.close();

    // Assess
    expect(status).toBe(200);
    expect(identity).toMatchObject({ sub: clientId, organization: DEV_USER.orgId, client: clientId });
  });

  it.each([
    ['MCP Inspector on localhost', 'http://localhost:6274', 200],
    ['MCP Inspector on 127.0.0.1', 'http://127.0.0.1:6274', 200],
    ['a page on another site', 'https://evil.example', 403],
  ])('lets the local stage be called from browser pages on loopback only: %s', async (_who, origin, expected) => {
    // Prepare: the stage's allowedOrigins come from cdk.json (no override here).
    const { accessToken } = await m2mAccessToken();

    // Act
    const response = await fetch(stack.mcpUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${accessToken}`,
        origin,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'origin-check', version: '1.0.0' },
        },
      }),
    });
    await response.body?.cancel();

    // Assess
    expect(response.status).toBe(expected);
  });
});
