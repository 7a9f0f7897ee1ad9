import { cleanText, storableJson } from './characters';
import type { NormalizeResult } from './normalize';
import type { KnownLogRow, Priced } from './planner';
import type { DuplicatePolicy, RegisterOptions, RegistrationInput } from './types';

/** Longest txid kept on a log row (the pulled-rejection index must hold it). */
const MAX_LOG_TXID = 255;

export interface RoundPayload {
  readonly conversions: string;
  readonly known: string;
  readonly fxPairs: string;
  readonly meta: string;
  readonly defaultReceivedAt: string;
}

/** The batch's inputs as the statements read them. */
export interface BatchContext {
  readonly inputs: readonly RegistrationInput[];
  readonly normalized: readonly NormalizeResult[];
  readonly options: RegisterOptions;
  readonly receivedAt: (index: number) => Date;
}

const WARNING_REPLACED_REQUEST = 'the raw request contained characters that cannot be stored (U+0000 or broken UTF-16); they were replaced by U+FFFD in the log';

/**
 * The raw input as the log keeps it, storable, and the attempt's warnings: with one more when
 * characters had to be replaced (the common clean case allocates nothing).
 */
function storableRequest(input: RegistrationInput | undefined, warnings: readonly string[]): { request: unknown; warnings: readonly string[] } {
  const { value, changed } = storableJson(input?.request ?? input?.fields ?? null);
  if (!changed || warnings.includes(WARNING_REPLACED_REQUEST)) return { request: value, warnings };
  return { request: value, warnings: [...warnings, WARNING_REPLACED_REQUEST] };
}

/**
 * Encodes one round for the registration statement: per-row data as compact JSON (short keys,
 * absent instead of null) and what many rows share (offer/network pricing, the receipt time,
 * rates) sent once. The payload's parse is a large part of the statement's cost.
 */
export function encodeRound(round: readonly Priced[], known: readonly KnownLogRow[], batch: BatchContext): RoundPayload {
  const { inputs, options } = batch;
  const defaultReceivedAt = round[0]?.receivedAt.toISOString() ?? new Date().toISOString();
  const metaIndex = new Map<string, number>();
  const meta: { n: number; campaign_id: string; offer_id: string; network_id: string | null; policy: DuplicatePolicy }[] = [];
  const fxPairs = new Map<string, { currency: string; day: string }>();
  const rows = round.map((item, ord) => {
    const input = inputs[item.index];
    const { conversion, click } = item;
    const metaKey = `${click.campaign_id}/${click.offer_id}/${click.network_id ?? ''}/${item.policy}`;
    let m = metaIndex.get(metaKey);
    if (m === undefined) {
      m = meta.length;
      meta.push({ n: m, campaign_id: click.campaign_id, offer_id: click.offer_id, network_id: click.network_id, policy: item.policy });
      metaIndex.set(metaKey, m);
    }
    const occurredAt = conversion.occurredAt.toISOString();
    const receivedAt = item.receivedAt.toISOString();
    fxPairs.set(`${item.currency}/${occurredAt.slice(0, 10)}`, { currency: item.currency, day: occurredAt.slice(0, 10) });
    const reportedSame = item.reportedPayout === item.payout && (item.reportedPayout === null || item.reportedCurrency === item.currency);
    const { request, warnings } = storableRequest(input, conversion.warnings);
    return {
      o: ord,
      c: click.click_id,
      t: conversion.type,
      x: conversion.txid ?? undefined,
      k: item.dedupKey === '' || item.dedupKey === `tx:${conversion.txid ?? ''}` ? undefined : item.dedupKey,
      s: conversion.status ?? undefined,
      p: item.payout ?? undefined,
      cu: item.currency,
      mp: item.manual ? true : undefined,
      ca: item.currencyAssumed ? true : undefined,
      dr: item.unchangedResult === 'unchanged' ? undefined : item.unchangedResult,
      rs: reportedSame ? undefined : true,
      rp: reportedSame ? undefined : (item.reportedPayout ?? undefined),
      rc: reportedSame ? undefined : (item.reportedCurrency ?? undefined),
      ns: conversion.networkStatus ?? undefined,
      at: occurredAt === receivedAt ? undefined : occurredAt,
      v: click.visited_at,
      ra: receivedAt === defaultReceivedAt ? undefined : receivedAt,
      m,
      pa: Object.keys(conversion.params).length > 0 ? conversion.params : undefined,
      l: input?.line,
      rm: input?.rematchOf,
      w: warnings.length > 0 ? warnings : undefined,
      rq: request,
      ip: input?.clientIp ?? undefined,
      tk: input?.tokenDigest ?? undefined,
      iid: input?.intakeId,
    };
  });
  return {
    conversions: JSON.stringify(rows),
    known: JSON.stringify(encodeKnown(known, batch)),
    fxPairs: JSON.stringify([...fxPairs.values()]),
    meta: JSON.stringify(meta),
    defaultReceivedAt,
  };
}

/**
 * Log rows of attempts whose outcome is already known. A pulled record that is rejected is
 * counted per (txid, click ID, reason) rather than logged again (`seen`); repeats within the batch fold
 * into one row whose count they raise, keeping the latest sighting.
 */
function encodeKnown(known: readonly KnownLogRow[], batch: BatchContext): Record<string, unknown>[] {
  const { inputs, normalized, options } = batch;
  const logUnchanged = options.logUnchanged ?? true;
  const counted = new Map<string, Record<string, unknown> & { seen: number }>();
  const rows: Record<string, unknown>[] = [];
  for (const { index, outcome, networkId } of known) {
    if (!logUnchanged && outcome.status === 'duplicate' && outcome.reason === 'unchanged') continue;
    const input = inputs[index];
    if (outcome.status === 'rejected' && input?.logRejection === false) continue;
    const result = normalized[index];
    const { request, warnings } = storableRequest(input, outcome.warnings);
    const txid = result?.ok ? result.value.txid : (result?.rejection.txid ?? null);
    const row = {
      received_at: batch.receivedAt(index).toISOString(),
      outcome: outcome.status,
      reason: outcome.reason,
      message: outcome.message === null ? null : cleanText(outcome.message).text,
      click_id: outcome.clickId,
      txid: txid === null ? null : txid.slice(0, MAX_LOG_TXID),
      type: result?.ok ? result.value.type : null,
      conversion_id: outcome.conversionId,
      line: input?.line ?? null,
      rematch_of: input?.rematchOf ?? null,
      fields: outcome.status === 'rejected' ? storableJson(input?.fields ?? null).value : null,
      request,
      client_ip: input?.clientIp ?? null,
      token_digest: input?.tokenDigest ?? null,
      intake_id: input?.intakeId ?? null,
      network_id: networkId,
      warnings: warnings.length > 0 ? warnings.map((warning) => cleanText(warning).text) : null,
    };
    const pulledRejection = options.source === 'api' && outcome.status === 'rejected' && options.connectionId && row.txid !== null && input?.rematchOf === undefined;
    if (!pulledRejection) {
      rows.push(row);
      continue;
    }
    const key = `${row.txid}\u0000${row.click_id ?? ''}\u0000${row.reason}`;
    const earlier = counted.get(key);
    counted.set(key, { ...row, seen: (earlier?.seen ?? 0) + 1 });
  }
  return [...rows, ...counted.values()];
}
