/**
 * The declarative connector spec (like an Airbyte low-code manifest, typed): what a network's
 * API looks like, field by field, so that one engine (`engine.ts`) can run every network and one
 * contract suite can check them all. Hooks cover what a spec cannot say. See connectors/kit/README.md.
 */
import type { z } from 'zod';
import type { ExchangedToken, UnauthenticatedSend } from './auth';
import type { ClassificationRule } from './classification';
import type { HttpClient, HttpRequest, HttpResponse } from './http-client';
import type { QuotaSpec } from './quota';
import type { RequestWindow } from './request-windows';
import type { ConnectorMaturity, ConnectorRecordKind, ConversionStatus, RateLimit, RevenuePhase } from './types';

/** A path into a JSON record: `['relationship', 'offer', 'name']`, or `[]` for the value itself. */
export type JsonPath = readonly (string | number)[];

/** Reads a value from a record: a path, or code (`item` is the element of `items`, if any). */
export type Getter<Config> = JsonPath | ((record: Record<string, unknown>, config: Config, item: unknown) => unknown);

/** One parameter's value; a list is sent PHP-style, `name[]=a&name[]=b` (HasOffers' `fields[]`). */
export type ParamScalar = string | number | boolean | readonly (string | number)[];

/**
 * A query value: fixed, or code of the connection's config and, on a dated request, its request
 * window (for parameters that repeat the dates, such as HasOffers' `filters[Stat.date][values][]`).
 * `window` is undefined on the check request.
 */
export type ParamValue<Config> = ParamScalar | ((config: Config, window: RequestWindow | undefined) => ParamScalar | undefined);

// ── auth ────────────────────────────────────────────────────────────────────────────────────

/** Where an exchanged token goes on each request. */
export type TokenPlacement = { readonly type: 'bearer' } | { readonly type: 'header'; readonly header: string; readonly prefix?: string } | { readonly type: 'query'; readonly param: string };

export type AuthSpec<Config> =
  /** `X-Eflow-API-Key: <key>`; `prefix` for schemes such as `Token ` */
  | { readonly type: 'header'; readonly header: string; readonly field: string; readonly prefix?: string }
  | { readonly type: 'basic'; readonly usernameField: string; readonly passwordField: string }
  | { readonly type: 'bearer'; readonly field: string }
  /** `?api_key=<key>` (never logged: the client logs paths without query strings) */
  | { readonly type: 'query'; readonly param: string; readonly field: string }
  /** A member of the JSON body of POST requests (CAKE's ASMX JSON services read `api_key` there). */
  | { readonly type: 'body'; readonly param: string; readonly field: string }
  /** Several credentials as query parameters (Sedo: `partnerid`, `signkey`, `username`, `password`): parameter → config field. */
  | { readonly type: 'query_params'; readonly params: Readonly<Record<string, string>> }
  /**
   * A token from a request of its own (OAuth client credentials, JWT): `exchange` sends it with
   * `send` (configured origin, no other credentials) and says when the token expires; a response
   * the classification calls `reauthenticate` exchanges again once mid-pull.
   */
  | {
      readonly type: 'token_exchange';
      readonly exchange: (send: UnauthenticatedSend, config: Config) => Promise<ExchangedToken>;
      readonly placement: TokenPlacement;
      /** Exchange again this long before `expiresAt` (default 60 s). */
      readonly refreshBeforeMs?: number;
    };

// ── requests ────────────────────────────────────────────────────────────────────────────────

/** How a date filter is written. `datetime`: `YYYY-MM-DD HH:MM:SS`; `iso8601`: `YYYY-MM-DDTHH:MM:SSZ` (UTC only). */
export type DateFormat = 'date' | 'datetime' | 'iso8601' | 'unix_seconds' | ((at: Date, timeZone: string) => string | number);

export interface DateParamsSpec {
  /** Where the two parameters go. */
  readonly in: 'query' | 'body';
  readonly from: string;
  readonly to: string;
  readonly format: DateFormat;
  /** The zone the API reads the dates in (IANA name). */
  readonly timeZone: string;
  /** Whether records stamped at the `to` value are included. */
  readonly end: 'inclusive' | 'exclusive';
  /** Request windows start and end at the zone's midnight (required for `date` formats). */
  readonly wholeDays: boolean;
  /** The largest span one request may cover, in days (the API's own limit). */
  readonly maxDays: number;
  /** Widens each request by whole days on both sides when the API's zone is not documented. */
  readonly padDays?: number;
}

export interface RequestSpec<Config> {
  readonly method: 'GET' | 'POST';
  /** Relative to the base URL; `{field}` is replaced by the URL-encoded config value. */
  readonly path: string;
  readonly query?: Readonly<Record<string, ParamValue<Config>>>;
  /** A JSON body (POST), or text sent as it is (a GraphQL query in CJ's documented form). */
  readonly body?: Readonly<Record<string, unknown>> | string | ((config: Config) => Record<string, unknown> | string);
  readonly headers?: Readonly<Record<string, string>>;
  readonly dates: DateParamsSpec;
}

