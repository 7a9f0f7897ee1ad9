import { z } from 'zod';

/**
 * Shapes of impact.com's partner Actions list, as documented at
 * https://integrations.impact.com/impact-publisher/reference/list-actions-1 and
 * https://integrations.impact.com/impact-publisher/reference/pagination. Every value, numbers
 * included, arrives as a string. Objects are loose: fields we do not map stay in `raw`.
 */

/** Money: documented as decimal strings; a JSON number would reach us as a safe integer or its exact digits. */
const amount = z.union([z.string(), z.number()]);
const text = z.string().nullish();

export const impactActionSchema = z.looseObject({
  Id: z.string().min(1),
  State: z.string(),
  Payout: amount.nullish(),
  Currency: text,
  EventDate: z.iso.datetime({ offset: true, error: 'EventDate must be an ISO 8601 date-time with an offset' }),
  SubId1: text,
  SubId2: text,
  SubId3: text,
  SharedId: text,
});
export type ImpactAction = z.infer<typeof impactActionSchema>;

export const impactActionsPageSchema = z.looseObject({
  Actions: z.array(impactActionSchema),
  /** Path (with query) of the next page on the API host; empty on the last page. */
  '@nextpageuri': text,
});

/** https://integrations.impact.com/partner-api-reference/readme/status-codes-and-errors */
export const impactErrorSchema = z.looseObject({ Status: z.literal('ERROR'), Message: z.string().optional() });

