import { z } from 'zod';
import { baseUrlField, secretField } from '../kit/config-fields';
import { defineSpecConnector } from '../kit/engine';
import { ConnectorResponseError } from '../kit/errors';
import type { ConnectorSpec, RequestSpec } from '../kit/spec';
import { instantOfZonedDateTime, isTimeZone, zonedDay } from '../kit/zoned-time';
import { hasOffersErrorText, hasOffersRows, hasOffersRowSchema, isHasOffersError, type HasOffersRow } from './schema';

const GET_CONVERSIONS_DOC = 'https://developers.tune.com/affiliate/affiliate_report-getconversions/';
/** Only used to validate the spec; a connection's host is built from its network_id. */
const GENERIC_BASE_URL = 'https://api.hasoffers.com';
/** Rows per page (INFERRED: no documented maximum; `limit` "defaults to returning all found"). */
export const HASOFFERS_PAGE_SIZE = 1000;
/** Days per request (INFERRED: no documented maximum; the network report warns of 504s on heavy queries). */
export const HASOFFERS_MAX_DAYS = 31;

/** `Stat.affiliate_info1..5` (link parameters `aff_sub`..`aff_sub5`), or TUNE's partner click ID (`aff_click_id`). */
export const HASOFFERS_CLICK_ID_FIELDS = ['affiliate_info1', 'affiliate_info2', 'affiliate_info3', 'affiliate_info4', 'affiliate_info5', 'affiliate_click_id'] as const;
type ClickIdField = (typeof HASOFFERS_CLICK_ID_FIELDS)[number];

export const hasOffersConfigSchema = z.object({
  network_id: z
    .string({ error: (issue) => (issue.input === undefined ? 'network_id is required: your TUNE network ID, the <network_id> of https://<network_id>.api.hasoffers.com' : 'network_id must be text') })
    .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i, { message: 'network_id must be a TUNE network ID such as "demo" (letters, digits and "-"): it becomes the API host <network_id>.api.hasoffers.com' })
    .describe('Your TUNE network ID; the API host is <network_id>.api.hasoffers.com'),
  api_key: secretField('api_key', "the affiliate API key your TUNE network issues to you (the partner portal's API page)"),
  base_url: baseUrlField('https://<network_id>.api.hasoffers.com', 'overrides the host built from network_id'),
  click_id_field: z
    .enum(HASOFFERS_CLICK_ID_FIELDS)
    .default('affiliate_info1')
    .describe('Where the tracker click ID arrives: Stat.affiliate_info1..5 (link parameters aff_sub..aff_sub5) or affiliate_click_id (link parameter aff_click_id)'),
  time_zone: z
    .string()
    .refine(isTimeZone, { message: 'time_zone must be an IANA time zone such as America/New_York' })
    .optional()
    .describe("The network's time zone (IANA name): TUNE reports Stat.datetime in it, without an offset. Unset: read as UTC, with a warning on the connection"),
});
export type HasOffersConfig = z.infer<typeof hasOffersConfigSchema>;

const STAT_FIELDS = [
  'Stat.ad_id',
  'Stat.conversion_id',
  'Stat.datetime',
  'Stat.conversion_status',
  'Stat.payout',
  'Stat.currency',
  'Stat.goal_id',
  'Stat.is_adjustment',
  'Stat.offer_id',
  'Stat.affiliate_info1',
  'Stat.affiliate_info2',
  'Stat.affiliate_info3',
  'Stat.affiliate_info4',
  'Stat.affiliate_info5',
  'Offer.name',
  'Goal.name',
] as const;

/** `fields[]` (required): the partner click ID only when it carries the click ID. */
function fields(config: HasOffersConfig): readonly string[] {
  return config.click_id_field === 'affiliate_click_id' ? [...STAT_FIELDS, 'ConversionsMobile.affiliate_click_id'] : STAT_FIELDS;
}

/** The query every getConversions request carries (bracketed, as the documentation writes it). */
function reportQuery(dates: (config: HasOffersConfig, window: { fromValue: string | number; toValue: string | number } | undefined) => readonly (string | number)[] | undefined): RequestSpec<HasOffersConfig>['query'] {
  return {
    // NetworkId is part of the host ("NetworkId | Url"); sent as a parameter too, as clients do, so that a base_url override works.
    NetworkId: (config) => config.network_id,
    Target: 'Affiliate_Report',
    Method: 'getConversions',
    fields,
    // `Stat.date BETWEEN first AND last day`, in the network's time zone (php-oara's filter).
    'filters[Stat.date][conditional]': 'BETWEEN',
    'filters[Stat.date][values]': dates,
    // Oldest first: rows added while a pull pages land on later pages, not between read ones.
    'sort[Stat.datetime]': 'asc',
  };
}

const statOf = (record: Record<string, unknown>) => (record as HasOffersRow).Stat as Record<string, unknown>;

