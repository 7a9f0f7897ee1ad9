import { parseCurrencyCode } from '../money/currency';
import { parseDecimal } from '../money/decimal';
import { cleanText, describeHostileCharacter, hasHostileCharacters } from './characters';
import { isPlaceholder, isUnreplacedMacro } from './macros';
import type { ConversionFields, ConversionStatus } from './types';

/** Step 1 of the pipeline: a conversion's fields, validated and canonical. */
export interface NormalizedConversion {
  /** Lower-cased: click ids are compared case-insensitively. */
  readonly clickId: string;
  readonly txid: string | null;
  readonly type: string;
  /** Absent means "keep the stored status" on an update, `approved` on an insert. */
  readonly status: ConversionStatus | null;
  /** Decimal string; absent means "keep the stored payout" on an update, 0 on an insert (auto mode). */
  readonly payout: string | null;
  readonly payoutCurrency: string | null;
  readonly occurredAt: Date;
  readonly params: Readonly<Record<string, string>>;
  /** The status string exactly as the network reported it (pulled conversions), for reconciliation. */
  readonly networkStatus: string | null;
  readonly warnings: readonly string[];
}

export interface Rejection {
  readonly reason: string;
  readonly message: string;
  /** The click id when one could be read, for the log's click filter. */
  readonly clickId: string | null;
  /** The txid as sent (cut to a storable length) when there was one: pulled rejections are logged once per (connection, txid, reason). */
  readonly txid?: string | null;
}

export type NormalizeResult = { ok: true; value: NormalizedConversion } | { ok: false; rejection: Rejection };

export const CLICK_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const TYPE_PATTERN = /^[a-z0-9_][a-z0-9_.-]{0,39}$/;
const MAX_TXID_LENGTH = 255;
const MAX_PARAM_LENGTH = 1000;
const PARAM_NAME = /^param(?:[1-9]|1\d|20)$/;

const STATUS_ALIASES: Readonly<Record<string, ConversionStatus>> = {
  approved: 'approved', approve: 'approved', accepted: 'approved', confirmed: 'approved', paid: 'approved',
  pending: 'pending', hold: 'pending', on_hold: 'pending',
  declined: 'declined', rejected: 'declined', reversed: 'declined', cancelled: 'declined', canceled: 'declined', invalid: 'declined',
};

/** Earliest conversion time accepted; anything older is a unit or format mistake. */
const EARLIEST = Date.UTC(2000, 0, 1);
/** Clock skew tolerated for timestamps in the future. */
const FUTURE_TOLERANCE_MS = 24 * 60 * 60 * 1000;

function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return text(value[0]);
  return undefined;
}

function firstPresent(fields: ConversionFields, names: readonly string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = text(fields[name]);
    if (value !== undefined && value !== '') return { name, value };
  }
  return undefined;
}

const MAX_NETWORK_STATUS_LENGTH = 100;

/** A value quoted into a message: cut short, and with anything unprintable shown as U+FFFD. */
export function quoted(value: string, max = 40): string {
  const cut = value.length > max ? `${value.slice(0, max - 3)}...` : value;
  return `"${cleanText(cut).text}"`;
}

/** A free-text value made storable and cut to `max`, with a warning for each change. */
function freeText(name: string, value: string, max: number, warnings: string[]): string {
  let result = value;
  if (result.length > max) {
    warnings.push(`${name} was longer than ${max} characters and was cut`);
    result = result.slice(0, max);
  }
  const cleaned = cleanText(result);
  if (cleaned.changed) warnings.push(`${name} contained characters that cannot be stored (control characters or broken UTF-16); they were replaced by U+FFFD`);
  return cleaned.text;
}

/**
 * Parses a conversion timestamp: ISO 8601 with an offset (`2025-10-02T14:30:00+02:00`, `Z`,
 * a space instead of `T` is fine) or unix time in seconds (milliseconds are recognised by size).
 */
export function parseTimestamp(value: string, now: number): { ok: true; value: Date } | { ok: false; message: string } {
  let millis: number;
  if (/^\d{1,11}(\.\d+)?$/.test(value)) {
    millis = Math.round(Number(value) * 1000);
  } else if (/^\d{12,13}$/.test(value)) {
    millis = Number(value);
  } else {
    const iso = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2})(:\d{2}(?:\.\d{1,9})?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)$/.exec(value);
    if (!iso) {
      const hint = /^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$/.test(value)
        ? ' has no UTC offset; add one, e.g. 2025-10-02T14:30:00+02:00 or ...Z'
        : ' is not a timestamp; use ISO 8601 with an offset (2025-10-02T14:30:00+02:00) or unix seconds';
      return { ok: false, message: `timestamp ${quoted(value)}${hint}` };
    }
    const [, date, hoursMinutes, seconds = ':00', zone = 'Z'] = iso;
    const fraction = seconds.includes('.') ? seconds.slice(0, 7).padEnd(7, '0').slice(0, 7) : seconds;
    const offset = /^[zZ]$/.test(zone) ? 'Z' : zone.length === 3 ? `${zone}:00` : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
    millis = Date.parse(`${date}T${hoursMinutes}${fraction}${offset}`);
    if (Number.isNaN(millis)) return { ok: false, message: `timestamp ${quoted(value)} is not a valid date` };
  }
  if (millis < EARLIEST) return { ok: false, message: `timestamp ${quoted(value)} is before 2000-01-01; send unix seconds or ISO 8601` };
  if (millis > now + FUTURE_TOLERANCE_MS) return { ok: false, message: `timestamp ${quoted(value)} is more than a day in the future; check the time zone or the unit (seconds, not microseconds)` };
  return { ok: true, value: new Date(millis) };
}

