import type { z } from 'zod';
import type { Logger } from '../../src/log/logger';
import type { AuthProvider } from './auth';
import type { ClassificationRule } from './classification';
import type { HttpClient } from './http-client';
import type { QuotaSpec } from './quota';

export type ConversionStatus = 'approved' | 'pending' | 'declined';

/** A conversion as a connector reports it, before the registration pipeline sees it. */
export interface NormalizedConversion {
  /** The tracker's click ID from the configured sub-id field; null when the record has none. */
  readonly click_id: string | null;
  /** The network's stable id for this conversion (never a per-pull value). */
  readonly txid: string;
  /** Decimal string exactly as the API sent it (never a JS float); null when absent. */
  readonly payout: string | null;
  /** ISO 4217; null to fall back to offer/network/account currency. */
  readonly currency: string | null;
  readonly status: ConversionStatus;
  /** The status string exactly as the network reported it (e.g. impact.com's `REVERSED`); null when it reported none. */
  readonly network_status: string | null;
  /** Conversion type (sale, lead, refund, chargeback, ...); null for the connection's default. */
  readonly type: string | null;
  readonly occurred_at: Date;
  /** The raw API record, stored in the registration log. */
  readonly raw: unknown;
  /**
   * Set when the network reports one conversion as several records that net (CJ: an original
   * action and the corrections that arrive later as records of their own). `txid` is then the
   * conversion's, shared by all its parts, and `payout` this record's amount alone; the pull job
   * keeps every part it has seen and registers the conversion with their sum
   * (jobs/conversion-netting.ts).
   */
  readonly part?: ConversionPart;
}

/** One record of a conversion that is the sum of several (see {@link NormalizedConversion.part}). */
export interface ConversionPart {
  /** The record's own id (CJ's `commissionId`). */
  readonly id: string;
  /** Whether this is the original record rather than a correction of it. */
  readonly original: boolean;
  /** When the network posted this record: the latest part's status is the conversion's. */
  readonly postedAt: Date;
}

/**
 * One line of a revenue feed (search arbitrage, parking): revenue per sub-id per day, estimated
 * until the feed calls it final. The revenue job sums a day's rows per sub-id before registering.
 */
export interface NormalizedRevenueRow {
  /** The feed's sub-id that carries the tracker click ID; null for rows without one. */
  readonly sub_id: string | null;
  /** The feed's reporting day, YYYY-MM-DD, in the feed's own time zone. */
  readonly day: string;
  /** Decimal string exactly as the feed sent it. */
  readonly amount: string;
  /** ISO 4217; null when the feed does not say (the connection's currency applies). */
  readonly currency: string | null;
  /** The feed's own final/estimated flag; null for a feed without one (final after `final_after_days`). */
  readonly final: boolean | null;
  /** The feed's own word for the row's stage (e.g. Tonic's `estimated_revenue`); null when it has none. */
  readonly network_status: string | null;
  readonly raw: unknown;
}

/** What a connector yields, by kind. */
export type ConnectorRecordKind = 'conversion' | 'revenue';
export type RecordOf<Kind extends ConnectorRecordKind> = Kind extends 'revenue' ? NormalizedRevenueRow : NormalizedConversion;

/** A half-open time window [from, to). */
export interface PullWindow {
  readonly from: Date;
  readonly to: Date;
  /**
   * Revenue feeds only: whether the job asks for the feed's estimates (days younger than
   * `final_after_days`) or its final numbers. Streams declaring another `phase` are skipped;
   * undefined runs every stream.
   */
  readonly phase?: RevenuePhase;
}

/** Which numbers of a revenue feed a pull asks for. */
export type RevenuePhase = 'estimate' | 'final';

/**
 * What the revenue job needs to know about a feed: the zone its days are in, how a day becomes
 * final, and its default schedule ("every `everyMinutes` for `estimateDays`, then a final pull on
 * day `finalAfterDays`").
 */
export interface RevenueFeed {
  readonly timeZone: string;
  /** `flag`: a day is final when the feed says so; `age`: once it is `finalAfterDays` old (the feed has no flag). */
  readonly finalBy: 'flag' | 'age';
  readonly everyMinutes: number;
  readonly estimateDays: number;
  readonly finalAfterDays: number;
  /** Where the default schedule comes from. */
  readonly source: string;
}