/**
 * An amount and its currency. With `Stat.currency` among the fields, TUNE may name money fields
 * per currency (`payout@IDR`, seen in a client reading the live API); plain `payout` otherwise.
 */
function money(stat: Record<string, unknown>, field: string): { amount: unknown; currency: unknown } {
  if (stat[field] !== undefined && stat[field] !== null && stat[field] !== '') return { amount: stat[field], currency: stat.currency };
  const currency = typeof stat.currency === 'string' ? stat.currency : undefined;
  if (currency && stat[`${field}@${currency}`] !== undefined) return { amount: stat[`${field}@${currency}`], currency };
  const suffixed = Object.keys(stat).filter((key) => key.startsWith(`${field}@`));
  if (suffixed.length === 1) return { amount: stat[suffixed[0]!], currency: suffixed[0]!.slice(field.length + 1) };
  return { amount: null, currency: stat.currency };
}

/**
 * TUNE's "Transaction ID" (`Stat.ad_id`, the session the `{transaction_id}` postback macro names),
 * so that a postback and a pull of one conversion are one conversion; goals of one session differ
 * by type. Adjustments (added by the network, no session) are their own conversion.
 */
function txid(record: Record<string, unknown>): string | null {
  const stat = statOf(record);
  const conversionId = stat.conversion_id === null || stat.conversion_id === undefined || stat.conversion_id === '' ? null : String(stat.conversion_id);
  if (String(stat.is_adjustment ?? '0') === '1' && conversionId) return `adjustment:${conversionId}`;
  if (typeof stat.ad_id === 'string' && stat.ad_id.trim() !== '') return stat.ad_id;
  return conversionId ? `conversion:${conversionId}` : null;
}

/** The offer's goal as the type; the default goal (id 0) is the connection's type. */
function goalType(record: Record<string, unknown>): string | null {
  const stat = statOf(record);
  const goal = stat.goal_id === null || stat.goal_id === undefined ? '' : String(stat.goal_id).trim();
  if (goal === '' || goal === '0') return null;
  const name = (record as HasOffersRow).Goal?.name;
  return name && name.trim() !== '' ? name : `goal_${goal}`;
}

function clickId(record: Record<string, unknown>, config: HasOffersConfig): unknown {
  const field: ClickIdField = config.click_id_field;
  if (field === 'affiliate_click_id') return (record as HasOffersRow).ConversionsMobile?.affiliate_click_id;
  return statOf(record)[field];
}

/** `Stat.datetime` ("YYYY-MM-DD HH:MM:SS") is in the network's default time zone. */
function occurredAt(record: Record<string, unknown>, config: HasOffersConfig): Date {
  const value = String(statOf(record).datetime);
  const at = instantOfZonedDateTime(value, config.time_zone ?? 'UTC');
  if (!at) throw new ConnectorResponseError(`Stat.datetime ${JSON.stringify(value)} is not a "YYYY-MM-DD HH:MM:SS" time`);
  return at;
}

const today = () => zonedDay(new Date(), 'UTC');

