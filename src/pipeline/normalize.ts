import { parseCurrencyCode } from '../money/currency';
import { parseDecimal } from '../money/decimal';
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
  readonly warnings: readonly string[];
}

export interface Rejection {
  readonly reason: string;
  readonly message: string;
  /** The click id when one could be read, for the log's click filter. */
  readonly clickId: string | null;
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

const reject = (reason: string, message: string, clickId: string | null = null): NormalizeResult => ({
  ok: false,
  rejection: { reason, message, clickId },
});

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
      return { ok: false, message: `timestamp "${value.slice(0, 40)}"${hint}` };
    }
    const [, date, hoursMinutes, seconds = ':00', zone = 'Z'] = iso;
    const fraction = seconds.includes('.') ? seconds.slice(0, 7).padEnd(7, '0').slice(0, 7) : seconds;
    const offset = /^[zZ]$/.test(zone) ? 'Z' : zone.length === 3 ? `${zone}:00` : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
    millis = Date.parse(`${date}T${hoursMinutes}${fraction}${offset}`);
    if (Number.isNaN(millis)) return { ok: false, message: `timestamp "${value}" is not a valid date` };
  }
  if (millis < EARLIEST) return { ok: false, message: `timestamp "${value}" is before 2000-01-01; send unix seconds or ISO 8601` };
  if (millis > now + FUTURE_TOLERANCE_MS) return { ok: false, message: `timestamp "${value}" is more than a day in the future; check the time zone or the unit (seconds, not microseconds)` };
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

  const click = firstPresent(fields, ['click_id', 'cf_click_id', 'cid', 'clickid']);
  if (!click) {
    return reject('missing_click_id', 'no click ID: send it as click_id (or cf_click_id / cid); the postback must return the value the offer URL received from {cf_click_id}');
  }
  if (isUnreplacedMacro(click.value)) {
    return reject(
      'unreplaced_macro',
      `${click.name} "${click.value.slice(0, 64)}" is an unreplaced macro: the network sent its placeholder instead of the click ID; use the network's own sub-id token (e.g. #s2#, {aff_sub}) in the postback URL and pass {cf_click_id} in the offer URL`,
    );
  }
  if (!CLICK_ID_PATTERN.test(click.value)) {
    return reject('invalid_click_id', `${click.name} "${click.value.slice(0, 64)}" is not a click ID: expected 1-64 characters of letters, digits, "_" or "-"`);
  }
  const clickId = click.value.toLowerCase();

  const optional = (names: readonly string[]): string | null => {
    const found = firstPresent(fields, names);
    if (!found) return null;
    if (isPlaceholder(found.value)) {
      warnings.push(`${found.name} "${found.value.slice(0, 40)}" looks like an unreplaced macro and was ignored`);
      return null;
    }
    return found.value;
  };

  let payout: string | null = null;
  const payoutFound = firstPresent(fields, ['payout']);
  if (payoutFound) {
    if (isPlaceholder(payoutFound.value)) {
      warnings.push(`payout "${payoutFound.value.slice(0, 40)}" looks like an unreplaced macro and was ignored`);
    } else {
      const parsed = parseDecimal(typeof fields.payout === 'number' ? fields.payout : payoutFound.value);
      if (!parsed.ok) return reject('invalid_payout', `payout: ${parsed.message}`, clickId);
      payout = parsed.value;
    }
  }

  let payoutCurrency: string | null = null;
  const currencyText = optional(['payout_currency', 'currency']);
  if (currencyText !== null) {
    payoutCurrency = parseCurrencyCode(currencyText) ?? null;
    if (payoutCurrency === null) {
      return reject('invalid_currency', `payout_currency "${currencyText.slice(0, 20)}" is not an ISO 4217 currency code such as USD or EUR`, clickId);
    }
  }

  const txid = optional(['txid', 'transaction_id']);
  if (txid !== null && txid.length > MAX_TXID_LENGTH) {
    return reject('invalid_txid', `txid is ${txid.length} characters long; at most ${MAX_TXID_LENGTH} are kept`, clickId);
  }

  const typeText = optional(['ct', 'type', 'conversion_type']);
  const type = (typeText ?? context.defaultType ?? 'conversion').toLowerCase();
  if (!TYPE_PATTERN.test(type)) {
    return reject('invalid_conversion_type', `conversion type "${type.slice(0, 40)}" is not valid: use up to 40 lower-case letters, digits, "_", "-" or ".", e.g. sale or upsell`, clickId);
  }

  let status: ConversionStatus | null = null;
  const statusText = optional(['status']);
  if (statusText !== null) {
    status = STATUS_ALIASES[statusText.toLowerCase()] ?? null;
    if (status === null) {
      return reject('invalid_status', `status "${statusText.slice(0, 40)}" is not one of approved, pending, declined`, clickId);
    }
  }

  let occurredAt = context.receivedAt;
  const timestampText = optional(['timestamp']);
  if (timestampText !== null) {
    const parsed = parseTimestamp(timestampText, context.receivedAt.getTime());
    if (!parsed.ok) return reject('invalid_timestamp', parsed.message, clickId);
    occurredAt = parsed.value;
  }

  const params: Record<string, string> = {};
  for (const name in fields) {
    if (!PARAM_NAME.test(name)) continue;
    const value = text(fields[name]);
    if (value === undefined || value === '') continue;
    if (value.length > MAX_PARAM_LENGTH) {
      warnings.push(`${name} was longer than ${MAX_PARAM_LENGTH} characters and was cut`);
      params[name] = value.slice(0, MAX_PARAM_LENGTH);
    } else {
      params[name] = value;
    }
  }

  return { ok: true, value: { clickId, txid, type, status, payout, payoutCurrency, occurredAt, params, warnings } };
}