/** What a connector gets to work with. It never touches the database, the queue or process.env. */
export interface ConnectorContext<Config> {
  readonly config: Config;
  readonly http: HttpClient;
  readonly log: Logger;
  readonly signal: AbortSignal;
  /**
   * Where a record the connector cannot read goes (it does not fit the documented shape, a value
   * cannot be parsed). With a sink the record is rejected alone and the rest of its page pulled;
   * without one (connection tests) it fails the call.
   */
  readonly rejected?: (record: RejectedRecord) => void;
}

/** A record the API returned that the connector could not read: registered as a rejection with its raw form. */
export interface RejectedRecord {
  readonly reason: 'invalid_record';
  readonly message: string;
  readonly raw: unknown;
  /** The network's id for the record when it could be read, else a digest of the record (so it is logged once). */
  readonly txid: string;
}

export interface RateLimit {
  /** Requests allowed per interval, shared by every worker process pulling this connection. */
  readonly requests: number;
  readonly intervalMs: number;
}

/**
 * How far each field and rule of a connector is confirmed. `verified`: every field confirmed from
 * official documentation and the contract suite passes; `experimental` lists what is not.
 */
export type ConnectorMaturity = { readonly level: 'verified' } | { readonly level: 'experimental'; readonly unconfirmed: readonly string[] };

/** How to talk to the API for one connection: derived from its (validated) config. */
export interface ConnectorHttpSettings {
  /** The only origin credentials are ever sent to. */
  readonly baseUrl: string;
  /** Static headers without credentials. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Puts credentials on a request to the configured origin (never on any other). */
  readonly auth?: AuthProvider;
  /** The connector's response-classification table; the kit's defaults follow it. */
  readonly classification: readonly ClassificationRule[];
  /** Wait when a rate-limited answer says nothing about when to come back. */
  readonly defaultRateLimitWaitMs?: number;
  /** A daily request budget shared by every app on the account (ClickBank). */
  readonly quota?: QuotaSpec;
}

/** One network API as the jobs consume it. Declarative connectors are built by the engine (`defineSpecConnector`). */
export interface Connector<Config = Record<string, unknown>, Kind extends ConnectorRecordKind = 'conversion'> {
  readonly id: string;
  readonly name: string;
  readonly kind: Kind;
  /** Where the API this connector speaks is documented. */
  readonly documentationUrl: string;
  readonly maturity: ConnectorMaturity;
  /** Validates a connection's config; must accept `base_url`. */
  readonly configSchema: z.ZodType<Config>;
  /** Config fields that are credentials: encrypted at rest, redacted everywhere. */
  readonly secretFields: readonly string[];
  /** Config fields that decide which host credentials go to: changed only together with the secrets. */
  readonly hostFields: readonly string[];
  readonly rateLimit: RateLimit;
  /** Largest window the jobs hand to one `pull` call (a checkpoint step). */
  readonly maxWindowDays: number;
  /** Days re-pulled behind the checkpoint to catch late status and payout changes. */
  readonly defaultLookbackDays: number;
  /** The connector's response-classification table (also in `http(config).classification`). */
  readonly classification: readonly ClassificationRule[];
  /** Revenue feeds: day zone, finality and default schedule. */
  readonly feed?: RevenueFeed;
  /** Base URL (config `base_url` or the default host), auth and the classification table. */
  http(config: Config): ConnectorHttpSettings;
  /** Caveats an operator must know about this connection (shown on the connection; it stays healthy). */
  warnings(config: Config): string[];
  /** Yields pages of normalized records for the window. */
  pull(context: ConnectorContext<Config>, window: PullWindow): AsyncIterable<RecordOf<Kind>[]>;
  /** Makes the cheapest authenticated call to prove the credentials work. */
  check(context: ConnectorContext<Config>): Promise<void>;
}

/** Any connector, whatever its config or record kind (the registry's element type). */
export type AnyConnector = Connector<Record<string, unknown>, 'conversion'> | Connector<Record<string, unknown>, 'revenue'>;
