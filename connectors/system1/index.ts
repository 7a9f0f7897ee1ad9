import { z } from 'zod';
import { baseUrlField, secretField } from '../kit/config-fields';
import { defineSpecConnector } from '../kit/engine';
import { ConnectorResponseError, ConnectorTransientError } from '../kit/errors';
import { abortableSleep } from '../kit/http-client';
import type { ConnectorSpec, DateParamsSpec, RevenueFields } from '../kit/spec';
import { firstOf, system1Records, system1RowSchema } from './schema';

/**
 * System1's partner documentation: the "documentation" tab of the partner portal at this URL (a
 * single-page app, no deeper address) is the page that was read — "Authentication" (auth_key, the
 * `https://reports.system1.com/v3/{endpoint}?auth_key=…&days=…` pattern), "Data Availability"
 * ("06:30am PST") and "Accessing API Reports" (the async Report/Status/Content endpoints). The older
 * https://docs.openmail.com/partner/reporting_api.html documents the v1 API (reports.openmail.com/v1),
 * which Tally does not call; it is cited only for the five-day delay (feed.schedule.source).
 */
const DOCS = 'https://partner.system1.com/';
const DEFAULT_BASE_URL = 'https://reports.system1.com';
/** INFERRED: days are Pacific ("Reporting data for a given day will become available at 06:30am PST"). */
export const SYSTEM1_TIME_ZONE = 'America/Los_Angeles';

/** Header names each mapped field is read from (normalized, see headerKey); INFERRED: no documented example shows them. */
const COLUMNS = {
  day: ['date', 'data_date'],
  nonrevsubid: ['nonrevsubid', 'non_rev_sub_id', 'nonrev_subid', 'nonrev_sub_id'],
  subid: ['sub_id', 'subid'],
  amount: ['estimated_revenue', 'revenue', 'partner_net_revenue', 'net_revenue'],
} as const;

export const system1ConfigSchema = z.object({
  auth_key: secretField('auth_key', 'the API key your System1 account manager sends when you request API access'),
  base_url: baseUrlField(DEFAULT_BASE_URL),
  click_id_field: z.enum(['nonrevsubid', 'subid']).default('nonrevsubid').describe('The System1 parameter your offer URLs fill with {cf_click_id} (ClickFlare convention: nonrevsubid)'),
  report: z
    .enum(['subid_daily', 'partner'])
    .default('subid_daily')
    .describe('subid_daily: the synchronous v3 report; partner: the asynchronous partner report (request, poll, download) for accounts without the v3 report'),
  report_type: z.string().trim().min(1).optional().describe('partner reports only: the report_type System1 gave you for revenue per sub-id'),
  poll_interval_seconds: z.number().int().min(0).max(300).default(30).describe('partner reports only: seconds between status polls ("approximately every 30 seconds")'),
});
export type System1Config = z.infer<typeof system1ConfigSchema>;

const ONE_DAY: DateParamsSpec = { in: 'query', from: 'days', to: 'days', format: 'date', timeZone: SYSTEM1_TIME_ZONE, end: 'inclusive', wholeDays: true, maxDays: 1 };

const FIELDS: RevenueFields<System1Config> = {
  subId: (record, config) => firstOf(record, COLUMNS[config.click_id_field]),
  day: { get: (record) => firstOf(record, COLUMNS.day), format: 'date' },
  amount: (record) => firstOf(record, COLUMNS.amount),
  // INFERRED: System1 names no currency; revenue is reported in US dollars.
  currency: () => 'USD',
  // No estimated/final flag exists: a day is final at its final pull (finalBy: 'age').
  final: null,
  networkStatus: null,
};

interface ReportStatus {
  report_status?: string;
  content_url?: string;
}

