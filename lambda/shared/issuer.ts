/**
 * The AuthKit issuer: what people write for their AuthKit domain, turned into the exact string
 * AuthKit puts in `iss` and in its metadata (`https://<host>`, lower case, no path, no trailing
 * slash). The construct's `authkitDomain` prop and the Lambdas' `AUTHKIT_ISSUER` go through this
 * one function, so a spelling accepted in one place can never fail token checks in another.
 */
import { isLoopbackHost } from './loopback';
import { ContractError } from './errors';

export class InvalidAuthKitDomainError extends ContractError {
  override readonly name = 'InvalidAuthKitDomainError';
  readonly code = 'INVALID_AUTHKIT_DOMAIN';
  constructor(
    readonly value: string,
    reason: string,
  ) {
    super(
      `Invalid AuthKit domain "${value}": ${reason}. Use your AuthKit domain as shown in the WorkOS dashboard, ` +
        'e.g. "acme.authkit.app", "https://acme.authkit.app" or a custom auth domain such as "https://auth.example.com" ' +
        '(http only for http://localhost:<port> or http://127.0.0.1:<port>).',
    );
  }
}

// Labels of lower-case letters, digits and hyphens, at least one dot (AuthKit and custom domains are never bare names).
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** Whether `name` is a lower-case DNS name with at least two labels: the rule for AuthKit and custom domains alike. */
export function isDnsName(name: string): boolean {
  return DNS_NAME.test(name);
}

/**
 * Normalises an AuthKit domain to its issuer URL.
 *
 * Accepts a bare host (`acme.authkit.app`), an https URL in any letter case with an optional
 * trailing slash or default port, or, for local development only, http on a loopback host.
 *
 * @throws InvalidAuthKitDomainError saying what to write instead.
 */
export function authkitIssuer(domain: string): string {
  const trimmed = domain.trim();
  if (trimmed === '') throw new InvalidAuthKitDomainError(domain, 'it is empty');
  const withScheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(trimmed) ? trimmed : `https://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new InvalidAuthKitDomainError(domain, 'it is not a host name or URL');
  }
  if (url.username || url.password) throw new InvalidAuthKitDomainError(domain, 'it must not carry credentials');
  if (url.search || url.hash || /[?#]/.test(trimmed))
    throw new InvalidAuthKitDomainError(domain, 'it must not carry a query or fragment');
  if (url.pathname !== '/')
    throw new InvalidAuthKitDomainError(domain, 'the issuer is the domain alone, without a path');
  if (url.protocol === 'http:') {
    if (!isLoopbackHost(url.hostname)) {
      throw new InvalidAuthKitDomainError(
        domain,
        'the scheme must be https (http is allowed only for localhost and 127.0.0.1)',
      );
    }
    return url.origin;
  }
  if (url.protocol !== 'https:')
    throw new InvalidAuthKitDomainError(domain, `the scheme "${url.protocol}" is not https`);
  if (!isLoopbackHost(url.hostname) && !isDnsName(url.hostname)) {
    throw new InvalidAuthKitDomainError(domain, `"${url.hostname}" is not a DNS host name`);
  }
  return url.origin;
}

/** Where AuthKit publishes its signing keys, for an issuer from {@link authkitIssuer}. */
export function jwksUrlOf(issuer: string): string {
  return `${issuer}/oauth2/jwks`;
}
