import { z } from 'zod';
import { baseUrlField, secretField } from '../kit/config-fields';
import { defineSpecConnector } from '../kit/engine';
import type { ConnectorSpec, StatusSpec } from '../kit/spec';
import { everflowConversionSchema, everflowOnHoldSchema, isEverflowError } from './schema';

/** https://developers.everflow.io/user-guide/request-response-format (EU accounts: api-eu.eflow.team). */
const DEFAULT_BASE_URL = 'https://api.eflow.team';
/**
 * `page`/`page_size` are query parameters (https://developers.everflow.io/api-reference/post-affiliatesreportingconversions);
 * 2000 is the page size Matatika's tap-everflow uses (INFERRED as the maximum).
 */
export const EVERFLOW_PAGE_SIZE = 2000;
/** `timezone_id` of UTC ("UTC - ID 67", Everflow's sample request, via https://support.inflektion.ai/hc/en-us/articles/25450187281300). */
export const EVERFLOW_UTC_TIMEZONE_ID = 67;
export const EVERFLOW_CLICK_ID_FIELDS = ['sub1', 'sub2', 'sub3', 'sub4', 'sub5'] as const;

export const everflowConfigSchema = z.object({
  api_key: secretField('api_key', 'the affiliate API key from the Everflow partner portal'),
  base_url: baseUrlField(DEFAULT_BASE_URL, 'EU accounts: https://api-eu.eflow.team'),
  click_id_field: z.enum(EVERFLOW_CLICK_ID_FIELDS).default('sub1').describe('The sub-id that carries the tracker click ID'),
  unreported_status: z
    .enum(['pending', 'approved'])
    .default('pending')
    .describe("Status for conversions Everflow's affiliate report lists without a status (it documents none); see connectors/everflow/README.md"),
});
export type EverflowConfig = z.infer<typeof everflowConfigSchema>;

const REPORT_DATES = {
  in: 'body',
  from: 'from',
  to: 'to',
  // `YYYY-MM-DD HH:MM:SS` read in timezone_id's zone (67 = UTC); the end second is included.
  format: 'datetime',
  timeZone: 'UTC',
  end: 'inclusive',
  wholeDays: false,
  // "The date range (from / to) is limited to the prior 365 days."
  maxDays: 365,
} as const;

const PAGES = {
  type: 'page_number',
  in: 'query',
  param: 'page',
  size: { param: 'page_size', value: EVERFLOW_PAGE_SIZE },
  stop: { type: 'total_count', path: ['paging', 'total_count'] },
} as const;

/**
 * The on-hold report's `on_hold_status_filter`. "Each request must contain … The
 * on_hold_status_filter used to filter on hold conversions based on their status. It can take the
 * following values : on_hold, approved, rejected. It can be left empty if all on hold conversions
 * need to be returned" (https://developers.everflow.io/docs/affiliate/reporting/affiliate_raw_on_hold_conversions).
 * `on_hold` only: those are the conversions still held, i.e. pending. An `approved` one has been
 * released into the conversion report, which carries its own state; a `rejected` one is not pulled
 * (see README). Left empty, both would come back too and, since the on-hold stream wins over the
 * report, an approved conversion would be held at pending.
 */
export const EVERFLOW_ON_HOLD_STATUS_FILTER = 'on_hold';

/** Everflow's four conversion statuses (https://developers.everflow.io/docs/network/conversion_updates). */
const STATUS_MAP = { approved: 'approved', pending: 'pending', rejected: 'declined', invalid: 'declined' } as const;

const reportStatus: StatusSpec<EverflowConfig> = {
  // Not in the affiliate report's documented fields; one published variant of the page shows
  // `conversion_status`, the network report shows `status`. Read when present, never assumed.
  get: (record) => record.conversion_status ?? record.status,
  map: STATUS_MAP,
  unknown: 'pending',
  missing: (config) => config.unreported_status,
};

