import { z } from 'zod';
import { baseUrlField, secretField } from '../kit/config-fields';
import { defineSpecConnector } from '../kit/engine';
import type { ConnectorSpec, DateParamsSpec, RevenueFields } from '../kit/spec';
import { tonicDayIsFinal, tonicEpcRowSchema, tonicErrors, tonicErrorStartsWith } from './schema';

/**
 * "TONIC for Publishers - API Documentation" (v3). The live page needs a publisher login; this is
 * the verbatim copy the research read (see README: the one source of every field below).
 */
const DOCS = 'https://github.com/gomezacero/launchpro-gcloud/blob/0724bd48f68357747af4e9d48c55027b7a5dba99/TONIC_API_Documentation.md';
const DEFAULT_BASE_URL = 'https://api.publisher.tonic.com';
export const TONIC_CLICK_ID_FIELDS = ['subid1', 'subid2', 'subid3', 'subid4'] as const;
/** INFERRED: Tonic documents no zone for EPC days; its only zone statement (RSOC stats by country) is PST/PDT. */
export const TONIC_TIME_ZONE = 'America/Los_Angeles';
/** "The JWT token has a lifetime of 90 minutes." */
const TOKEN_LIFETIME_MS = 90 * 60_000;

export const tonicConfigSchema = z.object({
  consumer_key: secretField('consumer_key', 'the API consumer key from your Tonic account settings (https://publisher.tonic.com/privileged/account/settings)'),
  consumer_secret: secretField('consumer_secret', 'the API consumer secret from your Tonic account settings (https://publisher.tonic.com/privileged/account/settings)'),
  base_url: baseUrlField(DEFAULT_BASE_URL),
  click_id_field: z.enum(TONIC_CLICK_ID_FIELDS).default('subid4').describe('The Tonic sub-id your offer URLs fill with {cf_click_id} (ClickFlare convention: subid4)'),
});
export type TonicConfig = z.infer<typeof tonicConfigSchema>;

/** One day per request: `/epc/daily` takes one `date`; `/epc/final` is asked for one day, after `/final/date` says it is final. */
const ONE_DAY = (from: string, to: string): DateParamsSpec => ({ in: 'query', from, to, format: 'date', timeZone: TONIC_TIME_ZONE, end: 'inclusive', wholeDays: true, maxDays: 1 });

const ROW_FIELDS = {
  subId: { configField: 'click_id_field' },
  day: { get: ['date'], format: 'date' },
  // `revenueUsd`: the publisher's revenue in US dollars, a decimal string ("10.5500").
  amount: ['revenueUsd'],
  currency: () => 'USD',
} as const satisfies Omit<RevenueFields<TonicConfig>, 'final'>;