// ── pagination ──────────────────────────────────────────────────────────────────────────────

export interface PageState {
  readonly request: HttpRequest;
  readonly response: HttpResponse;
  /** 1-based number of the page just read. */
  readonly page: number;
  /** Records on the page just read. */
  readonly records: number;
  /** Records on all pages of this series so far, this one included. */
  readonly seen: number;
}

export type PaginationSpec =
  | { readonly type: 'none' }
  /** `page=1,2,…`; ends at `total_count`/`total_pages` from the body, or on a short or empty page. */
  | {
      readonly type: 'page_number';
      readonly in: 'query' | 'body';
      readonly param: string;
      readonly start?: number;
      readonly size?: { readonly param: string; readonly value: number };
      readonly stop: { readonly type: 'total_count'; readonly path: JsonPath } | { readonly type: 'total_pages'; readonly path: JsonPath } | { readonly type: 'short_page' } | { readonly type: 'empty_page' };
    }
  /** `offset=0,100,…` (or a row number from `start`); ends on a short page. */
  | { readonly type: 'offset'; readonly in: 'query' | 'body'; readonly param: string; readonly start?: number; readonly size: { readonly param: string; readonly value: number } }
  /** A cursor from the body goes into the next request; ends when it is empty. */
  | { readonly type: 'cursor'; readonly in: 'query' | 'body'; readonly param: string; readonly cursorPath: JsonPath }
  /** The body names the next page's URI (same origin only); ends when it is empty. */
  | { readonly type: 'next_uri'; readonly path: JsonPath }
  /** The page number goes in a request header; `moreStatus` (206) says more pages follow. */
  | { readonly type: 'page_header'; readonly header: string; readonly moreStatus: number }
  /** Code: the next request, or undefined at the end (GraphQL cursors, odd schemes). */
  | { readonly type: 'custom'; readonly next: (state: PageState) => HttpRequest | undefined };

// ── records and fields ──────────────────────────────────────────────────────────────────────

export interface RecordsSpec {
  /** Where the record list sits in the body. */
  readonly path: JsonPath;
  /** Each record's shape (loose: unmapped fields stay in `raw`). */
  readonly schema: z.ZodType<Record<string, unknown>>;
  /** XML-born APIs send a list of one as the object itself. */
  readonly singleObjectAsList?: boolean;
  /** Code that turns a body into records (header-row arrays, totals rows, CSV). Replaces `path`. */
  readonly parse?: (body: unknown) => readonly unknown[];
}

export type Timestamp = 'unix_seconds' | 'unix_ms' | 'iso8601' | ((value: unknown, record: Record<string, unknown>) => Date);

/** The status a network reported, and ours. Keys are compared exactly as the network writes them. */
export interface StatusSpec<Config> {
  readonly get: Getter<Config>;
  /** network status string → ours. The README shows this table. */
  readonly map: Readonly<Record<string, ConversionStatus>>;
  /** A status string not in the map (never counted as revenue by default). */
  readonly unknown: ConversionStatus;
  /** The record carries no status at all; a function when the connection's config decides. */
  readonly missing: ConversionStatus | ((config: Config) => ConversionStatus);
}

export interface ConversionFields<Config> {
  /** `{ configField }`: the record field named by that config value (the configured sub-id). */
  readonly clickId: { readonly configField: string } | Getter<Config>;
  readonly txid: Getter<Config>;
  /** What the affiliate earns, kept as the exact decimal the network sent. */
  readonly payout: Getter<Config>;
  readonly currency: Getter<Config> | null;
  readonly occurredAt: { readonly get: Getter<Config>; readonly format: Timestamp };
  /** Conversion type; null/empty means the connection's default type. */
  readonly type: Getter<Config> | null;
  readonly status: StatusSpec<Config>;
  /** One conversion per element (ClickBank line items); the getters receive it as `item`. */
  readonly items?: (record: Record<string, unknown>) => readonly unknown[];
  /**
   * The record is one part of a conversion that nets over several records (CJ's corrections):
   * `txid` names the conversion, `part.id` the record. See `NormalizedConversion.part`.
   */
  readonly part?: {
    readonly id: Getter<Config>;
    readonly original: Getter<Config>;
    readonly postedAt: { readonly get: Getter<Config>; readonly format: Timestamp };
  };
}

