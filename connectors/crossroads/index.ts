import { z } from 'zod';
import { baseUrlField, secretField } from '../kit/config-fields';
import { defineSpecConnector } from '../kit/engine';
import { ConnectorResponseError, ConnectorTransientError } from '../kit/errors';
import { abortableSleep, type HttpClient } from '../kit/http-client';
import type { ConnectorSpec, DateParamsSpec, FetchContext, RevenueFields } from '../kit/spec';

/** Crossroads (Domain Active) API documentation; it needs an account login (see README). */
const DOCS = 'https://crossroads.domainactive.com/docs';
const DEFAULT_BASE_URL = 'https://crossroads.domainactive.com/api/v2';
/** INFERRED: no zone is documented anywhere readable; one public client pairs Crossroads with America/Los_Angeles. */
export const CROSSROADS_TIME_ZONE = 'America/Los_Angeles';
export const CROSSROADS_TG_FIELDS = ['tg1', 'tg2', 'tg3', 'tg4', 'tg5', 'tg6', 'tg7', 'tg8', 'tg9', 'tg10'] as const;

export const crossroadsConfigSchema = z.object({
  api_key: secretField('api_key', 'the API key of your Crossroads account'),
  base_url: baseUrlField(DEFAULT_BASE_URL, 'newer accounts: https://app.crossroads.ai/api/v2'),
  click_id_field: z.enum(CROSSROADS_TG_FIELDS).default('tg1').describe('The Crossroads tracking field (tg1..tg10) your links fill with {cf_click_id}'),
  poll_interval_seconds: z.number().int().min(0).max(300).default(30).describe('Seconds between polls of a bulk export'),
});
export type CrossroadsConfig = z.infer<typeof crossroadsConfigSchema>;

const ONE_DAY: DateParamsSpec = { in: 'query', from: 'date', to: 'date', format: 'date', timeZone: CROSSROADS_TIME_ZONE, end: 'inclusive', wholeDays: true, maxDays: 1 };

/** `get-final-info` → {"final": <bool>} ("Returns bool report is final", a public client's note on the anchor below). */
async function dayIsFinal(http: HttpClient, day: string | number): Promise<boolean> {
  // GET get-final-info?key=…&date=… (https://crossroads.domainactive.com/docs#instant-api-get-final-info,
  // as linked from https://github.com/G-ier/efflux_be_backup/blob/8ab75f18c38936104d61cdb4f609967c194298f7/services/crossroadsService.js)
  const answer = await http.request<{ final?: unknown }>({ url: 'get-final-info', params: { date: day } });
  const final = answer.data?.final;
  return final === true || final === 1 || final === 'true' || final === '1';
}

/** The bulk export of one day: prepare, poll its state, download the file (another host: no key). */
async function bulkExport({ http, config, signal, window }: FetchContext<CrossroadsConfig>): Promise<unknown> {
  // GET prepare-bulk-data?key=…&date=…&format=json&extra-fields=… → {request_id} (DOCS#bulk-data-api-prepare-bulk-data)
  const prepared = await http.request<{ request_id?: unknown }>({ url: 'prepare-bulk-data', params: { date: window.fromValue, format: 'json', 'extra-fields': [...CROSSROADS_TG_FIELDS, 'lander_keyword'].join(',') } });
  const requestId = prepared.data?.request_id;
  if (typeof requestId !== 'string' && typeof requestId !== 'number') throw new ConnectorResponseError(`Crossroads did not return a request_id: ${JSON.stringify(prepared.data).slice(0, 200)}`);
  for (let polls = 0; polls < 120; polls += 1) {
    // GET get-request-state?key=…&request-id=… → {status_code, status, file_url} (DOCS#bulk-data-api-get-request-state)
    const state = (await http.request<{ status_code?: unknown; status?: unknown; file_url?: unknown }>({ url: 'get-request-state', params: { 'request-id': requestId } })).data ?? {};
    const ready = Number(state.status_code) === 200 || state.status === 'SUCCESS';
    if (ready && typeof state.file_url === 'string') return (await http.request({ url: state.file_url, credentials: 'omit' })).data;
    await abortableSleep(config.poll_interval_seconds * 1000, signal);
  }
  throw new ConnectorTransientError(`Crossroads' bulk export ${String(requestId)} was not ready after 120 polls`);
}

