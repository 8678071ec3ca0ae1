/**
 * The part of oidc-provider 9's API that the local AuthKit stand-in uses. The package ships no
 * type declarations (and `@types/oidc-provider` lags behind v9), so these are written from its
 * documentation and source, and kept as narrow as the stand-in's use of it.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export type Configuration = Record<string, unknown>;

  export interface ResourceServerInfo {
    scope: string;
    audience?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: 'opaque' | 'jwt';
    jwt?: { sign?: { alg?: string; kid?: string } };
  }

  export interface ResourceServer {
    readonly scopes: Set<string>;
    identifier(): string;
  }

  export interface Client {
    readonly clientId: string;
    readonly clientName?: string;
    readonly redirectUris: string[];
    grantTypeAllowed(grantType: string): boolean;
  }

  export interface Grant {
    readonly jti: string;
    readonly accountId: string;
    readonly clientId: string;
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }

  export interface GrantConstructor {
    new (properties: { accountId: string; clientId: string }): Grant;
    find(id: string): Promise<Grant | undefined>;
  }

  export interface Session {
    readonly accountId?: string;
    grantIdFor(clientId: string): string | undefined;
  }

  export interface OidcContext {
    readonly provider: Provider;
    readonly client: Client;
    readonly session: Session;
    readonly account?: { accountId: string };
    readonly result?: { consent?: { grantId?: string } };
    readonly params: Record<string, unknown>;
    /** The name of the endpoint serving the request, e.g. `token`, `authorization`. */
    readonly route: string;
    readonly resourceServers: Record<string, ResourceServer>;
    readonly requestParamScopes: Set<string>;
    readonly requestParamOIDCScopes: Set<string>;
    readonly requestParamClaims: Set<string>;
  }

  /** The Koa context the provider passes to middleware and configuration hooks. */
  export interface KoaContext {
    readonly req: IncomingMessage;
    readonly res: ServerResponse;
    readonly method: string;
    path: string;
    status: number;
    body: unknown;
    type: string;
    readonly oidc: OidcContext;
    set(name: string, value: string): void;
    /** Removes a response header. */
    remove(name: string): void;
    /** A request header, or '' when absent. */
    get(name: string): string;
    redirect(url: string): void;
  }

  export type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

  /** A token passed to `extraTokenClaims`. */
  export interface IssuedToken {
    readonly kind: string;
    readonly accountId?: string;
    readonly sessionUid?: string;
  }

  export interface Interaction {
    readonly uid: string;
    readonly prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
    readonly params: Record<string, unknown>;
    readonly grantId?: string;
  }

  export interface InteractionResults {
    login?: { accountId: string; remember?: boolean };
    consent?: { grantId?: string };
    error?: string;
    error_description?: string;
  }

  export class Provider {
    constructor(issuer: string, configuration: Configuration);
    readonly issuer: string;
    readonly Grant: GrantConstructor;
    readonly Client: { find(id: string): Promise<Client | undefined> };
    use(middleware: Middleware): this;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    interactionResult(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<string>;
  }

  export class OIDCProviderError extends Error {
    constructor(status: number, message: string);
    error_description?: string;
  }

  export const errors: {
    InvalidTarget: new (description?: string) => OIDCProviderError;
    InvalidClientMetadata: new (description?: string) => OIDCProviderError;
    InvalidRedirectUri: new (description?: string) => OIDCProviderError;
  };

  export default Provider;
}