export interface RevenueFields<Config> {
  readonly subId: { readonly configField: string } | Getter<Config>;
  /** The feed's reporting day; `date` reads `YYYY-MM-DD` (or an ISO date-time's date part). */
  readonly day: { readonly get: Getter<Config>; readonly format: 'date' | ((value: unknown) => string) };
  readonly amount: Getter<Config>;
  readonly currency: Getter<Config> | null;
  /** The feed's final flag; null for a feed without one. */
  readonly final: Getter<Config> | null;
  /** The feed's own word for the row's stage, kept as the conversion's `network_status`. */
  readonly networkStatus?: Getter<Config> | null;
}

export type FieldsFor<Kind extends ConnectorRecordKind, Config> = Kind extends 'revenue' ? RevenueFields<Config> : ConversionFields<Config>;

// ── streams ─────────────────────────────────────────────────────────────────────────────────

/** What a `fetch` hook gets: the request window's date values and the context. */
export interface FetchContext<Config> {
  readonly http: HttpClient;
  readonly config: Config;
  readonly signal: AbortSignal;
  /** The request window as instants and as the API's date values. */
  readonly window: { readonly from: Date; readonly to: Date; readonly fromValue: string | number; readonly toValue: string | number };
}

export interface StreamSpec<Kind extends ConnectorRecordKind, Config> {
  readonly name: string;
  /** The documentation of this endpoint (sits above the request in the README and code). */
  readonly documentationUrl: string;
  /**
   * `window`: records whose time falls in the pulled window (others are dropped, so adjacent
   * windows never both yield one). `sweep`: records selected by another date (updated, locked)
   * whose event may lie long before the window; never filtered, not repeated within one pull.
   */
  readonly role: 'window' | 'sweep';
  /**
   * Revenue feeds: a stream that serves only estimate pulls or only final pulls (Sedo's
   * `final=false|true`, Tonic's EPC final report). Omitted: every pull. Within one pull, a day
   * an earlier stream reported is not taken from a later one.
   */
  readonly phase?: RevenuePhase;
  readonly request: RequestSpec<Config>;
  readonly pagination: PaginationSpec;
  /**
   * Code that replaces request + pagination (async reports: request → poll → download): yields
   * each body to read records from. Downloads from another host use `credentials: 'omit'`.
   */
  readonly fetch?: (context: FetchContext<Config>) => AsyncIterable<unknown>;
  readonly records: RecordsSpec;
  readonly fields: FieldsFor<Kind, Config>;
}

// ── the connector ───────────────────────────────────────────────────────────────────────────

/** A revenue feed's days and schedule (see `RevenueFeed`). */
export interface FeedSpec {
  /** The zone of the feed's days; default: the first window stream's `dates.timeZone`. */
  readonly timeZone?: string;
  readonly finalBy: 'flag' | 'age';
  readonly schedule: { readonly everyMinutes: number; readonly estimateDays: number; readonly finalAfterDays: number; readonly source: string };
}

export interface ConfigSpec<Config> {
  /** A zod object; must accept `base_url` (see `config-fields.ts`). */
  readonly schema: z.ZodType<Config>;
  readonly secretFields: readonly string[];
  /** Fields that decide the host (`base_url` is always one): changed only with the secrets. */
  readonly hostFields?: readonly string[];
  readonly defaultBaseUrl: string;
  /** Code for hosts built from config (CAKE's domain, HasOffers' network id); default `base_url ?? defaultBaseUrl`. */
  readonly baseUrl?: (config: Config) => string;
}

export interface CheckSpec<Config> {
  readonly documentationUrl: string;
  readonly request: Omit<RequestSpec<Config>, 'dates'>;
}

export interface ConnectorSpec<Kind extends ConnectorRecordKind = ConnectorRecordKind, Config extends Record<string, unknown> = Record<string, unknown>> {
  readonly id: string;
  readonly name: string;
  readonly kind: Kind;
  readonly documentationUrl: string;
  readonly maturity: ConnectorMaturity;
  readonly config: ConfigSpec<Config>;
  readonly auth: AuthSpec<Config>;
  /** Sent with every request (never credentials). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly rateLimit: RateLimit;
  readonly quota?: QuotaSpec;
  /** Wait when a rate-limited answer says nothing about when to come back. */
  readonly defaultRateLimitWaitMs?: number;
  /** Checkpoint step and lookback for the jobs; request spans are the streams' own `maxDays`. */
  readonly window: { readonly maxDays?: number; readonly defaultLookbackDays: number };
  readonly streams: readonly StreamSpec<Kind, Config>[];
  /** The cheapest authenticated call proving the credentials work. */
  readonly check: CheckSpec<Config>;
  /** The response-classification table; the kit's defaults follow it. */
  readonly classification: readonly ClassificationRule[];
  /** Caveats shown on every connection of this connector (it stays healthy). */
  readonly warnings?: (config: Config) => string[];
  /** Revenue feeds: day zone, finality and default schedule (default: hourly for 3 days, final on day 10, by flag). */
  readonly feed?: FeedSpec;
}
