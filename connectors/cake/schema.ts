import { z } from 'zod';
import { ConnectorResponseError } from '../kit/errors';

/**
 * Shapes of CAKE's affiliate `reports.asmx/EventConversions` (version 9) answered as JSON: a POST
 * with a JSON body gets `{"d": {"success", "message", "row_count", "event_conversions": [...]}}`
 * (pycake's AffiliateAPI reads `json_response['d']`). Row field names are those of the V9
 * `event_conversion` type generated from the affiliate WSDL (C# client `IpJobs.CakeV9`) and read by
 * the shoogloo Node client. Loose: unmapped fields stay in `raw`.
 */
const text = z.string().nullish();
const id = z.union([z.number(), z.string().min(1)]);
const amount = z.union([z.string(), z.number()]);

export const cakeEventConversionSchema = z.looseObject({
  macro_event_conversion_id: id,
  event_conversion_date: z.string({ error: 'event_conversion_date must be an ASP.NET JSON date such as "/Date(1732406400000)/"' }),
  micro_event_id: id.nullish(),
  micro_event_name: text,
  disposition: text,
  disposition_type: text,
  price: amount.nullish(),
  currency_symbol: text,
  subid_1: text,
  subid_2: text,
  subid_3: text,
  subid_4: text,
  subid_5: text,
  test: z.boolean().nullish(),
});
export type CakeEventConversion = z.infer<typeof cakeEventConversionSchema>;

/** The `d` member of a CAKE JSON answer, or undefined. */
export function cakeResult(body: unknown): Record<string, unknown> | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const d = (body as { d?: unknown }).d;
  return typeof d === 'object' && d !== null ? (d as Record<string, unknown>) : undefined;
}

/** `{"d": {"success": false, "message": …}}`: CAKE's error inside HTTP 200. */
export function isCakeFailure(body: unknown): boolean {
  const result = cakeResult(body);
  return result !== undefined && (result.success === false || result.success === 'false');
}

/** The message of a failed answer. */
export function cakeMessage(body: unknown): string {
  const message = cakeResult(body)?.message;
  return typeof message === 'string' ? message : '';
}

/** ASP.NET's JSON error for a call it could not bind (missing or malformed parameter). */
export function isAspNetCallError(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const type = (body as { ExceptionType?: unknown }).ExceptionType;
  return typeof type === 'string' && /InvalidOperationException|ArgumentException|FormatException/.test(type);
}

/**
 * The rows of a page: `d.event_conversions`, without the network's test conversions. A body that
 * is not the `{"d": …}` wrapper (an XML answer, say) is a readable error, never an empty page.
 */
export function cakeRows(body: unknown): readonly unknown[] {
  const result = cakeResult(body);
  if (!result) throw new ConnectorResponseError(`expected CAKE's JSON answer {"d": {...}}, got ${JSON.stringify(body).slice(0, 120)}`);
  const rows = result.event_conversions;
  if (rows === null || rows === undefined) return [];
  if (!Array.isArray(rows)) throw new ConnectorResponseError(`d.event_conversions is not a list: ${JSON.stringify(rows).slice(0, 120)}`);
  return rows.filter((row) => (row as { test?: unknown } | null)?.test !== true);
}

/** `/Date(1732406400000)/` or `/Date(1732406400000-0500)/`: milliseconds since the epoch (the offset only says how it was shown). */
export function parseAspNetDate(value: unknown): Date {
  const match = typeof value === 'string' ? /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/.exec(value.trim()) : null;
  if (!match) throw new ConnectorResponseError(`event_conversion_date ${JSON.stringify(value)} is not an ASP.NET JSON date such as "/Date(1732406400000)/"`);
  return new Date(Number(match[1]));
}