export const hasOffersSpec: ConnectorSpec<'conversion', HasOffersConfig> = {
  id: 'hasoffers',
  name: 'TUNE / HasOffers (affiliate API)',
  kind: 'conversion',
  documentationUrl: GET_CONVERSIONS_DOC,
  maturity: {
    level: 'experimental',
    unconfirmed: [
      "no documented example response of Affiliate_Report::getConversions: row shape and field names come from TUNE's own affiliate front-end code, php-oara and other clients",
      'that Stat.ad_id equals the {transaction_id} postback macro, and that Stat.payout is the affiliate payout whatever the status',
      'conversion_status values beyond approved, pending and rejected; how a conversion the network deletes shows (absence is left as it is)',
      'the rate limit (none published: 1 request/s is assumed) and where its "API usage exceeded rate limit" text sits in the body',
      'whether the Stat.date BETWEEN filter includes both days (requests are padded by a day each side; rows outside the window are dropped)',
      "the network's time zone cannot be read through the affiliate API: it comes from the connection's time_zone",
    ],
  },
  config: {
    schema: hasOffersConfigSchema,
    secretFields: ['api_key'],
    hostFields: ['network_id'],
    defaultBaseUrl: GENERIC_BASE_URL,
    // "NetworkId | Url | Network ID": the network's own API host.
    baseUrl: (config) => config.base_url ?? `https://${config.network_id}.api.hasoffers.com`,
  },
  // "api_key | String" on every call (a query parameter; the client never logs query strings).
  auth: { type: 'query', param: 'api_key', field: 'api_key' },
  // INFERRED: TUNE publishes no limit; a report pull needs few requests.
  rateLimit: { requests: 1, intervalMs: 1000 },
  defaultRateLimitWaitMs: 10_000,
  // No updated-since filter exists: status changes are caught by re-reading 60 days.
  window: { defaultLookbackDays: 60 },
  streams: [
    {
      name: 'conversions',
      documentationUrl: GET_CONVERSIONS_DOC,
      role: 'window',
      request: {
        method: 'GET',
        path: 'Apiv3/json',
        query: reportQuery((_config, window) => (window ? [window.fromValue, window.toValue] : undefined)),
        // data_start/data_end "should match the dates you set in your filter"; dates are read in
        // the network's zone, which Tally cannot ask for: whole UTC days padded by one day cover
        // the window from any zone, and rows outside it are dropped.
        dates: { in: 'query', from: 'data_start', to: 'data_end', format: 'date', timeZone: 'UTC', end: 'inclusive', wholeDays: true, maxDays: HASOFFERS_MAX_DAYS, padDays: 1 },
      },
      // `page` from 1, `limit` rows; `response.data.pageCount` says how many pages there are.
      pagination: { type: 'page_number', in: 'query', param: 'page', start: 1, size: { param: 'limit', value: HASOFFERS_PAGE_SIZE }, stop: { type: 'total_pages', path: ['response', 'data', 'pageCount'] } },
      records: { path: ['response', 'data', 'data'], schema: hasOffersRowSchema, parse: hasOffersRows },
      fields: {
        clickId,
        txid,
        // "payout - Amount to be paid to affiliate for conversion" (HasOffers wiki, Api_Model:Conversion).
        payout: (record) => money(statOf(record), 'payout').amount,
        currency: (record) => money(statOf(record), 'payout').currency,
        occurredAt: { get: occurredAt, format: (value) => value as Date },
        type: goalType,
        status: { get: ['Stat', 'conversion_status'], map: { approved: 'approved', pending: 'pending', rejected: 'declined' }, unknown: 'pending', missing: 'pending' },
      },
    },
  ],
  check: {
    documentationUrl: GET_CONVERSIONS_DOC,
    // The same report for today, one row: proves the key may read conversions on this network.
    request: { method: 'GET', path: 'Apiv3/json', query: { ...reportQuery(() => [today(), today()]), limit: 1, page: 1 } },
  },
  classification: [
    {
      name: 'rate limit reported inside HTTP 200',
      status: 200,
      body: (body) => isHasOffersError(body) && /rate limit/i.test(hasOffersErrorText(body)),
      then: { kind: 'rate_limited', wait: { type: 'retry_after', fallbackMs: 10_000 } },
      source: 'CLIENT: pyoffers and the python hasoffers client retry on "API usage exceeded rate limit"; the envelope around it is INFERRED',
      examples: [{ status: 200, body: '{"request":{"Target":"Affiliate_Report","Method":"getConversions"},"response":{"status":-1,"httpStatus":200,"data":"","errors":[{"publicMessage":"API usage exceeded rate limit"}],"errorMessage":"API usage exceeded rate limit"}}', expect: 'rate_limited' }],
    },
    {
      name: 'refused network ID or API key inside HTTP 200',
      status: 200,
      body: (body) => isHasOffersError(body) && /network ?id is not valid|api[ _]?key|not authori[sz]ed|unauthori[sz]ed|permission/i.test(hasOffersErrorText(body)),
      then: { kind: 'auth' },
      hint: 'check network_id and the affiliate api_key (a network API key is refused by the affiliate API)',
      source: 'CLIENT: "Network id is not valid", recorded in pyoffers tests/cassettes/default.json; the API-key wording is INFERRED',
      examples: [
        { status: 200, body: '{"response":{"errors":{"publicMessage":"Network id is not valid"},"link":"http:\\/\\/developers.hasoffers.com\\/"}}', expect: 'auth' },
        { status: 200, body: '{"response":{"status":-1,"httpStatus":200,"data":"","errors":[{"publicMessage":"Invalid API key"}],"errorMessage":"Invalid API key"}}', expect: 'auth' },
      ],
    },
    {
      name: 'any other error inside HTTP 200',
      status: 200,
      body: isHasOffersError,
      then: { kind: 'transient' },
      source: 'INFERRED: response.status other than 1 with errors[] / errorMessage (recorded envelopes in pyoffers; the python hasoffers client treats status != 1 as an error)',
      examples: [{ status: 200, body: '{"response":{"status":-1,"httpStatus":200,"data":"","errors":[{"publicMessage":"Internal error"}],"errorMessage":"Internal error"}}', expect: 'transient' }],
    },
    {
      name: '504 on a heavy report',
      status: 504,
      then: { kind: 'transient' },
      source: 'https://developers.tune.com/network/report-getconversions/ ("If You Receive a 504 Response"; its text was not readable)',
      examples: [{ status: 504, body: '', expect: 'transient' }],
    },
  ],
  warnings: (config) =>
    config.time_zone
      ? []
      : [
          "TUNE reports conversion times in the network's own time zone, which its affiliate API does not tell: without time_zone they are read as UTC and may be off by the network's UTC offset. Set time_zone (e.g. America/New_York) to the zone your network's reports show.",
        ],
};

export const hasOffersConnector = defineSpecConnector(hasOffersSpec);
