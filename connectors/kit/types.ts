import type { z } from 'zod';
import type { Logger } from '../../src/log/logger';
import type { HttpClient, HttpClientOptions } from './http-client';

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
  readonly status: 'approved' | 'pending' | 'declined';
  /** Conversion type (sale, lead, refund, chargeback, ...); null for the connection's default. */
  readonly type: string | null;
  readonly occurred_at: Date;
  /** The raw API record, stored in the registration log. */
  readonly raw: unknown;
}

/** A half-open time window [from, to). */
export interface PullWindow {
  readonly from: Date;
  readonly to: Date;
}

/** What a connector gets to work with. It never touches the database, the queue or process.env. */
export interface ConnectorContext<Config> {
  readonly config: Config;
  readonly http: HttpClient;
  readonly log: Logger;
  readonly signal: AbortSignal;
}

export interface RateLimit {
  /** Requests allowed per interval, shared by every worker process pulling this connection. */
  readonly requests: number;
  readonly intervalMs: number;
}

/** How to talk to the API for one connection: derived from its (validated) config. */
export type ConnectorHttpSettings = Pick<HttpClientOptions, 'baseUrl' | 'headers' | 'auth' | 'detectBodyError' | 'defaultRateLimitWaitMs'>;

/** One network API. Pure description plus `pull`; see {@link defineConnector}. */
export interface Connector<Config = Record<string, unknown>> {
  readonly id: string;
  readonly name: string;
  /** Where the API this connector speaks is documented. */
  readonly documentationUrl: string;
  /** Validates a connection's config; must accept `base_url`. */
  readonly configSchema: z.ZodType<Config>;
  /** Config fields that are credentials: encrypted at rest, redacted everywhere. */
  readonly secretFields: readonly string[];
  readonly rateLimit: RateLimit;
  /** Largest window one request (or request series) may span. */
  readonly maxWindowDays: number;
  /** Days re-pulled behind the checkpoint to catch late status and payout changes. */
  readonly defaultLookbackDays: number;
  /** Base URL (config `base_url` or the default host), auth headers and body-error detection. */
  http(config: Config): ConnectorHttpSettings;
  /** Yields pages of normalized conversions for the window. */
  pull(context: ConnectorContext<Config>, window: PullWindow): AsyncIterable<NormalizedConversion[]>;
  /** Makes the cheapest authenticated call to prove the credentials work. */
  check(context: ConnectorContext<Config>): Promise<void>;
}