/**
 * Step 1 of the pipeline. Reads the click id (`click_id` | `cf_click_id` | `cid`) and the
 * optional fields; placeholders in optional fields are dropped with a warning so that a badly
 * templated postback still counts, while a placeholder click id is rejected.
 */
export function normalizeConversion(
  fields: ConversionFields,
  context: { receivedAt: Date; defaultType?: string | null | undefined },
): NormalizeResult {
  const warnings: string[] = [];
  // The txid as sent, for the log of a rejected attempt (pulled rejections are counted per txid).
  const rawTxid = firstPresent(fields, ['txid', 'transaction_id'])?.value;
  const loggedTxid = rawTxid === undefined ? null : cleanText(rawTxid.slice(0, MAX_TXID_LENGTH)).text;
  const reject = (reason: string, message: string, clickId: string | null = null): NormalizeResult => ({
    ok: false,
    rejection: { reason, message, clickId, txid: loggedTxid },
  });
  const hostile = (name: string, value: string): NormalizeResult =>
    reject('invalid_characters', `${name} contains a character that cannot be part of it (${describeHostileCharacter(value)}); send the value exactly as the network issued it`);

  const click = firstPresent(fields, ['click_id', 'cf_click_id', 'cid', 'clickid']);
  if (!click) {
    return reject('missing_click_id', 'no click ID: send it as click_id (or cf_click_id / cid); the postback must return the value the offer URL received from {cf_click_id}');
  }
  if (hasHostileCharacters(click.value)) return hostile(click.name, click.value);
  if (isUnreplacedMacro(click.value)) {
    return reject(
      'unreplaced_macro',
      `${click.name} ${quoted(click.value, 64)} is an unreplaced macro: the network sent its placeholder instead of the click ID; use the network's own sub-id token (e.g. #s2#, {aff_sub}) in the postback URL and pass {cf_click_id} in the offer URL`,
    );
  }
  if (!CLICK_ID_PATTERN.test(click.value)) {
    return reject('invalid_click_id', `${click.name} ${quoted(click.value, 64)} is not a click ID: expected 1-64 characters of letters, digits, "_" or "-"`);
  }
  const clickId = click.value.toLowerCase();
  for (const name of ['txid', 'transaction_id', 'ct', 'type', 'conversion_type', 'payout_currency', 'currency'] as const) {
    const value = text(fields[name]);
    if (value !== undefined && hasHostileCharacters(value)) return hostile(name, value);
  }

  const optional = (names: readonly string[]): string | null => {
    const found = firstPresent(fields, names);
    if (!found) return null;
    if (isPlaceholder(found.value)) {
      warnings.push(`${found.name} ${quoted(found.value)} looks like an unreplaced macro and was ignored`);
      return null;
    }
    return found.value;
  };

  let payout: string | null = null;
  const payoutFound = firstPresent(fields, ['payout']);
  if (payoutFound) {
    if (isPlaceholder(payoutFound.value)) {
      warnings.push(`payout ${quoted(payoutFound.value)} looks like an unreplaced macro and was ignored`);
    } else {
      const parsed = parseDecimal(typeof fields.payout === 'number' ? fields.payout : payoutFound.value);
      if (!parsed.ok) return reject('invalid_payout', `payout: ${cleanText(parsed.message).text}`, clickId);
      payout = parsed.value;
    }
  }

  let payoutCurrency: string | null = null;
  const currencyText = optional(['payout_currency', 'currency']);
  if (currencyText !== null) {
    payoutCurrency = parseCurrencyCode(currencyText) ?? null;
    if (payoutCurrency === null) {
      return reject('invalid_currency', `payout_currency ${quoted(currencyText, 20)} is not an ISO 4217 currency code such as USD or EUR`, clickId);
    }
  }

  const txid = optional(['txid', 'transaction_id']);
  if (txid !== null && txid.length > MAX_TXID_LENGTH) {
    return reject('invalid_txid', `txid is ${txid.length} characters long; at most ${MAX_TXID_LENGTH} are kept`, clickId);
  }

  const typeText = optional(['ct', 'type', 'conversion_type']);
  const type = (typeText ?? context.defaultType ?? 'conversion').toLowerCase();
  if (!TYPE_PATTERN.test(type)) {
    return reject('invalid_conversion_type', `conversion type ${quoted(type)} is not valid: use up to 40 lower-case letters, digits, "_", "-" or ".", e.g. sale or upsell`, clickId);
  }

  let status: ConversionStatus | null = null;
  const statusText = optional(['status']);
  if (statusText !== null) {
    status = STATUS_ALIASES[statusText.toLowerCase()] ?? null;
    if (status === null) {
      return reject('invalid_status', `status ${quoted(statusText)} is not one of approved, pending, declined`, clickId);
    }
  }

  let occurredAt = context.receivedAt;
  const timestampText = optional(['timestamp']);
  if (timestampText !== null) {
    const parsed = parseTimestamp(timestampText, context.receivedAt.getTime());
    if (!parsed.ok) return reject('invalid_timestamp', cleanText(parsed.message).text, clickId);
    occurredAt = parsed.value;
  }

  const params: Record<string, string> = {};
  for (const name in fields) {
    if (!PARAM_NAME.test(name)) continue;
    const value = text(fields[name]);
    if (value === undefined || value === '') continue;
    params[name] = freeText(name, value, MAX_PARAM_LENGTH, warnings);
  }

  let networkStatus: string | null = null;
  const networkStatusText = text(fields.network_status);
  if (networkStatusText !== undefined && networkStatusText !== '') {
    networkStatus = freeText('network_status', networkStatusText, MAX_NETWORK_STATUS_LENGTH, warnings);
  }

  return { ok: true, value: { clickId, txid, type, status, payout, payoutCurrency, occurredAt, params, networkStatus, warnings } };
}
