import { createHash, randomUUID } from 'node:crypto';
import { judgeTrust, type NetworkTrust, type TrackingRoute } from '../trust/trust-policy';
import type { NormalizedConversion, NormalizeResult, Rejection } from './normalize';
import { rejectionMessages, SETTLED, type SettledResult } from './outcomes';
import type { DuplicatePolicy, RegisterOptions, RegistrationInput, RegistrationOutcome } from './types';

/** A click as the pipeline needs it: where it went, how that offer is priced, who may report for it. */
export interface MatchedClick {
  readonly click_id: string;
  /** Postgres text form, passed back untouched (no Date round trip for 10,000 rows). */
  readonly visited_at: string;
  readonly campaign_id: string;
  readonly offer_id: string;
  readonly payout_mode: 'auto' | 'manual';
  readonly offer_payout: string | null;
  readonly offer_currency: string | null;
  readonly network_id: string | null;
  readonly network_currency: string | null;
  readonly duplicate_policy: DuplicatePolicy | null;
  /** The network's trust settings; null when the click's offer has no network. */
  readonly trust: NetworkTrust | null;
}

/** A matched, trusted, priced conversion waiting for the upsert. */
export interface Priced {
  readonly index: number;
  readonly conversion: NormalizedConversion;
  readonly click: MatchedClick;
  readonly dedupKey: string;
  readonly policy: DuplicatePolicy;
  /** Payout that counts: the offer's fixed payout in manual mode, else the reported one. */
  readonly payout: string | null;
  readonly currency: string;
  readonly reportedPayout: string | null;
  readonly reportedCurrency: string | null;
  /** Priced by a manual offer: assigned once, never repriced by later reports. */
  readonly manual: boolean;
  /**
   * The currency came from the offer, network or account (the report named none; always so for
   * a manual price). A later report
   * of an existing conversion then keeps that conversion's currency: a currency changed on the
   * offer since applies to future conversions only.
   */
  readonly currencyAssumed: boolean;
  /** What this input is when it changes nothing (see {@link duplicateResult}). */
  readonly unchangedResult: SettledResult;
  readonly receivedAt: Date;
}

export type Resolved = { -readonly [K in keyof RegistrationOutcome]: RegistrationOutcome[K] };

/** An attempt whose outcome is known before the upsert (rejections, in-batch repeats). */
export interface KnownLogRow {
  readonly index: number;
  readonly outcome: Resolved;
  /** Network of the matched click, for rejections decided after matching. */
  readonly networkId: string | null;
}

export interface BatchPlan {
  readonly known: KnownLogRow[];
  /** Conversions of the same click and type go into separate rounds, in input order, so each sees the previous one's effect. */
  readonly rounds: Priced[][];
  /** Exact repeats of an earlier input of the batch: answered as duplicates of it without a round of their own. */
  readonly repeats: { readonly item: Priced; readonly original: number }[];
}

export interface PlanSettings {
  /** The account default: last step of the currency precedence. */
  readonly defaultCurrency: string;
  /** Digest of POSTBACK_TOKEN, which applies to S2S postbacks of networks without a token of their own. */
  readonly globalTokenDigest: string | null;
  readonly now: Date;
}

/**
 * Decides, for one batch, everything that does not need the conversions table: which inputs are
 * rejected (invalid, unknown click, not trusted), how the others are priced and identified, and
 * which of them are repeats of each other. Pure: the same inputs and clicks give the same plan
 * (apart from the random identity of txid-less conversions under the accept policy).
 */
export function planBatch(
  batch: {
    readonly inputs: readonly RegistrationInput[];
    readonly normalized: readonly NormalizeResult[];
    readonly clicks: ReadonlyMap<string, MatchedClick>;
    readonly options: RegisterOptions;
    readonly receivedAt: (index: number) => Date;
  },
  settings: PlanSettings,
  outcomes: Resolved[],
): BatchPlan {
  const known: KnownLogRow[] = [];
  const priced: Priced[] = [];
  const reject = (index: number, rejection: Rejection, warnings: readonly string[], networkId: string | null): void => {
    outcomes[index] = rejected(rejection, warnings);
    known.push({ index, outcome: outcomes[index], networkId });
  };
  batch.normalized.forEach((result, index) => {
    if (!result.ok) return reject(index, result.rejection, [], null);
    const conversion = result.value;
    const click = batch.clicks.get(conversion.clickId);
    if (!click) {
      const rejection = { reason: 'unknown_click_id', message: rejectionMessages.unknownClickId(conversion.clickId), clickId: conversion.clickId, txid: conversion.txid };
      return reject(index, rejection, conversion.warnings, null);
    }
    const input = batch.inputs[index];
    const verdict = judgeTrust(batch.options.source, click.trust, { clientIp: input?.clientIp, tokenDigest: input?.tokenDigest }, settings);
    if (!verdict.ok) {
      return reject(index, { reason: verdict.reason, message: verdict.message, clickId: conversion.clickId, txid: conversion.txid }, conversion.warnings, click.network_id);
    }
    priced.push(price(index, conversion, click, batch.receivedAt(index), input, batch.options, settings));
  });
  return { known, ...groupIntoRounds(priced) };
}

