/**
 * The AuthKit domain → issuer normalisation, shared with the Lambdas (which apply it to
 * `AUTHKIT_ISSUER`) so that the construct and the functions always agree on the issuer.
 */
export { authkitIssuer, InvalidAuthKitDomainError } from '../lambda/shared/issuer';
