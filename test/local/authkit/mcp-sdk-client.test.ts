import {
  discoverAuthorizationServerMetadata,
  exchangeAuthorization,
  refreshAuthorization,
  registerClient,
  startAuthorization,
  type AuthorizationServerMetadata,
  type OAuthClientInformationFull,
} from '@modelcontextprotocol/client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { DEV_USER, authorizeHeadlessly, startAuthKitStandIn, type AuthKitStandIn } from '../../../local/authkit/launch';
import { REDIRECT_URI, RESOURCE } from './oauth-client';

/** The OAuth steps the MCP SDK client runs after it has found the authorization server in the PRM. */
describe("AuthKit stand-in: driven by the MCP SDK client's OAuth functions", () => {
  let standIn: AuthKitStandIn;
  let metadata: AuthorizationServerMetadata;
  let client: OAuthClientInformationFull;

  beforeAll(async () => {
    standIn = await startAuthKitStandIn({ port: 0, autoApprove: true });
    metadata = (await discoverAuthorizationServerMetadata(standIn.issuer)) as AuthorizationServerMetadata;
    client = await registerClient(standIn.issuer, {
      metadata,
      clientMetadata: {
        client_name: 'MCP SDK client',
        redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      },
    });
  });

  afterAll(async () => {
    await standIn?.stop();
  });

  async function signIn() {
    const { authorizationUrl, codeVerifier } = await startAuthorization(standIn.issuer, {
      metadata,
      clientInformation: client,
      redirectUrl: REDIRECT_URI,
      scope: 'openid profile email offline_access',
      resource: new URL(RESOURCE),
      state: 'sdk-state',
    });
    const callback = await authorizeHeadlessly(authorizationUrl);
    return exchangeAuthorization(standIn.issuer, {
      metadata,
      clientInformation: client,
      authorizationCode: String(callback.searchParams.get('code')),
      iss: callback.searchParams.get('iss') ?? undefined,
      codeVerifier,
      redirectUri: REDIRECT_URI,
      resource: new URL(RESOURCE),
    });
  }

  it('discovers metadata the SDK accepts, with the issuer it asked for', () => {
    expect(metadata.issuer).toBe(standIn.issuer);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(client.client_id).toEqual(expect.any(String));
  });

  it('completes registration, authorization and the code exchange with a token for the resource', async () => {
    // Act
    const tokens = await signIn();
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(standIn.jwksUrl)), {
      issuer: standIn.issuer,
      audience: RESOURCE,
    });

    // Assess
    expect(tokens.token_type).toBe('Bearer');
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(payload).toMatchObject({ sub: DEV_USER.sub, client_id: client.client_id, org_id: DEV_USER.orgId });
  });

  it('refreshes the way the SDK does, keeping the audience', async () => {
    // Prepare
    const tokens = await signIn();

    // Act
    const refreshed = await refreshAuthorization(standIn.issuer, {
      metadata,
      clientInformation: client,
      refreshToken: String(tokens.refresh_token),
      resource: new URL(RESOURCE),
    });
    const { payload } = await jwtVerify(refreshed.access_token, createRemoteJWKSet(new URL(standIn.jwksUrl)), {
      issuer: standIn.issuer,
      audience: RESOURCE,
    });

    // Assess
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(payload.sub).toBe(DEV_USER.sub);
  });
});
