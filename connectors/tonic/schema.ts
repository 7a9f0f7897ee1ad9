import { z } from 'zod';

/**
 * Tonic's EPC rows as documented in "TONIC for Publishers - API Documentation" (v3; the copy the
 * research used: see connectors/tonic/README.md): every value is a string, `template` may be
 * null; `revenue_type` is appended with `show_revenue_type=yes`. Loose: unmapped fields stay in `raw`.
 */
const text = z.string().nullish();

export const tonicEpcRowSchema = z.looseObject({
  date: z.string(),
  revenueUsd: z.union([z.string(), z.number()]),
  subid1: text,
  subid2: text,
  subid3: text,
  subid4: text,
  revenue_type: text,
});

/** Tonic's errors are JSON arrays of strings such as `["Token expired! [<uid>]"]`. */
export function tonicErrors(body: unknown): string[] {
  return Array.isArray(body) && body.every((item) => typeof item === 'string') ? (body as string[]) : [];
}

/** True when one of Tonic's error strings starts with one of `prefixes`. */
export function tonicErrorStartsWith(body: unknown, ...prefixes: string[]): boolean {
  return tonicErrors(body).some((message) => prefixes.some((prefix) => message.startsWith(prefix)));
}

/** `GET /privileged/v3/final/date` answers `[{"final": "yes"}]` for a final day. */
export function tonicDayIsFinal(body: unknown): boolean {
  return Array.isArray(body) && body.some((item) => typeof item === 'object' && item !== null && (item as { final?: unknown }).final === 'yes');
}