export const everflowSpec: ConnectorSpec<'conversion', EverflowConfig> = {
  id: 'everflow',
  name: 'Everflow (affiliate API)',
  kind: 'conversion',
  documentationUrl: 'https://developers.everflow.io/api-reference/post-affiliatesreportingconversions',
  maturity: {
    level: 'experimental',
    unconfirmed: [
      "status: the affiliate conversion report documents no status field; conversions without one get the connection's unreported_status",
      'whether rejected or reversed conversions stay in, or vanish from, the affiliate report',
      'on-hold records: whether `conversion.conversion_id` equals the released conversion_id',
      'the 403 "Out of realm" body and errors inside HTTP 200 (not documented; handled defensively)',
    ],
  },
  config: { schema: everflowConfigSchema, secretFields: ['api_key'], defaultBaseUrl: DEFAULT_BASE_URL },
  // `X-Eflow-Api-Key: <affiliate key>` (https://developers.everflow.io/api-reference/post-affiliatesreportingconversions)
  auth: { type: 'header', header: 'X-Eflow-API-Key', field: 'api_key' },
  headers: { Accept: 'application/json' },
  // Affiliate API: 5 requests/s per customer, counted in 30 s windows
  // (https://developers.everflow.io/docs/user-guide/rate_limiting).
  rateLimit: { requests: 5, intervalMs: 1000 },
  // A 429 carries no Retry-After; the window resets every 30 s.
  defaultRateLimitWaitMs: 30_000,
  // Requests may span 365 days, but 30-day windows keep each request series short and resumable.
  // No "updated since" filter exists and status/payout change after the fact (approval, scrubs);
  // 60 days covers the usual net-30 approval cycle.
  window: { maxDays: 30, defaultLookbackDays: 60 },
  streams: [
    {
      // First: a conversion on hold is pending whatever the report says about it.
      name: 'on_hold',
      documentationUrl: 'https://developers.everflow.io/api-reference/post-affiliatesreportingonhold',
      role: 'window',
      request: {
        method: 'POST',
        path: 'v1/affiliates/reporting/onhold',
        // Events on hold are not pulled: their event name would have to match the report's.
        // on_hold_status_filter is required in every request (see EVERFLOW_ON_HOLD_STATUS_FILTER).
        body: { timezone_id: EVERFLOW_UTC_TIMEZONE_ID, show_conversions: true, show_events: false, on_hold_status_filter: EVERFLOW_ON_HOLD_STATUS_FILTER, query: { filters: [] } },
        dates: REPORT_DATES,
      },
      pagination: PAGES,
      records: { path: ['conversions'], schema: everflowOnHoldSchema },
      fields: {
        clickId: (record, config) => (record.conversion as Record<string, unknown>)[config.click_id_field],
        txid: ['conversion', 'conversion_id'],
        payout: ['conversion', 'revenue'],
        currency: null,
        occurredAt: { get: ['conversion', 'conversion_unix_timestamp'], format: 'unix_seconds' },
        type: null,
        // Held "pending review or approval before being finalized": `status` is `on_hold` (the
        // filter's values; the network on-hold page's example shows "status": "on_hold"), kept as
        // network_status; anything else the filter lets through stays pending too.
        status: { get: ['status'], map: { on_hold: 'pending' }, unknown: 'pending', missing: 'pending' },
      },
    },
    {
      name: 'conversions',
      documentationUrl: 'https://developers.everflow.io/api-reference/post-affiliatesreportingconversions',
      role: 'window',
      request: {
        method: 'POST',
        path: 'v1/affiliates/reporting/conversions',
        body: { timezone_id: EVERFLOW_UTC_TIMEZONE_ID, show_conversions: true, show_events: true, query: { filters: [] } },
        dates: REPORT_DATES,
      },
      pagination: PAGES,
      records: { path: ['conversions'], schema: everflowConversionSchema },
      fields: {
        clickId: { configField: 'click_id_field' },
        txid: ['conversion_id'],
        // In the affiliate API `revenue` is what the affiliate earns; there is no `payout` field.
        payout: ['revenue'],
        currency: ['currency_id'],
        occurredAt: { get: ['conversion_unix_timestamp'], format: 'unix_seconds' },
        // A post-conversion event's name is its type; a base conversion has the connection's type.
        type: (record) => (record.is_event === true ? (record.event ?? record.event_name) : null),
        status: reportStatus,
      },
    },
  ],
  check: {
    documentationUrl: 'https://developers.everflow.io/api-reference/get-affiliatesinfo',
    request: { method: 'GET', path: 'v1/affiliates' },
  },
  classification: [
    {
      name: '429 over the rate limit',
      status: 429,
      then: { kind: 'rate_limited', wait: { type: 'retry_after', fallbackMs: 30_000 } },
      source: 'https://developers.everflow.io/docs/user-guide/rate_limiting',
      examples: [{ status: 429, headers: { 'x-ratelimit-limit': '150', 'x-ratelimit-remaining': '0' }, body: '', expect: 'rate_limited' }],
    },
    {
      name: '403 out of realm: a network or advertiser key',
      status: 403,
      body: (body) => isEverflowError(body) && /realm/i.test(body.error),
      then: { kind: 'auth' },
      hint: 'Tally needs an affiliate API key (issued by your network for the partner portal), not a network key',
      source: 'INFERRED from /work/shared/reference/network-apis.md §1.1; error bodies per https://developers.everflow.io/user-guide/errors',
      examples: [{ status: 403, body: '{"error":"Out of realm"}', expect: 'auth' }],
    },
    {
      name: '400 invalid request (e.g. dates older than 365 days)',
      status: 400,
      then: { kind: 'bad_request' },
      hint: 'the affiliate report serves the prior 365 days only',
      source: 'https://developers.everflow.io/api-reference/post-affiliatesreportingconversions',
      examples: [{ status: 400, body: '{"error":"Invalid date range"}', expect: 'bad_request' }],
    },
    {
      name: 'an error inside HTTP 200',
      status: 200,
      body: isEverflowError,
      then: { kind: 'transient' },
      source: 'INFERRED: not documented; an {"error": …} body must not pass for an empty report',
      examples: [{ status: 200, body: '{"error":"Something went wrong"}', expect: 'transient' }],
    },
  ],
  warnings: (config) => [
    `Everflow's affiliate conversion report does not state a conversion's status: conversions it lists without one are registered as ${config.unreported_status}` +
      (config.unreported_status === 'pending' ? ' (set unreported_status to approved if your network shows partners approved conversions only)' : '') +
      '. Conversions on hold come from the on-hold report as pending; a conversion that vanishes from the report is left as it is. See connectors/everflow/README.md.',
  ],
};

export const everflowConnector = defineSpecConnector(everflowSpec);
