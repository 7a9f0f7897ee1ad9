import { z } from 'zod';
import { baseUrlField, secretField } from '../kit/config-fields';
import { defineSpecConnector } from '../kit/engine';
import { ConnectorResponseError } from '../kit/errors';
import type { HttpRequest } from '../kit/http-client';
import { atPath } from '../kit/record-mapping';
import type { ConnectorSpec, DateParamsSpec, PageState, StreamSpec } from '../kit/spec';
import { instantOfZonedDateTime } from '../kit/zoned-time';
import { partnerizeConversionSchema, type PartnerizeConversion } from './schema';

const DEFAULT_BASE_URL = 'https://api.partnerize.com';
/** "Retrieve a Partner Conversions Report" (operation partner-conversions), with the "Cursor Pagination" and "Rate Limits" sections. */
const CONVERSIONS_DOC = 'https://api-docs.partnerize.com/partner';
/** "Cursor Pagination": `limit` is an "Integer, maximum limit is 300". */
export const PARTNERIZE_PAGE_SIZE = 300;
/** Not documented. INFERRED. */
export const PARTNERIZE_MAX_DAYS = 31;

export const partnerizeConfigSchema = z.object({
  publisher_id: z
    .string({ error: 'publisher_id is required: your Partnerize partner ID, e.g. 1l1007802' })
    .regex(/^[0-9a-z]+$/i, 'publisher_id is your Partnerize partner ID, letters and digits such as 1l1007802'),
  application_key: secretField('application_key', 'the "User Application Key" under Settings > Account settings in the Partnerize console'),
  user_api_key: secretField('user_api_key', 'the "User API Key" under Settings > Account settings in the Partnerize console'),
  base_url: baseUrlField(DEFAULT_BASE_URL),
});
export type PartnerizeConfig = z.infer<typeof partnerizeConfigSchema>;

/** Partnerize's three statuses ("Conversion_Status": pending, approved, rejected). */
export const PARTNERIZE_STATUS_MAP = { pending: 'pending', approved: 'approved', rejected: 'declined' } as const;

/**
 * The next page: "The hypermedia object has been updated to automatically include the relevant
 * cursor_id and limit for the next page". Tally takes the `cursor_id` from `next_page` and sends
 * it with its own parameters (so `timezone` and `date_type` stay as asked); no next page, the end.
 * INFERRED: `hypermedia.pagination.next_page` and `cursor_id` appear in no public copy of the
 * documentation (the public OpenAPI mirror api-evangelist/partnerize shows `offset` paging).
 */
export function nextCursorPage({ request, response }: PageState): HttpRequest | undefined {
  const next = atPath(response.data, ['hypermedia', 'pagination', 'next_page']);
  if (typeof next !== 'string' || next.trim() === '') return undefined;
  const cursor = new URL(next, 'https://next-page.invalid').searchParams.get('cursor_id');
  if (!cursor) throw new ConnectorResponseError(`Partnerize named a next page without a cursor_id: ${next.slice(0, 200)}`);
  if (String(request.params?.cursor_id ?? '') === cursor) throw new ConnectorResponseError(`Partnerize named the same cursor_id (${cursor}) as the next page again; not asking for the same page twice`);
  return { ...request, params: { ...request.params, cursor_id: cursor } };
}

/** The click ID: the conversion's publisher reference (the link's `pubref`), else its click's. */
function publisherReference(record: Record<string, unknown>): string | null {
  const data = (record as PartnerizeConversion).conversion_data;
  return data.publisher_reference || data.click?.publisher_reference || null;
}

/** `conversion_time` is `YYYY-MM-DD HH:MM:SS` in the zone the request names (UTC). */
function conversionTime(value: unknown): Date {
  const at = typeof value === 'string' ? instantOfZonedDateTime(value, 'UTC') : undefined;
  if (!at) throw new ConnectorResponseError(`conversion_time ${JSON.stringify(value)} is not YYYY-MM-DD HH:MM:SS`);
  return at;
}

/** The conversion report selected by `date_type` (the default `standard`: conversion_time). */
function conversions(name: string, role: 'window' | 'sweep', dateType?: 'approved_at'): StreamSpec<'conversion', PartnerizeConfig> {
  // start_date/end_date as the parameter examples write them (`2016-02-30T05:15:32Z`); whether
  // end_date is included is not documented, so the end is sent exclusive and records at it dropped.
  const dates: DateParamsSpec = { in: 'query', from: 'start_date', to: 'end_date', format: 'iso8601', timeZone: 'UTC', end: 'exclusive', wholeDays: false, maxDays: PARTNERIZE_MAX_DAYS };
  return {
    name,
    documentationUrl: CONVERSIONS_DOC,
    role,
    request: {
      method: 'GET',
      path: 'reporting/report_publisher/publisher/{publisher_id}/conversion.json',
      // "Enforce a specified Timezone": conversion_time comes back in UTC too.
      query: { timezone: 'UTC', limit: PARTNERIZE_PAGE_SIZE, ...(dateType ? { date_type: dateType } : {}) },
      dates,
    },
    pagination: { type: 'custom', next: nextCursorPage },
    records: { path: ['conversions'], schema: partnerizeConversionSchema },
    fields: {
      clickId: publisherReference,
      txid: ['conversion_data', 'conversion_id'],
      payout: ['conversion_data', 'conversion_value', 'publisher_commission'],
      currency: ['conversion_data', 'currency'],
      occurredAt: { get: ['conversion_data', 'conversion_time'], format: conversionTime },
      // conversion_type is a numeric id and ref_conversion_metric a label ("Standard"): the connection's type applies.
      type: null,
      status: { get: ['conversion_data', 'conversion_value', 'conversion_status'], map: PARTNERIZE_STATUS_MAP, unknown: 'pending', missing: 'pending' },
    },
  };
}