const rowSchema = z.looseObject({ publisher_revenue_amount: z.union([z.string(), z.number()]).nullish() });

const fields = (final: boolean): RevenueFields<CrossroadsConfig> => ({
  subId: { configField: 'click_id_field' },
  // The request's date is the row's day; rows carry `day` too (INFERRED format YYYY-MM-DD).
  day: { get: ['day'], format: 'date' },
  amount: (record) => record.publisher_revenue_amount ?? '0',
  // INFERRED: no currency field; US dollars.
  currency: () => 'USD',
  final: () => final,
  networkStatus: () => `final=${final}`,
});

export const crossroadsSpec: ConnectorSpec<'revenue', CrossroadsConfig> = {
  id: 'crossroads',
  name: 'Crossroads (Domain Active bulk data API)',
  kind: 'revenue',
  documentationUrl: DOCS,
  maturity: {
    level: 'experimental',
    unconfirmed: [
      'the official documentation needs a login: every endpoint, parameter and field is from public client code',
      'the shapes of get-request-state (status_code or status) and get-final-info (the type of final)',
      'the time zone of days (America/Los_Angeles assumed) and the currency (USD assumed)',
      'error answers and rate limits (none seen)',
    ],
  },
  config: { schema: crossroadsConfigSchema, secretFields: ['api_key'], defaultBaseUrl: DEFAULT_BASE_URL },
  // ?key=<api key> on every call (public clients, e.g. https://github.com/G-ier/efflux_be_backup/blob/8ab75f18c38936104d61cdb4f609967c194298f7/services/crossroadsService.js)
  auth: { type: 'query', param: 'key', field: 'api_key' },
  rateLimit: { requests: 1, intervalMs: 1000 },
  window: { maxDays: 7, defaultLookbackDays: 3 },
  feed: {
    timeZone: CROSSROADS_TIME_ZONE,
    finalBy: 'flag',
    schedule: {
      everyMinutes: 60,
      estimateDays: 3,
      finalAfterDays: 7,
      source: 'INFERRED: Crossroads documents no restatement window readable without a login; get-final-info says when a day is final, day 7 is a safety final pull',
    },
  },
  streams: [
    {
      // A day get-final-info calls final: its final numbers.
      name: 'bulk_final',
      documentationUrl: `${DOCS}#instant-api-get-final-info`,
      role: 'window',
      request: { method: 'GET', path: 'prepare-bulk-data', query: { format: 'json' }, dates: ONE_DAY },
      pagination: { type: 'none' },
      async *fetch(context) {
        if (await dayIsFinal(context.http, context.window.fromValue)) yield await bulkExport(context);
      },
      records: { path: [], schema: rowSchema },
      fields: fields(true),
    },
    {
      // A day not final yet: its estimates.
      name: 'bulk_estimated',
      documentationUrl: `${DOCS}#bulk-data-api-prepare-bulk-data`,
      role: 'window',
      request: { method: 'GET', path: 'prepare-bulk-data', query: { format: 'json' }, dates: ONE_DAY },
      pagination: { type: 'none' },
      async *fetch(context) {
        if (!(await dayIsFinal(context.http, context.window.fromValue))) yield await bulkExport(context);
      },
      records: { path: [], schema: rowSchema },
      fields: fields(false),
    },
  ],
  check: {
    // GET get-campaigns?key=… → {"campaigns": […]} (public clients)
    documentationUrl: `${DOCS}#instant-api-get-campaigns-info`,
    request: { method: 'GET', path: 'get-campaigns' },
  },
  classification: [
    {
      name: '401/403 the key is wrong or revoked',
      status: [401, 403],
      then: { kind: 'auth' },
      hint: "check api_key in the connection's config",
      source: 'INFERRED: no error answer of the Crossroads API is documented or handled in public clients',
      examples: [{ status: 401, body: '{"error":"Unauthorized"}', expect: 'auth' }],
    },
  ],
  warnings: () => [
    "Crossroads' API documentation needs a login; this connector follows public client code (see connectors/crossroads/README.md). Days are assumed America/Los_Angeles, amounts USD.",
  ],
};

export const crossroadsConnector = defineSpecConnector(crossroadsSpec);
