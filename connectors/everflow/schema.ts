import { z } from 'zod';

/**
 * Record shapes of Everflow's affiliate reports, as documented at
 * https://developers.everflow.io/api-reference/post-affiliatesreportingconversions and
 * https://developers.everflow.io/api-reference/post-affiliatesreportingonhold. Loose: fields we do
 * not map stay in `raw`. Money arrives from the lossless parser as a safe integer or its exact digits.
 */
const amount = z.union([z.string(), z.number()]);
const text = z.string().nullish();
const id = z.union([z.string().min(1), z.number()]);

export const everflowConversionSchema = z.looseObject({
  conversion_id: z.string().min(1),
  conversion_unix_timestamp: z.number().int().nonnegative(),
  revenue: amount.nullish(),
  currency_id: text,
  is_event: z.boolean().nullish(),
  event: text,
  event_name: text,
  conversion_status: text,
  status: text,
  sub1: text,
  sub2: text,
  sub3: text,
  sub4: text,
  sub5: text,
});

export const everflowOnHoldSchema = z.looseObject({
  status: text,
  holding_period_end: z.number().nullish(),
  conversion: z.looseObject({
    conversion_id: id,
    conversion_unix_timestamp: z.number().int().nonnegative(),
    revenue: amount.nullish(),
    sub1: text,
    sub2: text,
    sub3: text,
    sub4: text,
    sub5: text,
  }),
});

/** `{"error": "..."}` (https://developers.everflow.io/user-guide/errors). */
export function isEverflowError(body: unknown): body is { error: string } {
  return typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string';
}
