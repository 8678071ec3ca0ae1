/**
 * Issue 17, finding 2: a page on https://evil.example must not be able to obtain a code or a token
 * for the dev user from a stand-in running with auto-approve. What such a page can do: navigate the
 * browser (top-level GETs that follow redirects and carry the stand-in's cookies, marked by the
 * browser with `Sec-Fetch-Site: cross-site` and, unless the page suppresses it, its Referer), submit
 * forms (marked with its Origin), and call fetch (whose responses it can read only with a CORS
 * answer naming its origin). Each test replays one of those requests as the browser sends it.
 */
import { startAuthKitStandIn, type AuthKitStandIn } from '../../../local/authkit/launch';
import {
  Cookies,
  REDIRECT_URI,
  authorizationUrl,
  pkcePair,
  registerPublicClient,
  registeredClientId,
} from './oauth-client';

const EVIL_ORIGIN = 'https://evil.example';
const EVIL_CALLBACK = `${EVIL_ORIGIN}/callback`;
/** What Chromium sends on a top-level navigation started by a script on the attacker's page. */
const FROM_EVIL_PAGE = {
  'sec-fetch-site': 'cross-site',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
  referer: `${EVIL_ORIGIN}/`,
};
/** The same, from a page that set `Referrer-Policy: no-referrer` to hide where it came from. */
const FROM_EVIL_PAGE_WITHOUT_REFERER = {
  'sec-fetch-site': 'cross-site',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
};

type Navigation =
  | { readonly leftTo: URL }
  | { readonly stoppedAt: URL; readonly status: number; readonly html: string; readonly cookies: Cookies };

/** Follows the stand-in's redirects with GETs as a browser does, sending `headers` and the browser's cookies on every hop. */
async function navigate(start: URL, headers: Record<string, string>, cookies = new Cookies()): Promise<Navigation> {
  let url = start;
  for (let hop = 0; hop < 10; hop += 1) {
    const response = await fetch(url, { redirect: 'manual', headers: { ...headers, cookie: cookies.header } });
    cookies.take(response);
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      const next = new URL(location, url);
      if (next.origin !== start.origin) return { leftTo: next };
      url = next;
      continue;
    }
    return { stoppedAt: url, status: response.status, html: await response.text(), cookies };
  }
  throw new Error('too many redirects');
}

