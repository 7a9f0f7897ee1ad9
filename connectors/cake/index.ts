import { z } from 'zod';
import { parseCurrencyCode } from '../../src/money/currency';
import { baseUrlField, secretField } from '../kit/config-fields';
import { defineSpecConnector } from '../kit/engine';
import type { HttpRequest } from '../kit/http-client';
import type { ConnectorSpec, PageState } from '../kit/spec';
import { addDays, zonedDay } from '../kit/zoned-time';
import { cakeEventConversionSchema, cakeMessage, cakeResult, cakeRows, isAspNetCallError, isCakeFailure, parseAspNetDate, type CakeEventConversion } from './schema';

/**
 * CAKE's affiliate API has no public page of its own for EventConversions: the admin version is
 * documented (https://getcake.freshdesk.com/support/solutions/articles/13000105067), the affiliate
 * version 9 is read from pycake's AffiliateAPI and the affiliate WSDL's generated types.
 */
const EVENT_CONVERSIONS_DOC = 'https://getcake.freshdesk.com/support/solutions/articles/13000105067-reports-eventsconversions-api-version-18';
const EVENT_CONVERSIONS_PATH = 'affiliates/api/9/reports.asmx/EventConversions';
/** Only used to validate the spec; a connection's host is its CAKE domain. */
const GENERIC_BASE_URL = 'https://cake.example';
/** Rows per page (`row_limit`; 0 would mean "no limit"). */
export const CAKE_PAGE_SIZE = 500;
/** Days per request: "Max date range is 31 days" on CAKE's other reports (INFERRED for this one). */
export const CAKE_MAX_DAYS = 31;

/**
 * The design's names (`sub_id_1`..`sub_id_5`) and the affiliate API's own (`subid_1`..`subid_5`,
 * the values of link parameters s1..s5), both accepted; each reads the API's `subid_N`.
 */
export const CAKE_CLICK_ID_FIELDS = ['sub_id_1', 'sub_id_2', 'sub_id_3', 'sub_id_4', 'sub_id_5', 'subid_1', 'subid_2', 'subid_3', 'subid_4', 'subid_5'] as const;

/** The record field a click_id_field names: `sub_id_2` and `subid_2` both read `subid_2`. */
export function cakeSubIdField(field: (typeof CAKE_CLICK_ID_FIELDS)[number]): string {
  return `subid_${field.slice(-1)}`;
}

const HOST = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

export const cakeConfigSchema = z.object({
  domain: z
    .string({ error: (issue) => (issue.input === undefined ? "domain is required: the host of your network's CAKE portal, e.g. partners.example.com" : 'domain must be text') })
    .regex(HOST, { message: "domain must be a host name such as partners.example.com (no https://, no path): the API is https://<domain>/affiliates/api/…" })
    .describe("The host of your network's CAKE affiliate portal; the API is https://<domain>/affiliates/api/"),
  affiliate_id: z
    .union([z.number().int().positive(), z.string().regex(/^[1-9]\d*$/)], { error: 'affiliate_id must be your numeric CAKE affiliate ID' })
    .describe('Your CAKE affiliate ID (a number)'),
  api_key: secretField('api_key', "the affiliate API key from your network's CAKE portal"),
  base_url: baseUrlField('https://<domain>', 'overrides the host built from domain'),
  click_id_field: z
    .enum(CAKE_CLICK_ID_FIELDS)
    .default('sub_id_1')
    .describe('The sub-id that carries the tracker click ID: sub_id_N (or subid_N) is link parameter sN; CAKE recommends s2 for click IDs (set sub_id_2)'),
});
export type CakeConfig = z.infer<typeof cakeConfigSchema>;

/** Every parameter, optional ones included ("all optional parameters still need to be passed through"). */
function reportBody(config: CakeConfig): Record<string, unknown> {
  return {
    affiliate_id: Number(config.affiliate_id),
    site_offer_id: 0,
    currency_id: 0,
    disposition_type: 'all',
    event_type: 'all',
    exclude_bot_traffic: false,
    start_at_row: 0,
    row_limit: CAKE_PAGE_SIZE,
  };
}

