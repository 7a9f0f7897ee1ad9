import { z } from 'zod';
import { ConnectorResponseError } from '../kit/errors';

/**
 * Record shapes of Rakuten Advertising's Events API (`GET /events/1.0/transactions`), as Rakuten's
 * OpenAPI describes them ("Affiliate APIs" 1.0.0, `eventsAPIResponse`, vendored in
 * MeltanoLabs/tap-rakutenadvertising `openapi.json`). Ids are documented as strings but the
 * example writes numbers; `is_event` is documented as a boolean but the example writes "N"; both
 * forms are read. Loose: unmapped fields stay in `raw`.
 */
const id = z.union([z.string(), z.number()]);
const amount = z.union([z.string(), z.number()]);

export const rakutenTransactionSchema = z.looseObject({
  etransaction_id: z.string().min(1),
  order_id: id.nullish(),
  sale_amount: amount.nullish(),
  commissions: amount.nullish(),
  currency: z.string().nullish(),
  process_date: z.string(),
  transaction_date: z.string(),
  transaction_type: z.string().nullish(),
  u1: z.string().nullish(),
  is_event: z.union([z.string(), z.boolean()]).nullish(),
});
export type RakutenTransaction = z.infer<typeof rakutenTransactionSchema>;

/** The token endpoint's answer (client code: access_token, refresh_token, expires_in, token_type). */
export const rakutenTokenSchema = z.looseObject({
  access_token: z.string().min(1),
  expires_in: z.union([z.number(), z.string().regex(/^\d+$/)]).nullish(),
});

const MONTHS: Readonly<Record<string, number>> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

/**
 * "Format used is EEE MMM DD YYYY HH:mm:ss ZZZZ. Time zone is defaulted to GMC+0000 (UTC)", e.g.
 * `Wed Apr 15 2020 21:20:27 GMT+0000 (UTC)`. Parsed by hand, not by the runtime's Date parser.
 */
export function parseRakutenDate(value: unknown): Date {
  const match = typeof value === 'string' ? /^\w{3} (\w{3}) (\d{1,2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT([+-])(\d{2})(\d{2})/.exec(value.trim()) : null;
  const month = match ? MONTHS[match[1] as string] : undefined;
  if (!match || month === undefined) throw new ConnectorResponseError(`the date ${JSON.stringify(value)} is not "EEE MMM DD YYYY HH:mm:ss GMT+0000"`);
  const [, , day, year, hour, minute, second, sign, offsetHours, offsetMinutes] = match;
  const offsetMs = (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000;
  return new Date(Date.UTC(Number(year), month, Number(day), Number(hour), Number(minute), Number(second)) - offsetMs);
}

/** A body mentioning the per-minute limit ("The number of requests allowed per minute has been exceeded"). */
export function isRakutenRateLimit(body: unknown): boolean {
  const text = typeof body === 'string' ? body : JSON.stringify(body ?? '');
  return /requests allowed per minute|rate limit|exceeded|throttl/i.test(text);
}

/** "You cannot consume this service": the application is not subscribed to the API. */
export function isRakutenNotSubscribed(body: unknown): boolean {
  const text = typeof body === 'string' ? body : JSON.stringify(body ?? '');
  return /cannot consume this service/i.test(text);
}