export const system1Spec: ConnectorSpec<'revenue', System1Config> = {
  id: 'system1',
  name: 'System1 (partner reporting API, RSOC revenue)',
  kind: 'revenue',
  documentationUrl: DOCS,
  maturity: {
    level: 'experimental',
    unconfirmed: [
      'the official pages were only partly readable: report names, column headers, the totals row and error answers come from public client code',
      'which report and column carry nonrevsubid (the click ID parameter ClickFlare documents)',
      'the time zone of report days (Pacific assumed from "available at 06:30am PST") and the currency (USD assumed)',
      'the partner report_type for revenue per sub-id, and gzip-compressed report files',
      'rate limits beyond 429 with Retry-After (seen in client code)',
    ],
  },
  config: { schema: system1ConfigSchema, secretFields: ['auth_key'], defaultBaseUrl: DEFAULT_BASE_URL },
  // "must include an authentication parameter for every request": ?auth_key=… (DOCS, Authentication)
  auth: { type: 'query', param: 'auth_key', field: 'auth_key' },
  // INFERRED: no limit documented; the status endpoint is to be polled about every 30 s.
  rateLimit: { requests: 2, intervalMs: 1000 },
  defaultRateLimitWaitMs: 30_000,
  window: { maxDays: 7, defaultLookbackDays: 5 },
  feed: {
    timeZone: SYSTEM1_TIME_ZONE,
    finalBy: 'age',
    schedule: {
      everyMinutes: 60,
      estimateDays: 5,
      finalAfterDays: 7,
      source: 'https://docs.openmail.com/partner/reporting_api.html: data "could be delayed up to five (5) days" → estimates for 5 days, final pull on day 7 (INFERRED margin); ClickFlare: frequency "varies depending on your subscription plan"',
    },
  },
  streams: [
    {
      name: 'subid_daily',
      documentationUrl: DOCS,
      role: 'window',
      request: { method: 'GET', path: 'v3/subid_daily', query: { format: 'json' }, dates: ONE_DAY },
      pagination: { type: 'none' },
      async *fetch({ http, config, window }) {
        if (config.report !== 'subid_daily') return;
        // GET https://reports.system1.com/v3/{endpoint}?auth_key=…&days=… (DOCS, "Accessing API Reports")
        yield (await http.request({ url: 'v3/subid_daily', params: { days: window.fromValue, format: 'json' } })).data;
      },
      records: { path: [], schema: system1RowSchema, parse: system1Records },
      fields: FIELDS,
    },
    {
      name: 'partner_report',
      documentationUrl: DOCS,
      role: 'window',
      request: { method: 'POST', path: 'partner/v1/report', dates: ONE_DAY },
      pagination: { type: 'none' },
      // "a single call to the Report Endpoint to obtain the report_id, then use that report_id to call the Status Endpoint
      // approximately every 30 seconds until the response indicates the report is ready … then call the Content Endpoint" (DOCS)
      async *fetch({ http, config, signal, window }) {
        if (config.report !== 'partner') return;
        if (!config.report_type) throw new ConnectorResponseError('the System1 partner report needs report_type in the connection config (ask your System1 account manager which report carries revenue per sub-id)');
        const requested = await http.request<{ report_id?: unknown }>({ method: 'POST', url: 'partner/v1/report', params: { report_type: config.report_type, days: 1, date: window.fromValue } });
        const reportId = requested.data?.report_id;
        if (typeof reportId !== 'string' && typeof reportId !== 'number') throw new ConnectorResponseError(`System1 did not return a report_id: ${JSON.stringify(requested.data).slice(0, 200)}`);
        let status: ReportStatus = {};
        for (let polls = 0; ; polls += 1) {
          status = (await http.request<ReportStatus>({ url: `partner/v1/report/${encodeURIComponent(String(reportId))}/status` })).data ?? {};
          if (status.report_status === 'SUCCESS') break;
          if (status.report_status === 'FAILED') throw new ConnectorTransientError(`System1's report ${String(reportId)} failed; the pull will be retried`);
          if (polls >= 120) throw new ConnectorTransientError(`System1's report ${String(reportId)} was not ready after ${polls} polls`);
          await abortableSleep(config.poll_interval_seconds * 1000, signal);
        }
        if (!status.content_url) throw new ConnectorResponseError(`System1's report ${String(reportId)} is ready without a content_url`);
        // The content URL may be relative or absolute, on another host: never with the auth key there.
        const sameHost = new URL(status.content_url, http.configuredOrigin).origin === http.configuredOrigin;
        const content = await http.request({ url: status.content_url, credentials: sameHost ? 'include' : 'omit' });
        // The Content Endpoint may answer a page with the download link (INFERRED from a public client).
        const link = typeof content.data === 'string' && /<html/i.test(content.data) ? /href="([^"]+)"/i.exec(content.data)?.[1] : undefined;
        yield link ? (await http.request({ url: new URL(link, status.content_url.startsWith('http') ? status.content_url : http.configuredOrigin).href, credentials: 'omit' })).data : content.data;
      },
      records: { path: [], schema: system1RowSchema, parse: system1Records },
      fields: FIELDS,
    },
  ],
  check: {
    // GET /v3/status?auth_key=…&days=1 ("the reporting data status call is the same above GET request"; days=1 INFERRED)
    documentationUrl: DOCS,
    request: { method: 'GET', path: 'v3/status', query: { days: 1 } },
  },
  classification: [
    {
      name: '429 over the rate limit',
      status: 429,
      then: { kind: 'rate_limited', wait: { type: 'retry_after', fallbackMs: 30_000 } },
      source: 'INFERRED from a public client (a Node.js System1 → GCS → BigQuery script in the public code index, repository not identifiable): waits Retry-After (default 30 s) on 429',
      examples: [{ status: 429, headers: { 'retry-after': '30' }, body: '', expect: 'rate_limited' }],
    },
    {
      name: '401 the auth_key is wrong or revoked',
      status: [401, 403],
      then: { kind: 'auth' },
      hint: "check auth_key in the connection's config (System1 sends it by email when API access is granted)",
      source: 'INFERRED from a public client (https://github.com/LucianoHenn/ENKI/blob/22a6fceaf65fbf5b6cb5d70245af591ec21b558b/app/Services/ARC/Sources/Providers/System1/System1Library.php) treating "401 unauthorized" as fatal',
      examples: [{ status: 401, body: 'Unauthorized', expect: 'auth' }],
    },
  ],
  warnings: (config) => [
    `System1 reports no estimated/final flag and data "could be delayed up to five (5) days": each day is pending until its final pull, then approved. Days are assumed Pacific, amounts USD. Revenue is read from the ${config.click_id_field} column; see connectors/system1/README.md for what is unconfirmed.`,
  ],
};

export const system1Connector = defineSpecConnector(system1Spec);