/**
 * `start_at_row` + `row_limit`. Whether rows count from 0 or 1 is not documented ("0 … means start at
 * the beginning"): starting at 0 and moving on by the rows read never skips a row either way (with
 * 1-based rows a boundary row comes twice and the pull yields it once). Ends on a short page,
 * unless `row_count` says more rows follow.
 */
function nextPage({ request, response }: PageState): HttpRequest | undefined {
  const result = cakeResult(response.data);
  const rows = Array.isArray(result?.event_conversions) ? result.event_conversions.length : 0;
  if (rows === 0) return undefined;
  const data = request.data as Record<string, unknown>;
  const read = Number(data.start_at_row ?? 0) + rows;
  const total = Number(result?.row_count);
  if (rows < CAKE_PAGE_SIZE && !(Number.isFinite(total) && read < total)) return undefined;
  return { ...request, data: { ...data, start_at_row: read } };
}

/** CAKE reports currencies as symbols; ISO codes pass, unambiguous symbols map, `$` (USD? CAD? AUD?) does not. */
const CURRENCY_SYMBOLS: Readonly<Record<string, string>> = { '€': 'EUR', '£': 'GBP' };
function currency(record: Record<string, unknown>): string | null {
  const symbol = (record as CakeEventConversion).currency_symbol?.trim();
  if (!symbol) return null;
  return parseCurrencyCode(symbol) ?? CURRENCY_SYMBOLS[symbol] ?? null;
}

const isEvent = (record: CakeEventConversion) => record.micro_event_id !== null && record.micro_event_id !== undefined && String(record.micro_event_id) !== '0';

const today = () => zonedDay(new Date(), 'UTC');

/** Dispositions by their type (approved/pending/rejected/returned), as CAKE writes either. */
const DISPOSITIONS = {
  Approved: 'approved',
  approved: 'approved',
  Pending: 'pending',
  pending: 'pending',
  Rejected: 'declined',
  rejected: 'declined',
  // A return takes the payout back.
  Returned: 'declined',
  returned: 'declined',
} as const;

