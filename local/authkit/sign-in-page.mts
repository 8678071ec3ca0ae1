/**
 * The sign-in page a person sees when an MCP client opens the stand-in's authorization URL.
 * Self-contained HTML (inline style, no scripts or external assets) so it works offline.
 */
import { DEV_USER } from './contract.js';

export interface SignInPageInput {
  readonly uid: string;
  readonly clientName: string;
  /** Where the authorization code goes when the person continues. */
  readonly redirectUri: string;
  readonly scopes: readonly string[];
  readonly resources: readonly string[];
  /** Set when auto-approve is on but this sign-in needs a click: why. */
  readonly autoApproveRefusal?: string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]);
}

export function signInPagePath(uid: string, action: 'confirm' | 'cancel'): string {
  return `/interaction/${encodeURIComponent(uid)}/${action}`;
}

function list(items: readonly string[], empty: string): string {
  if (items.length === 0) return `<p class="muted">${escapeHtml(empty)}</p>`;
  return `<ul>${items.map((item) => `<li><code>${escapeHtml(item)}</code></li>`).join('')}</ul>`;
}

export function renderSignInPage(input: SignInPageInput): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in – local AuthKit</title>
<style>
  body { font-family: system-ui, sans-serif; background: #f4f4f6; color: #1c1c22; margin: 0; }
  main { max-width: 28rem; margin: 4rem auto; background: #fff; border-radius: 12px; padding: 2rem; box-shadow: 0 2px 12px rgba(0,0,0,.08); }
  h1 { font-size: 1.3rem; margin-top: 0; }
  .muted { color: #6b6b76; }
  button { font: inherit; border: 0; border-radius: 8px; padding: .7rem 1.2rem; cursor: pointer; }
  .primary { background: #6363f1; color: #fff; width: 100%; }
  .secondary { background: transparent; color: #6b6b76; width: 100%; margin-top: .5rem; }
  code { font-size: .9em; }
</style>
</head>
<body>
<main>
  <h1>Sign in to ${escapeHtml(input.clientName)}</h1>
  <p class="muted">Local AuthKit stand-in for development. No password: you sign in as the dev user
  <strong>${escapeHtml(DEV_USER.email)}</strong> (<code>${escapeHtml(DEV_USER.sub)}</code>).</p>
  <p>After you continue, the code goes to:</p>
  <p><code>${escapeHtml(input.redirectUri)}</code></p>
  ${input.autoApproveRefusal ? `<p class="muted">Not signed in automatically: ${escapeHtml(input.autoApproveRefusal)}.</p>` : ''}
  <p>Scopes granted:</p>
  ${list(input.scopes, 'none requested')}
  <p>For the resource:</p>
  ${list(input.resources, 'none named')}
  <form method="post" action="${escapeHtml(signInPagePath(input.uid, 'confirm'))}">
    <button class="primary" type="submit">Continue as the dev user</button>
  </form>
  <form method="post" action="${escapeHtml(signInPagePath(input.uid, 'cancel'))}">
    <button class="secondary" type="submit">Cancel</button>
  </form>
</main>
</body>
</html>
`;
}