describe('AuthKit stand-in with auto-approve: a page on another site gets no code and no token for the dev user', () => {
  let standIn: AuthKitStandIn;
  let loopbackClientId: string;
  let evilClientId: string;

  beforeAll(async () => {
    standIn = await startAuthKitStandIn({ port: 0, autoApprove: true });
    loopbackClientId = await registeredClientId(standIn.issuer);
    const evil = await registerPublicClient(standIn.issuer, {
      client_name: 'Totally legit',
      redirect_uris: [EVIL_CALLBACK],
    });
    evilClientId = String(evil.body.client_id);
  });

  afterAll(async () => {
    await standIn?.stop();
  });

  const signInFor = (clientId: string, redirectUri: string) =>
    authorizationUrl(standIn.issuer, {
      client_id: clientId,
      redirect_uri: redirectUri,
      code_challenge: pkcePair().challenge,
    });

  it('still auto-approves a sign-in whose code goes to a loopback redirect URI, started outside any page (the control)', async () => {
    // Act
    const outcome = await navigate(signInFor(loopbackClientId, REDIRECT_URI), {
      'sec-fetch-site': 'none',
      'sec-fetch-mode': 'navigate',
    });

    // Assess
    expect('leftTo' in outcome && `${outcome.leftTo.origin}${outcome.leftTo.pathname}`).toBe(REDIRECT_URI);
    expect('leftTo' in outcome && outcome.leftTo.searchParams.get('code')).toEqual(expect.any(String));
  });

  it.each([
    ['navigated from the attacker page', FROM_EVIL_PAGE],
    ['navigated from the attacker page with its Referer suppressed', FROM_EVIL_PAGE_WITHOUT_REFERER],
    ['opened with no sign of where it came from', {}],
  ])(
    "shows the sign-in page instead of sending a code to the attacker's https redirect URI when %s",
    async (_how, headers) => {
      // Act
      const outcome = await navigate(signInFor(evilClientId, EVIL_CALLBACK), headers);

      // Assess
      expect('leftTo' in outcome ? outcome.leftTo.href : undefined).toBeUndefined();
      if ('leftTo' in outcome) return;
      expect(outcome.status).toBe(200);
      expect(outcome.html).toContain('Continue as the dev user');
      expect(outcome.html).toContain(`<code>${EVIL_CALLBACK}</code>`);
      expect(outcome.html).toContain('Not signed in automatically: the code would leave this machine');
    },
  );

  it.each([
    ['with its Referer', FROM_EVIL_PAGE],
    ['with its Referer suppressed', FROM_EVIL_PAGE_WITHOUT_REFERER],
  ])(
    "shows the sign-in page when the attacker page navigates %s to a loopback client's sign-in",
    async (_how, headers) => {
      // Act
      const outcome = await navigate(signInFor(loopbackClientId, REDIRECT_URI), headers);

      // Assess
      expect('leftTo' in outcome ? outcome.leftTo.href : undefined).toBeUndefined();
      if ('leftTo' in outcome) return;
      expect(outcome.status).toBe(200);
      expect(outcome.html).toContain('Not signed in automatically: the sign-in was started by a page on another site');
    },
  );

  it('shows the sign-in page to the attacker page even in a browser already signed in to the stand-in', async () => {
    // Prepare: the dev user signed in earlier in this browser (a loopback client, auto-approved); the session cookie stays.
    const browser = new Cookies();
    const earlier = await navigate(signInFor(loopbackClientId, REDIRECT_URI), { 'sec-fetch-site': 'none' }, browser);
    expect('leftTo' in earlier).toBe(true);

    // Act
    const outcome = await navigate(signInFor(evilClientId, EVIL_CALLBACK), FROM_EVIL_PAGE, browser);

    // Assess
    expect('leftTo' in outcome ? outcome.leftTo.href : undefined).toBeUndefined();
    if ('leftTo' in outcome) return;
    expect(outcome.html).toContain('Continue as the dev user');
  });

  it('refuses the sign-in button when the form is posted from the attacker page', async () => {
    // Prepare: the browser holds the interaction cookie of a sign-in the attacker page started.
    const outcome = await navigate(signInFor(evilClientId, EVIL_CALLBACK), FROM_EVIL_PAGE);
    if ('leftTo' in outcome) throw new Error(`auto-approve completed to ${outcome.leftTo.origin}`);
    const confirm = new URL(`${outcome.stoppedAt.pathname}/confirm`, standIn.issuer);

    // Act
    const response = await fetch(confirm, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        cookie: outcome.cookies.header,
        origin: EVIL_ORIGIN,
        'sec-fetch-site': 'cross-site',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: '',
    });

    // Assess
    expect(response.status).toBe(403);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toMatch(/sent from another site/);
  });

  it('gives the attacker page no CORS answer from registration, so it cannot read a client id', async () => {
    // Act
    const preflight = await fetch(`${standIn.issuer}/oauth2/register`, {
      method: 'OPTIONS',
      headers: {
        origin: EVIL_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    const registration = await fetch(`${standIn.issuer}/oauth2/register`, {
      method: 'POST',
      headers: { origin: EVIL_ORIGIN, 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [EVIL_CALLBACK] }),
    });

    // Assess
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(registration.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('gives the attacker page no CORS answer from the token endpoint, so it cannot read a token', async () => {
    // Act
    const preflight = await fetch(`${standIn.issuer}/oauth2/token`, {
      method: 'OPTIONS',
      headers: {
        origin: EVIL_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    const token = await fetch(`${standIn.issuer}/oauth2/token`, {
      method: 'POST',
      headers: { origin: EVIL_ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: evilClientId,
        code: 'x',
        code_verifier: 'y',
        redirect_uri: EVIL_CALLBACK,
      }),
    });

    // Assess
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(token.headers.get('access-control-allow-origin')).toBeNull();
  });

  it.each([['/.well-known/oauth-authorization-server'], ['/oauth2/jwks']])(
    'gives the attacker page no CORS answer from %s either',
    async (path) => {
      // Act
      const response = await fetch(`${standIn.issuer}${path}`, { headers: { origin: EVIL_ORIGIN } });

      // Assess
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    },
  );

  it('still answers CORS to a browser client on a loopback origin', async () => {
    // Act
    const token = await fetch(`${standIn.issuer}/oauth2/token`, {
      method: 'POST',
      headers: { origin: 'http://localhost:6274', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: loopbackClientId,
        code: 'x',
        code_verifier: 'y',
        redirect_uri: REDIRECT_URI,
      }),
    });

    // Assess
    expect(token.headers.get('access-control-allow-origin')).toBe('http://localhost:6274');
  });
});
