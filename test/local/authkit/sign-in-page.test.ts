import { createRemoteJWKSet, jwtVerify } from 'jose';
import { DEV_USER, authorizeHeadlessly, startAuthKitStandIn, type AuthKitStandIn } from '../../../local/authkit/launch';
import {
  Cookies,
  REDIRECT_URI,
  RESOURCE,
  authorizationUrl,
  pkcePair,
  exchangeCode,
  registerPublicClient,
} from './oauth-client';

describe('AuthKit stand-in: the sign-in page for people', () => {
  let standIn: AuthKitStandIn;
  let clientId: string;

  beforeAll(async () => {
    standIn = await startAuthKitStandIn({ port: 0 });
    const { body } = await registerPublicClient(standIn.issuer, { client_name: 'Claude <Code>' });
    clientId = String(body.client_id);
  });

  afterAll(async () => {
    await standIn?.stop();
  });

  /** Opens the authorization URL like a browser and returns the sign-in page it lands on. */
  async function openSignInPage(pkceChallenge: string) {
    const cookies = new Cookies();
    const start = authorizationUrl(standIn.issuer, {
      client_id: clientId,
      code_challenge: pkceChallenge,
      state: 'page-state',
    });
    const authorize = await fetch(start, { redirect: 'manual' });
    cookies.take(authorize);
    const pageUrl = new URL(String(authorize.headers.get('location')), start);
    const page = await fetch(pageUrl, { headers: { cookie: cookies.header } });
    cookies.take(page);
    return { cookies, pageUrl, page, html: await page.text() };
  }

  /** Submits one of the page's forms, then follows the redirects back to the client. */
  async function submit(cookies: Cookies, html: string, action: 'confirm' | 'cancel'): Promise<URL> {
    const match = new RegExp(`action="(/interaction/[^"]+/${action})"`).exec(html);
    if (!match) throw new Error(`the page has no ${action} form`);
    let url = new URL(match[1], standIn.issuer);
    let response = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: cookies.header, 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    while (response.status === 303) {
      cookies.take(response);
      url = new URL(String(response.headers.get('location')), url);
      if (url.origin !== standIn.issuer) return url;
      response = await fetch(url, { redirect: 'manual', headers: { cookie: cookies.header } });
    }
    throw new Error(`expected a redirect, got ${response.status}`);
  }

  it('shows a self-contained page with a "Continue as the dev user" button', async () => {
    // Act
    const { page, html } = await openSignInPage(pkcePair().challenge);

    // Assess
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html).toMatch(/<button[^>]*type="submit"[^>]*>Continue as the dev user<\/button>/);
    expect(html).toContain(DEV_USER.email);
    expect(html).toContain(RESOURCE);
    expect(html).toContain('<code>email</code>');
    // No scripts, stylesheets, fonts or images: the page loads nothing and works offline.
    expect(html).not.toMatch(/<script|<link|<img|<iframe|src=|url\(|@import/i);
  });

  it('shows the redirect URI the code will be sent to', async () => {
    // Act
    const { html } = await openSignInPage(pkcePair().challenge);

    // Assess
    expect(html).toMatch(/the code goes to:<\/p>\s*<p><code>http:\/\/127\.0\.0\.1:43111\/callback<\/code>/);
  });

  it('cannot be framed by another page, so no site can trick a click on its button', async () => {
    // Act
    const { page } = await openSignInPage(pkcePair().challenge);

    // Assess
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  it('shows errors on a page that loads nothing either (no web fonts)', async () => {
    // Act: an authorization request from a client the stand-in does not know.
    const response = await fetch(
      authorizationUrl(standIn.issuer, { client_id: 'no-such-client', code_challenge: pkcePair().challenge }),
    );
    const html = await response.text();

    // Assess
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html).toContain('invalid_client');
    expect(html).not.toMatch(/<script|<link|<img|<iframe|src=|url\(|@import/i);
  });

  it('escapes the client name the client registered', async () => {
    // Act
    const { html } = await openSignInPage(pkcePair().challenge);

    // Assess
    expect(html).toContain('Claude &lt;Code&gt;');
    expect(html).not.toContain('Claude <Code>');
  });

  it('completes the authorization when the button is pressed', async () => {
    // Prepare
    const pkce = pkcePair();
    const { cookies, html } = await openSignInPage(pkce.challenge);

    // Act
    const callback = await submit(cookies, html, 'confirm');
    const { body } = await exchangeCode(standIn.issuer, {
      clientId,
      callback,
      verifier: pkce.verifier,
      resource: RESOURCE,
    });
    const { payload } = await jwtVerify(String(body.access_token), createRemoteJWKSet(new URL(standIn.jwksUrl)), {
      issuer: standIn.issuer,
      audience: RESOURCE,
    });

    // Assess
    expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
    expect(callback.searchParams.get('state')).toBe('page-state');
    expect(payload.sub).toBe(DEV_USER.sub);
  });

  it('returns access_denied to the client when the person cancels', async () => {
    // Prepare
    const { cookies, html } = await openSignInPage(pkcePair().challenge);

    // Act
    const callback = await submit(cookies, html, 'cancel');

    // Assess
    expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('code')).toBeNull();
  });

  it('refuses to show the page without the browser cookie that binds it to the authorization request', async () => {
    // Prepare
    const { pageUrl } = await openSignInPage(pkcePair().challenge);

    // Act
    const response = await fetch(pageUrl);

    // Assess
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/Start again from your MCP client/);
  });

  it('can be pressed headlessly by authorizeHeadlessly', async () => {
    // Act
    const callback = await authorizeHeadlessly(
      authorizationUrl(standIn.issuer, { client_id: clientId, code_challenge: pkcePair().challenge }),
    );

    // Assess
    expect(callback.searchParams.get('code')).toEqual(expect.any(String));
  });
});