/** Whether the batch's route is one the trust policy judges (for callers that only log). */
export function isTrackingRoute(source: string): source is TrackingRoute {
  return source === 'postback' || source === 'pixel' || source === 'script';
}

/**
 * What an input that changes nothing is: a duplicate under the ignore policy (a txid-less second
 * conversion of the same click and type) or simply unchanged. Decided here only; the statement
 * receives it per row.
 */
export function duplicateResult(txid: string | null, policy: DuplicatePolicy): SettledResult {
  return txid === null && policy === 'ignore' ? 'duplicate_policy' : 'unchanged';
}

/** Steps 3 and 4: payout mode and currency precedence. FX happens in SQL, in decimal. */
function price(
  index: number,
  conversion: NormalizedConversion,
  click: MatchedClick,
  receivedAt: Date,
  input: RegistrationInput | undefined,
  options: RegisterOptions,
  settings: PlanSettings,
): Priced {
  const fallbackCurrency = click.offer_currency?.trim() || click.network_currency?.trim() || settings.defaultCurrency;
  const reportedCurrency = conversion.payoutCurrency ?? fallbackCurrency;
  const policy: DuplicatePolicy = click.duplicate_policy ?? 'ignore';
  const dedupKey = conversion.txid !== null ? `tx:${conversion.txid}` : policy === 'accept' ? acceptKey(conversion, input, options) : '';
  const manual = click.payout_mode === 'manual' && click.offer_payout !== null;
  // One literal per conversion (no spreads): this runs for every input of every batch.
  return {
    index,
    conversion,
    click,
    dedupKey,
    policy,
    receivedAt,
    payout: manual ? click.offer_payout : conversion.payout,
    currency: manual ? fallbackCurrency : reportedCurrency,
    reportedPayout: conversion.payout,
    reportedCurrency: conversion.payout === null ? null : reportedCurrency,
    manual,
    currencyAssumed: manual || conversion.payoutCurrency === null,
    unchangedResult: duplicateResult(conversion.txid, policy),
  };
}

/**
 * Identity of a txid-less conversion under the accept policy. Each counts, but the same attempt
 * registered twice must not: an HTTP request is identified by its intake id, a re-matched attempt
 * by the attempt it re-registers, an upload line (on request) by its content.
 */
function acceptKey(conversion: NormalizedConversion, input: RegistrationInput | undefined, options: RegisterOptions): string {
  const hash = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 32);
  if (input?.rematchOf !== undefined) return `acc:${hash(`rematch:${input.rematchOf}`)}`;
  if (input?.intakeId !== undefined) return `acc:${hash(`intake:${input.intakeId}`)}`;
  if (!options.identifyAcceptedByContent) return `acc:${randomUUID()}`;
  return `acc:${hash(JSON.stringify([conversion.clickId, conversion.type, conversion.payout, conversion.payoutCurrency, conversion.occurredAt.toISOString()]))}`;
}

function groupIntoRounds(priced: readonly Priced[]): Pick<BatchPlan, 'rounds' | 'repeats'> {
  const rounds: Priced[][] = [];
  const roundOfSlot = new Map<string, number>();
  const lastOfSlot = new Map<string, { key: string; index: number }>();
  const repeats: { item: Priced; original: number }[] = [];
  for (const item of priced) {
    const slot = `${item.click.click_id}\u0000${item.conversion.type}`;
    // A repeat is a report equal to the previous one of its click and type: only then can it
    // change nothing. (pending, approved, pending) ends pending, so its third report is no repeat
    // of the first. Random accept-policy keys never repeat, so those are never collapsed.
    const repeatKey = `${item.dedupKey}\u0000${item.conversion.status}\u0000${item.payout}\u0000${item.currency}\u0000${item.reportedPayout}\u0000${item.conversion.networkStatus}`;
    const previous = lastOfSlot.get(slot);
    if (previous !== undefined && previous.key === repeatKey) {
      repeats.push({ item, original: previous.index });
      continue;
    }
    lastOfSlot.set(slot, { key: repeatKey, index: item.index });
    const round = (roundOfSlot.get(slot) ?? -1) + 1;
    roundOfSlot.set(slot, round);
    (rounds[round] ??= []).push(item);
  }
  return { rounds, repeats };
}

export function rejected(rejection: Rejection, warnings: readonly string[]): Resolved {
  return { status: 'rejected', reason: rejection.reason, message: rejection.message, conversionId: null, clickId: rejection.clickId, warnings };
}

/** The outcome of a settled attempt, from the result the statement (or the repeat rule) decided. */
export function settledOutcome(result: SettledResult, item: Priced, conversionId: string | null): Resolved {
  const { status, reason, message } = SETTLED[result];
  return { status, reason, message, conversionId, clickId: item.click.click_id, warnings: item.conversion.warnings };
}
