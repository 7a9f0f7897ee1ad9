import type { Transaction } from '../db/sql';

/** The five routes a conversion arrives by. */
export const SOURCES = ['postback', 'pixel', 'script', 'api', 'upload'] as const;
export type Source = (typeof SOURCES)[number];

export const CONVERSION_STATUSES = ['approved', 'pending', 'declined'] as const;
export type ConversionStatus = (typeof CONVERSION_STATUSES)[number];

export type OutcomeStatus = 'accepted' | 'duplicate' | 'updated' | 'rejected';
export type DuplicatePolicy = 'ignore' | 'accept' | 'update';

/**
 * Conversion fields as they arrive, before validation. Keys follow the postback parameters:
 * `click_id` | `cf_click_id` | `cid`, `payout`, `payout_currency` (alias `currency`),
 * `txid` (alias `transaction_id`), `ct` (aliases `type`, `conversion_type`), `status`,
 * `timestamp`, `param1`..`param20`. Unknown keys are ignored (they stay in `request`).
 */
export type ConversionFields = Readonly<Record<string, unknown>>;

/** One conversion handed to the pipeline. */
export interface RegistrationInput {
  readonly fields: ConversionFields;
  /** The raw input as received, stored in the registration log (secrets already removed). */
  readonly request?: unknown;
  /** When Tally received it; defaults to the batch's receipt time. */
  readonly receivedAt?: Date;
  /** 1-based CSV line for uploads. */
  readonly line?: number;
  /** Registration-log id of the unknown_click_id attempt this re-registers. */
  readonly rematchOf?: string;
  /** Address the request came from: stored on the log row; checked against the network's postback IP allow-list (S2S postbacks). */
  readonly clientIp?: string | null;
  /** HMAC (under SECRET_KEY) of the postback token the request presented; never the token. */
  readonly tokenDigest?: string | null;
  /**
   * Id assigned when the request was received (HTTP routes). The log makes it unique, so a copy
   * of the same request registered twice (spool drain after a late commit) settles only once.
   */
  readonly intakeId?: string;
  /** Whether a rejection of this input is logged (default true); the flood limit turns it off. */
  readonly logRejection?: boolean;
  /** Set when the intake already refused the input: it is logged with this reason, nothing else is read. */
  readonly rejection?: IntakeRejection;
}

export interface RegisterOptions {
  readonly source: Source;
  readonly connectionId?: string | null;
  readonly uploadId?: string | null;
  /** Network whose currency and duplicate policy apply instead of the click's offer network. */
  readonly networkId?: string | null;
  /** Offer that prices the conversions instead of the click's offer. */
  readonly offerId?: string | null;
  /** Conversion type for inputs without one (default `conversion`). */
  readonly defaultType?: string | null;
  /** Receipt time for inputs without their own; defaults to now. */
  readonly receivedAt?: Date;
  /** Work out every outcome, then roll back: nothing is stored, not even the log. */
  readonly dryRun?: boolean;
  /**
   * Log unchanged duplicates (default true). Scheduled pulls re-read their lookback window every
   * run; they pass false so the log keeps changes and rejections, not every re-read record.
   */
  readonly logUnchanged?: boolean;
  /**
   * Under the `accept` duplicate policy a txid-less conversion normally counts every time. With
   * this set, it is identified by its content (click, type, payout, timestamp) instead, so that
   * re-uploading the same file registers nothing new.
   */
  readonly identifyAcceptedByContent?: boolean;
  /** Run inside the caller's transaction (e.g. to advance a checkpoint atomically). */
  readonly transaction?: Transaction;
}

/** Why an input was refused before it had fields to read (a CSV line that cannot be parsed, an unreadable API record). */
export interface IntakeRejection {
  readonly reason: string;
  readonly message: string;
  /** The record's id when known: pulled rejections are logged once per (connection, txid, reason). */
  readonly txid?: string | null;
}

export interface RegistrationOutcome {
  readonly status: OutcomeStatus;
  /**
   * Why: for `rejected` the rejection reason (unknown_click_id, unreplaced_macro, ...); for
   * `updated` `changed` or `adopted`; for `duplicate` `unchanged` or `duplicate_policy`.
   */
  readonly reason: string | null;
  /** Human-readable explanation, with a hint how to fix a rejection. */
  readonly message: string | null;
  readonly conversionId: string | null;
  readonly clickId: string | null;
  readonly warnings: readonly string[];
}