const isoSecond = (at: number) => new Date(Math.floor(at / 1000) * 1000).toISOString().replace('.000Z', 'Z');

export const partnerizeSpec: ConnectorSpec<'conversion', PartnerizeConfig> = {
  id: 'partnerize',
  name: 'Partnerize (partner conversion report)',
  kind: 'conversion',
  documentationUrl: CONVERSIONS_DOC,
  maturity: {
    level: 'experimental',
    unconfirmed: [
      'the cursor paging itself: hypermedia.pagination.next_page and cursor_id are INFERRED (the public OpenAPI mirror shows offset paging)',
      'where the response carries the next cursor when hypermedia.pagination.next_page is absent ("within the header attributes"); Tally follows next_page',
      'whether end_date is included, and the longest span one request may cover (31 days assumed)',
      'that timezone=UTC also makes conversion_time UTC',
      'whether a rejection changes anything date_type=approved_at selects (rejections older than the lookback may be missed)',
      'that pubref= on a prf.hn link comes back as publisher_reference (documented by third parties)',
      'the numeric rate limits (Partnerize publishes only the 429 answer and its headers)',
    ],
  },
  config: { schema: partnerizeConfigSchema, secretFields: ['application_key', 'user_api_key'], defaultBaseUrl: DEFAULT_BASE_URL },
  // "HTTP Basic Authentication … username: application_key, password: user_api_key"
  auth: { type: 'basic', usernameField: 'application_key', passwordField: 'user_api_key' },
  headers: { Accept: 'application/json' },
  // Partnerize documents limits "based on usage" without numbers. INFERRED.
  rateLimit: { requests: 30, intervalMs: 60_000 },
  // Conversions are validated by the brand for weeks; the lookback re-reads recent ones (catching
  // rejections) and the approved_at sweep brings approvals of older ones.
  window: { defaultLookbackDays: 60 },
  streams: [
    conversions('conversions', 'window'),
    // "approved_at - Alternative date range, which is based on the approved time of conversion items"
    conversions('conversions_approved', 'sweep', 'approved_at'),
  ],
  check: {
    documentationUrl: CONVERSIONS_DOC,
    // The report itself over the last minute, one row at most: proves the keys may read this partner's conversions.
    request: {
      method: 'GET',
      path: 'reporting/report_publisher/publisher/{publisher_id}/conversion.json',
      query: { start_date: () => isoSecond(Date.now() - 60_000), end_date: () => isoSecond(Date.now()), timezone: 'UTC', limit: 1 },
    },
  },
  classification: [
    {
      name: '429 Too Many Requests',
      status: 429,
      then: { kind: 'rate_limited', wait: { type: 'retry_after', fallbackMs: 60_000 } },
      source: 'https://api-docs.partnerize.com/partner ("Rate Limits": 429 with {"error":{"message":"Too Many Requests","type":"429"}}; X-RateLimit-Retry-After, X-RateLimit-Reset)',
      examples: [{ status: 429, headers: { 'x-ratelimit-retry-after': '1', 'x-ratelimit-reset': '1' }, body: '{"error":{"message":"Too Many Requests","type":"429"}}', expect: 'rate_limited' }],
    },
    {
      name: '401 wrong application_key or user_api_key',
      status: 401,
      then: { kind: 'auth' },
      hint: 'application_key is the "User Application Key" and user_api_key the "User API Key" (Settings > Account settings)',
      source: 'https://api-docs.partnerize.com/partner ("Access and Authentication"); the 401 body per api-evangelist/partnerize errors/partnerize-problem-types.yml',
      examples: [{ status: 401, body: '{"error":{"message":"Your API credentials can be found in Account settings.","type":"401"}}', expect: 'auth' }],
    },
    {
      name: '403 no read permission',
      status: 403,
      then: { kind: 'auth' },
      hint: "the user behind the keys needs read access to this partner's reports",
      source: 'api-evangelist/partnerize errors/partnerize-problem-types.yml (a summary of the official documentation)',
      examples: [{ status: 403, body: '{"error":{"message":"You do not have \'read\' permission on campaign with id \'1\'","type":"403"}}', expect: 'auth' }],
    },
    {
      name: '404 unknown partner, or no read permission on it',
      status: 404,
      then: { kind: 'bad_request' },
      hint: 'check publisher_id, and that the keys belong to a user of that partner',
      source: 'api-evangelist/partnerize errors/partnerize-problem-types.yml: 404 is also answered when the user lacks READ permission',
      examples: [{ status: 404, body: '{"error":{"message":"Not Found","type":"404"}}', expect: 'bad_request' }],
    },
  ],
};

export const partnerizeConnector = defineSpecConnector(partnerizeSpec);
