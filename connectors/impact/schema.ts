import { z } from 'zod';

/**
 * Record shapes of impact.com's partner Actions list, as documented at
 * https://integrations.impact.com/impact-publisher/reference/list-actions (OpenAPI v16: `Action`).
 * Every value, numbers included, arrives as a string. Loose: unmapped fields stay in `raw`.
 */
const amount = z.union([z.string(), z.number()]);
const text = z.string().nullish();

export const impactActionSchema = z.looseObject({
  Id: z.string().min(1),
  State: z.string(),
  Payout: amount.nullish(),
  Currency: text,
  EventDate: z.iso.datetime({ offset: true, error: 'EventDate must be an ISO 8601 date-time with an offset' }),
  LockingDate: text,
  SubId1: text,
  SubId2: text,
  SubId3: text,
  SharedId: text,
});

/** `{"Status": "ERROR", "Message": …}` (https://integrations.impact.com/impact-publisher/reference/status-codes-and-errors). */
export function isImpactError(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { Status?: unknown }).Status === 'ERROR';
}
