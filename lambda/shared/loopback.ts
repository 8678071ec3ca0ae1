/**
 * Which hosts count as "this machine": the only ones where plain http is accepted (local
 * development with the AuthKit stand-in and the local gateway). One definition for every URL the
 * construct and the Lambdas check.
 */

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/** Whether a host name (as `URL.hostname` gives it: lower case, IPv6 in brackets) is loopback. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOST.test(hostname.toLowerCase());
}
