import type { HttpRequest, HttpResponse } from './http-client';

/** Credentials for one request; the HTTP client adds them only to requests for the configured origin. */
export interface Credentials {
  readonly headers?: Readonly<Record<string, string>>;
  readonly params?: Readonly<Record<string, string>>;
  /** Members merged into the JSON body of a POST request. */
  readonly body?: Readonly<Record<string, string>>;
  readonly basic?: { readonly username: string; readonly password: string };
}

/** Sends a request to the configured origin without any credentials (a token exchange sends its own). */
export type UnauthenticatedSend = (request: HttpRequest) => Promise<HttpResponse>;

/** Produces the credentials of a connection, exchanging tokens when the API wants that. */
export interface AuthProvider {
  credentials(send: UnauthenticatedSend): Promise<Credentials>;
  /** The API said the current token expired: the next `credentials` exchanges again. */
  invalidate?(): void;
}

/** A token from an exchange, and when it stops working (null: until the API says so). */
export interface ExchangedToken {
  readonly token: string;
  readonly expiresAt: Date | null;
}

/** A fixed credential: API-key header, basic auth, bearer token, query key or body member. */
export function staticAuth(credentials: Credentials): AuthProvider {
  return { credentials: async () => credentials };
}

/**
 * Token exchange (OAuth client credentials, Tonic's JWT, Rakuten's token): `exchange` gets a token
 * with its own request; `apply` puts it on each request. The token is exchanged again when it is
 * about to expire (`refreshBeforeMs`) or when the API answers a request as `reauthenticate`.
 */
export function tokenExchangeAuth(options: {
  exchange: (send: UnauthenticatedSend) => Promise<ExchangedToken>;
  apply: (token: string) => Credentials;
  refreshBeforeMs?: number;
  now?: () => number;
}): AuthProvider {
  let current: ExchangedToken | undefined;
  let pending: Promise<ExchangedToken> | undefined;
  const now = options.now ?? Date.now;
  const fresh = (token: ExchangedToken | undefined): token is ExchangedToken =>
    token !== undefined && (token.expiresAt === null || token.expiresAt.getTime() - (options.refreshBeforeMs ?? 60_000) > now());
  return {
    async credentials(send) {
      if (!fresh(current)) {
        pending ??= options.exchange(send).finally(() => {
          pending = undefined;
        });
        current = await pending;
      }
      return options.apply(current.token);
    },
    invalidate() {
      current = undefined;
    },
  };
}