export const cakeSpec: ConnectorSpec<'conversion', CakeConfig> = {
  id: 'cake',
  name: 'CAKE (affiliate API)',
  kind: 'conversion',
  documentationUrl: EVENT_CONVERSIONS_DOC,
  maturity: {
    level: 'experimental',
    unconfirmed: [
      "CAKE's affiliate EventConversions (version 9) has no readable official page or example answer: parameters come from pycake, row fields from the affiliate WSDL's generated types, the rules (exclusive end date, every parameter sent) from the admin version's page",
      'the exact JSON form of dates ("/Date(ms)/", the ASP.NET convention) and of the {"d": {success, message, row_count}} wrapper',
      'whether start_at_row counts from 0 or 1 (pages move on by the rows read, so either way nothing is skipped)',
      "the time zone of start_date/end_date (requests are padded by a day each side; rows outside the window are dropped) and the largest date range (31 days assumed)",
      'currencies: CAKE reports a symbol (currency_symbol); "$" is ambiguous, so such conversions take the offer, network or account currency',
      'whether macro_event_conversion_id equals the #leadid# postback token',
      'the rate limit (none published: 1 request/s is assumed)',
    ],
  },
  config: {
    schema: cakeConfigSchema,
    secretFields: ['api_key'],
    hostFields: ['domain'],
    defaultBaseUrl: GENERIC_BASE_URL,
    baseUrl: (config) => config.base_url ?? `https://${config.domain}`,
  },
  // `api_key` is a member of the JSON body, beside `affiliate_id` (pycake posts `json=params`).
  auth: { type: 'body', param: 'api_key', field: 'api_key' },
  headers: { Accept: 'application/json' },
  // INFERRED: CAKE publishes no limit.
  rateLimit: { requests: 1, intervalMs: 1000 },
  defaultRateLimitWaitMs: 30_000,
  // The affiliate API has no changes feed with a known answer (OrderDetailChanges reports order
  // line items, its shape unread): dispositions and prices that change later are caught by
  // re-reading 60 days.
  window: { defaultLookbackDays: 60 },
  streams: [
    {
      name: 'event_conversions',
      documentationUrl: EVENT_CONVERSIONS_DOC,
      role: 'window',
      request: {
        method: 'POST',
        path: EVENT_CONVERSIONS_PATH,
        body: reportBody,
        // "YYYY-mm-dd"; "data on end date will not be included". The portal's time zone is not
        // documented: whole UTC days padded by one day cover the window from any zone.
        dates: { in: 'body', from: 'start_date', to: 'end_date', format: 'date', timeZone: 'UTC', end: 'exclusive', wholeDays: true, maxDays: CAKE_MAX_DAYS, padDays: 1 },
      },
      pagination: { type: 'custom', next: nextPage },
      records: { path: ['d', 'event_conversions'], schema: cakeEventConversionSchema, parse: cakeRows },
      fields: {
        clickId: (record, config) => record[cakeSubIdField(config.click_id_field)],
        // A conversion and its events share macro_event_conversion_id; events differ by type.
        txid: ['macro_event_conversion_id'],
        // "#price# … communicate the affiliate payout back to the affiliate"; order_total is the sale.
        payout: ['price'],
        currency,
        occurredAt: { get: ['event_conversion_date'], format: (value) => parseAspNetDate(value) },
        type: (record) => (isEvent(record as CakeEventConversion) ? (record as CakeEventConversion).micro_event_name || `event_${String(record.micro_event_id)}` : null),
        status: { get: (record) => (record as CakeEventConversion).disposition_type || (record as CakeEventConversion).disposition, map: DISPOSITIONS, unknown: 'pending', missing: 'pending' },
      },
    },
  ],
  check: {
    documentationUrl: EVENT_CONVERSIONS_DOC,
    // Today's conversions, one row: proves the key and affiliate ID may read this report.
    request: {
      method: 'POST',
      path: EVENT_CONVERSIONS_PATH,
      body: (config) => ({ ...reportBody(config), start_date: today(), end_date: addDays(today(), 1), row_limit: 1 }),
    },
  },
  classification: [
    {
      name: 'refused API key or affiliate ID inside HTTP 200',
      status: 200,
      body: (body) => isCakeFailure(body) && /api key|affiliate/i.test(cakeMessage(body)),
      then: { kind: 'auth' },
      hint: 'check api_key and affiliate_id (the key must be an affiliate API key that is not expired)',
      source: 'https://getcake.freshdesk.com/support/solutions/articles/5000688590 ("Invalid API Key | API key does not exist or is expired"); the {"d": {"success": false}} wrapper is INFERRED',
      examples: [{ status: 200, body: '{"d":{"success":false,"message":"Invalid API Key","row_count":0,"event_conversions":[]}}', expect: 'auth' }],
    },
    {
      name: 'any other failure inside HTTP 200',
      status: 200,
      body: isCakeFailure,
      then: { kind: 'bad_request' },
      source: 'INFERRED: `success` false with a `message` (the envelope of https://getcake.freshdesk.com/support/solutions/articles/5000688590)',
      examples: [{ status: 200, body: '{"d":{"success":false,"message":"Invalid Date Range","row_count":0,"event_conversions":[]}}', expect: 'bad_request' }],
    },
    {
      name: '500 from ASP.NET: a parameter missing or malformed',
      status: 500,
      body: isAspNetCallError,
      then: { kind: 'bad_request' },
      hint: 'the request did not bind to the web method: check domain (a CAKE portal) and affiliate_id',
      source: 'INFERRED: the ASP.NET script-service error ({"Message", "StackTrace", "ExceptionType"}); every parameter must be sent (https://getcake.freshdesk.com/support/solutions/articles/5000546394)',
      examples: [{ status: 500, body: '{"Message":"Invalid web service call, missing value for parameter: \'row_limit\'.","StackTrace":"","ExceptionType":"System.InvalidOperationException"}', expect: 'bad_request' }],
    },
  ],
  warnings: (config) =>
    config.click_id_field === 'sub_id_1' || config.click_id_field === 'subid_1'
      ? ['CAKE reserves s1 for sub-affiliate IDs (50 characters at most) and recommends s2 for click IDs: if your offer links carry the click ID in s2 (as in GET /api/v1/networks/templates), set click_id_field to sub_id_2.']
      : [],
};

export const cakeConnector = defineSpecConnector(cakeSpec);