export const tonicSpec: ConnectorSpec<'revenue', TonicConfig> = {
  id: 'tonic',
  name: 'Tonic (publisher API v3, RSOC/display revenue)',
  kind: 'revenue',
  documentationUrl: DOCS,
  maturity: {
    level: 'experimental',
    unconfirmed: [
      'the official documentation sits behind the publisher login; every field is from a verbatim copy of it in a public repository, not the live page',
      'the time zone of EPC days (America/Los_Angeles assumed from the only zone Tonic documents)',
      'the answer of /epc/final (no documented example; the /epc/daily row shape is assumed)',
      'the values of revenue_type on a row (assumed equal to the documented filter values) and the not-final answer of /final/date',
      'rate limits (none documented)',
    ],
  },
  config: { schema: tonicConfigSchema, secretFields: ['consumer_key', 'consumer_secret'], defaultBaseUrl: DEFAULT_BASE_URL },
  auth: {
    type: 'token_exchange',
    // POST /jwt/authenticate {"consumer_key","consumer_secret"} → {"token": "eyJ…", "expires": 1594904573} (DOCS, "Authentication")
    exchange: async (send, config) => {
      const response = await send({ method: 'POST', url: 'jwt/authenticate', data: { consumer_key: config.consumer_key, consumer_secret: config.consumer_secret }, headers: { 'Content-Type': 'application/json' } });
      const body = response.data as { token?: unknown; expires?: unknown };
      if (typeof body?.token !== 'string' || body.token === '') throw new Error(`Tonic's /jwt/authenticate answered without a token: ${JSON.stringify(tonicErrors(response.data)).slice(0, 200)}`);
      const expires = Number(body.expires);
      // `expires` is a unix time in seconds (INFERRED from the example value 1594904573).
      return { token: body.token, expiresAt: new Date(Number.isFinite(expires) && expires > 0 ? expires * 1000 : Date.now() + TOKEN_LIFETIME_MS) };
    },
    placement: { type: 'bearer' },
    // A public client renews 300 s before `expires`.
    refreshBeforeMs: 300_000,
  },
  // "Header "Content-Type" must be "application/json"."
  headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
  // INFERRED: no limit is documented; a few requests a second per connection is gentle.
  rateLimit: { requests: 5, intervalMs: 1000 },
  window: { maxDays: 7, defaultLookbackDays: 3 },
  feed: {
    timeZone: TONIC_TIME_ZONE,
    finalBy: 'flag',
    schedule: {
      everyMinutes: 60,
      estimateDays: 3,
      finalAfterDays: 10,
      source: 'https://help.clickflare.io/en/integrations/tonic-rsoc: "synced every hour for up to 3 days", "a final data pull is performed after 10 days"',
    },
  },
  streams: [
    {
      // First, on final pulls: a day Tonic calls final comes from the final report, and its
      // estimates (below) are then not taken for that day.
      name: 'epc_final',
      documentationUrl: `${DOCS}#final-epc-tracking`,
      role: 'window',
      phase: 'final',
      request: { method: 'GET', path: 'privileged/v3/epc/final', query: { output: 'json' }, dates: ONE_DAY('from', 'to') },
      pagination: { type: 'none' },
      async *fetch({ http, window }) {
        // GET /privileged/v3/final/date?date=YYYY-MM-DD → [{"final": "yes"}] (DOCS#check-if-date-is-final, "Check if Date is Final")
        const check = await http.request({ url: 'privileged/v3/final/date', params: { date: window.fromValue } });
        if (!tonicDayIsFinal(check.data)) return;
        // GET /privileged/v3/epc/final?from=…&to=… "up to 31 days per call" (DOCS#final-epc-tracking, "Final EPC Tracking")
        yield (await http.request({ url: 'privileged/v3/epc/final', params: { from: window.fromValue, to: window.toValue, output: 'json' } })).data;
      },
      records: { path: [], schema: tonicEpcRowSchema },
      fields: { ...ROW_FIELDS, final: () => true, networkStatus: () => 'final' },
    },
    {
      // GET /privileged/v3/epc/daily?date=YYYY-MM-DD&show_revenue_type=yes (DOCS, "Daily EPC Tracking")
      name: 'epc_daily',
      documentationUrl: `${DOCS}#daily-epc-tracking`,
      role: 'window',
      request: { method: 'GET', path: 'privileged/v3/epc/daily', query: { output: 'json', show_revenue_type: 'yes' }, dates: ONE_DAY('date', 'date') },
      pagination: { type: 'none' },
      records: { path: [], schema: tonicEpcRowSchema },
      // revenue_type: estimated_revenue | estimated_revenue_5h | final (the documented filter values).
      fields: { ...ROW_FIELDS, final: (record) => record.revenue_type === 'final', networkStatus: ['revenue_type'] },
    },
  ],
  check: {
    // GET /privileged/v3/last/final → {"final-date": "…"} (DOCS#last-final-date, "Last Final Date"): authenticated, no dates.
    documentationUrl: `${DOCS}#last-final-date`,
    request: { method: 'GET', path: 'privileged/v3/last/final', query: { output: 'json' } },
  },
  classification: [
    {
      name: '401 token expired or invalid: exchange a new JWT',
      status: 401,
      body: (body) => tonicErrorStartsWith(body, 'Token expired!', 'Invalid token!', 'Forbidden!', 'Signatures do not match!'),
      then: { kind: 'reauthenticate' },
      hint: "Tonic refused a fresh token too: check consumer_key and consumer_secret in the connection's config",
      source: `${DOCS}#error-responses ("401: Token expired! / Invalid token! / Forbidden! / Signatures do not match!"; "If a token expires you need to request a new one")`,
      examples: [
        { status: 401, body: '["Token expired! [5f0c7a1e]"]', expect: 'reauthenticate' },
        { status: 401, body: '["Invalid token! [5f0c7a1f]"]', expect: 'reauthenticate' },
      ],
    },
    {
      name: '403 wrong credentials',
      status: 403,
      then: { kind: 'auth' },
      hint: "Tonic refused consumer_key/consumer_secret: copy both again from https://publisher.tonic.com/privileged/account/settings",
      source: `${DOCS}#error-responses ("403: Forbidden! Wrong credentials!")`,
      examples: [{ status: 403, body: '["Forbidden! Wrong credentials! [5f0c7a20]"]', expect: 'auth' }],
    },
    {
      name: '400 bad request',
      status: 400,
      then: { kind: 'bad_request' },
      hint: 'EPC data is only available from 2023-01-01 and /epc/final serves at most 31 days per call',
      source: `${DOCS}#error-responses ("400: Bad Request")`,
      examples: [{ status: 400, body: '["Bad Request [5f0c7a21]"]', expect: 'bad_request' }],
    },
    {
      name: 'an error message inside HTTP 200',
      status: 200,
      body: (body) => tonicErrors(body).length > 0 || typeof body === 'string',
      then: { kind: 'transient' },
      source: 'INFERRED: a public client saw Tonic answer errors with HTTP 200 and a message body (campaign/create); a report must be a list of objects',
      examples: [{ status: 200, body: '["Internal server error! [5f0c7a22]"]', expect: 'transient' }],
    },
  ],
  warnings: () => [
    "Tonic's API does not document the time zone of its report days; Tally assumes America/Los_Angeles (PST/PDT, the only zone Tonic's API mentions). A day's revenue is registered at noon of that day, so the day label is right in any reporting zone.",
  ],
};

export const tonicConnector = defineSpecConnector(tonicSpec);
