import { parseCurrencyCode } from '../../src/money/currency';
import { ConnectorResponseError } from './errors';
import type { ConversionFields, Getter, JsonPath, RevenueFields, Timestamp } from './spec';
import type { ConversionPart, ConversionStatus, NormalizedConversion, NormalizedRevenueRow } from './types';

/** The value at a path, or undefined. */
export function atPath(value: unknown, path: JsonPath): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || current === undefined || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

function read<Config>(getter: Getter<Config>, record: Record<string, unknown>, config: Config, item: unknown): unknown {
  return typeof getter === 'function' ? getter(record, config, item) : atPath(record, getter);
}

/** Text or null for an absent/empty value; numbers (the lossless parser's safe integers) as their digits. */
function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value.trim() === '' ? null : value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return null;
}

/** An amount exactly as sent: a digit string, or a safe integer. Never parsed into a float. */
function decimal(value: unknown, what: string): string | null {
  const digits = text(value);
  if (digits === null) return null;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(digits.trim())) throw new ConnectorResponseError(`${what} is not a number: ${JSON.stringify(value)}`);
  return digits.trim();
}

function timestamp(value: unknown, format: Timestamp, record: Record<string, unknown>): Date {
  if (typeof format === 'function') return format(value, record);
  const digits = text(value);
  const at =
    digits === null ? new Date(Number.NaN)
    : format === 'iso8601' ? new Date(digits)
    : new Date(Number(digits) * (format === 'unix_seconds' ? 1000 : 1));
  if (Number.isNaN(at.getTime())) throw new ConnectorResponseError(`the record's time ${JSON.stringify(value)} is not a ${format} time`);
  return at;
}

function clickIdGetter<Config>(field: { readonly configField: string } | Getter<Config>): Getter<Config> {
  if (typeof field === 'function' || Array.isArray(field)) return field as Getter<Config>;
  const { configField } = field as { configField: string };
  return (record, config) => record[String((config as Record<string, unknown>)[configField])];
}

/** An event name or type label as a conversion type: lower case, only [a-z0-9_.-]. */
export function typeName(value: unknown): string | null {
  const name = (text(value) ?? '').toLowerCase().replace(/[^a-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '');
  return name || null;
}

/** The network's status and ours, from the spec's status table. */
export function mapStatus<Config>(spec: ConversionFields<Config>['status'], record: Record<string, unknown>, config: Config, item: unknown): { status: ConversionStatus; network_status: string | null } {
  const reported = text(read(spec.get, record, config, item));
  if (reported === null) return { status: typeof spec.missing === 'function' ? spec.missing(config) : spec.missing, network_status: null };
  const mapped = Object.prototype.hasOwnProperty.call(spec.map, reported) ? spec.map[reported] : undefined;
  return { status: mapped ?? spec.unknown, network_status: reported };
}

/** One record → its conversions (one, or one per item). */
export function mapConversions<Config>(fields: ConversionFields<Config>, record: Record<string, unknown>, config: Config): NormalizedConversion[] {
  const items = fields.items ? fields.items(record) : [undefined];
  return items.map((item) => {
    const txid = text(read(fields.txid, record, config, item));
    if (txid === null) throw new ConnectorResponseError(`a record has no transaction id: ${JSON.stringify(record).slice(0, 200)}`);
    const currency = fields.currency ? text(read(fields.currency, record, config, item)) : null;
    const part = fields.part ? mapPart(fields.part, record, config, item, txid) : undefined;
    return {
      ...(part ? { part } : {}),
      click_id: text(read(clickIdGetter(fields.clickId), record, config, item)),
      txid,
      payout: decimal(read(fields.payout, record, config, item), `the payout of ${txid}`),
      currency: currency === null ? null : (parseCurrencyCode(currency) ?? null),
      ...mapStatus(fields.status, record, config, item),
      type: fields.type ? typeName(read(fields.type, record, config, item)) : null,
      occurred_at: timestamp(read(fields.occurredAt.get, record, config, item), fields.occurredAt.format, record),
      raw: record,
    };
  });
}

function mapPart<Config>(spec: NonNullable<ConversionFields<Config>['part']>, record: Record<string, unknown>, config: Config, item: unknown, txid: string): ConversionPart {
  const id = text(read(spec.id, record, config, item));
  if (id === null) throw new ConnectorResponseError(`a record of ${txid} has no id of its own: ${JSON.stringify(record).slice(0, 200)}`);
  const original = read(spec.original, record, config, item);
  if (typeof original !== 'boolean') throw new ConnectorResponseError(`record ${id} does not say whether it is the original (${JSON.stringify(original)})`);
  return { id, original, postedAt: timestamp(read(spec.postedAt.get, record, config, item), spec.postedAt.format, record) };
}

/** One record → one revenue row. */
export function mapRevenueRow<Config>(fields: RevenueFields<Config>, record: Record<string, unknown>, config: Config): NormalizedRevenueRow {
  const dayValue = read(fields.day.get, record, config, undefined);
  const day = typeof fields.day.format === 'function' ? fields.day.format(dayValue) : (text(dayValue) ?? '').slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new ConnectorResponseError(`the row's day ${JSON.stringify(dayValue)} is not YYYY-MM-DD`);
  const amount = decimal(read(fields.amount, record, config, undefined), `the amount of a ${day} row`);
  if (amount === null) throw new ConnectorResponseError(`a ${day} row has no amount`);
  const currency = fields.currency ? text(read(fields.currency, record, config, undefined)) : null;
  const final = fields.final ? read(fields.final, record, config, undefined) : null;
  const networkStatus = fields.networkStatus ? text(read(fields.networkStatus, record, config, undefined)) : null;
  return {
    sub_id: text(read(clickIdGetter(fields.subId), record, config, undefined)),
    day,
    amount,
    currency: currency === null ? null : (parseCurrencyCode(currency) ?? null),
    final: final === null || final === undefined ? null : final === true || final === 'true' || final === 1 || final === '1',
    network_status: networkStatus,
    raw: record,
  };
}
