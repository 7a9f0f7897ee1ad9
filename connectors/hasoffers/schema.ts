import { z } from 'zod';

/**
 * Shapes of TUNE (HasOffers) API v3 answers for `Affiliate_Report::getConversions`
 * (https://developers.tune.com/affiliate/affiliate_report-getconversions/). The affiliate report's
 * rows are objects keyed by model (`{"Stat": {...}, "Offer": {...}, "Goal": {...}}`), as TUNE's
 * own affiliate front-end and php-oara read them; every value arrives as a string. Loose: fields
 * we do not map stay in `raw`.
 */
const text = z.string().nullish();

export const hasOffersRowSchema = z.looseObject({
  Stat: z.looseObject({
    ad_id: text,
    conversion_id: z.union([z.string(), z.number()]).nullish(),
    datetime: z.string({ error: 'Stat.datetime is missing (it is requested in fields[])' }),
    conversion_status: text,
    currency: text,
    goal_id: z.union([z.string(), z.number()]).nullish(),
    is_adjustment: z.union([z.string(), z.number()]).nullish(),
    affiliate_info1: text,
    affiliate_info2: text,
    affiliate_info3: text,
    affiliate_info4: text,
    affiliate_info5: text,
  }),
  Goal: z.looseObject({ name: text }).nullish(),
  ConversionsMobile: z.looseObject({ affiliate_click_id: text }).nullish(),
});
export type HasOffersRow = z.infer<typeof hasOffersRowSchema>;

/** The `response` member of every answer (`{"request": …, "response": {"status", "data", "errors", "errorMessage"}}`). */
function responseOf(body: unknown): Record<string, unknown> | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const response = (body as { response?: unknown }).response;
  return typeof response === 'object' && response !== null ? (response as Record<string, unknown>) : undefined;
}

function nonEmpty(value: unknown): boolean {
  if (value === null || value === undefined || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/**
 * True for an error reported inside HTTP 200: `response.status` other than 1, a non-empty
 * `errors` (a list, or an object as in "Network id is not valid"), or an `errorMessage`.
 */
export function isHasOffersError(body: unknown): boolean {
  const response = responseOf(body);
  if (!response) return false;
  if (response.status !== undefined && Number(response.status) !== 1) return true;
  return nonEmpty(response.errors) || nonEmpty(response.errorMessage);
}

/** Every message of an error answer, for matching (`errorMessage`, `errors[].publicMessage`, …). */
export function hasOffersErrorText(body: unknown): string {
  const response = responseOf(body);
  if (!response) return '';
  const messages: string[] = [];
  const collect = (value: unknown): void => {
    if (typeof value === 'string') messages.push(value);
    else if (Array.isArray(value)) value.forEach(collect);
    else if (typeof value === 'object' && value !== null) Object.values(value).forEach(collect);
  };
  collect(response.errorMessage);
  collect(response.errors);
  return messages.join(' | ');
}

/**
 * The rows of a report page: `response.data.data`, a list (an empty result is `[]`); a
 * Network-API-style object keyed by id is read as its values.
 */
export function hasOffersRows(body: unknown): readonly unknown[] {
  const data = responseOf(body)?.data;
  if (data === null || data === undefined || data === '') return [];
  const rows = (data as { data?: unknown }).data;
  if (rows === null || rows === undefined) return [];
  if (Array.isArray(rows)) return rows;
  if (typeof rows === 'object') return Object.values(rows);
  return [rows];
}
