import { isIP } from 'node:net';
import { z } from 'zod';
import { isCurrencyCode } from '../money/currency';
import { parseDecimal } from '../money/decimal';
import { InputError } from '../util/errors';

/** Reusable request/response pieces for the admin API (zod; exported to OpenAPI at /docs). */
export const uuid = z.string().uuid({ message: 'must be a UUID' });

export const currency = z
  .string()
  .transform((value) => value.trim().toUpperCase())
  .refine(isCurrencyCode, { message: 'must be an ISO 4217 currency code such as USD' });

/** Money in: a decimal string ("12.50") or an integer; never a float. */
export const money = z.union([z.string(), z.number().int()]).transform((value, context) => {
  const parsed = parseDecimal(value);
  if (!parsed.ok) {
    context.addIssue({ code: 'custom', message: parsed.message });
    return z.NEVER;
  }
  return parsed.value;
});

export const ipOrCidr = z.string().refine(
  (value) => {
    const [address = '', prefix] = value.split('/');
    const family = isIP(address);
    if (family === 0) return false;
    if (prefix === undefined) return true;
    const bits = Number(prefix);
    return /^\d+$/.test(prefix) && bits >= 0 && bits <= (family === 4 ? 32 : 128);
  },
  { message: 'must be an IP address or CIDR range such as 203.0.113.0/24' },
);

export const isoDateTime = z.string().refine((value) => !Number.isNaN(Date.parse(value)) && /\d{4}-\d{2}-\d{2}/.test(value), {
  message: 'must be an ISO 8601 date-time such as 2025-10-02T14:30:00Z',
});

/** A calendar date; JS would roll 2025-02-30 over to March 2, so require a round trip. */
export const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { message: 'must be a date YYYY-MM-DD' }).refine((value) => {
  const parsed = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === value;
}, { message: 'must be a real calendar date' });

export const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

export const limit = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);

/** Opaque cursor: the last id seen, base64url. */
export function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

/** The id a request's cursor stands for; a cursor that was not handed out is bad input. */
export function readCursor(cursor: string | undefined): string | undefined {
  try {
    return decodeCursor(cursor);
  } catch {
    throw new InputError('cursor is not valid: pass the next_cursor of the previous page unchanged', 'invalid_cursor');
  }
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^\d{1,19}$/.test(id)) throw new Error('invalid cursor');
  return id;
}
