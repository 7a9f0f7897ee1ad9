import { z } from 'zod';

/**
 * Shapes of Everflow's affiliate conversion report, as documented at
 * https://developers.everflow.io/docs/affiliate/reporting/affiliate_raw_conversions and in the beta
 * reference https://developers-beta.everflow.io/api-reference/post-affiliatesreportingconversions.
 * Objects are loose: fields we do not map stay in `raw`.
 */

/** Money as the lossless JSON parser hands it over: a safe integer as a number, anything else as its exact digits. */
const amount = z.union([z.string(), z.number()]);
const text = z.string().nullish();

export const everflowConversionSchema = z.looseObject({
  conversion_id: z.string().min(1),
  conversion_unix_timestamp: z.number().int().nonnegative(),
  /** The affiliate's own earnings in the affiliate API (see map.ts). */
  revenue: amount.nullish(),
  currency_id: text,
  /** The stable docs call it `status`, the beta docs `conversion_status`; the affiliate sample has neither. */
  status: text,
  conversion_status: text,
  is_event: z.boolean().nullish(),
  /** `event` in the stable docs, `event_name` in the beta docs. */
  event: text,
  event_name: text,
  sub1: text,
  sub2: text,
  sub3: text,
  sub4: text,
  sub5: text,
});
export type EverflowConversion = z.infer<typeof everflowConversionSchema>;

/** https://developers.everflow.io/docs/user-guide/paging */
export const everflowConversionPageSchema = z.looseObject({
  conversions: z.array(everflowConversionSchema).nullish(),
  paging: z.looseObject({
    page: z.number().int(),
    page_size: z.number().int(),
    total_count: z.number().int().nonnegative(),
  }),
});

/** Error bodies are `{"error": "..."}` (https://developers-beta.everflow.io/user-guide/errors). */
export const everflowErrorSchema = z.looseObject({ error: z.string() });

