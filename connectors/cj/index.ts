import { z } from 'zod';
import { parseCurrencyCode } from '../../src/money/currency';
import { baseUrlField, secretField } from '../kit/config-fields';
import { defineSpecConnector } from '../kit/engine';
import { ConnectorResponseError } from '../kit/errors';
import type { ConnectorSpec, DateParamsSpec, FetchContext, StreamSpec } from '../kit/spec';
import type { ConversionStatus } from '../kit/types';
import { cjCommissionSchema, cjPageSchema, isCjAuthError, isCjOtherError, isCjQueryError, type CjCommission } from './schema';

const DEFAULT_BASE_URL = 'https://commissions.api.cj.com';
/** "Commission Detail API": endpoint, bearer token, the publisher sample request and response. */
const COMMISSIONS_DOC = 'https://docs.cj.com/docs/graphql-api';
/** Not documented; public clients use 30 (Airbyte) and 28 (tap-cj) days. INFERRED. */
export const CJ_MAX_DAYS = 30;

export const cjConfigSchema = z.object({
  publisher_id: z
    .string({ error: 'publisher_id is required: your CJ company ID (CID), shown at the top of the CJ Account Manager' })
    .regex(/^\d+$/, 'publisher_id is your numeric CJ company ID (CID), e.g. 1234567'),
  api_token: secretField('api_token', 'a personal access token from https://developers.cj.com/account/personal-access-tokens'),
  currency: z
    .string()
    .transform((code, context) => {
      const parsed = parseCurrencyCode(code);
      if (!parsed) context.addIssue({ code: 'custom', message: 'currency must be the ISO 4217 code of your CJ account\'s functional currency, e.g. EUR' });
      return parsed ?? code;
    })
    .optional()
    .describe("Your CJ account's functional currency (ISO 4217). Set: amounts are CJ's publisher-currency figures; unset: CJ's USD figures"),
  base_url: baseUrlField(DEFAULT_BASE_URL),
});
export type CjConfig = z.infer<typeof cjConfigSchema>;

/**
 * Which amount is the payout, and in which currency. CJ's records carry no currency code: the
 * publisher-currency amount is in the account's functional currency, which only the operator can
 * name, while the USD amount is documented as USD. So: with `currency` configured, the
 * publisher-currency amount in that currency (what CJ's statements show); without, the USD amount.
 */
export function cjAmount(config: CjConfig): { field: 'pubCommissionAmountPubCurrency' | 'pubCommissionAmountUsd'; currency: string } {
  return config.currency ? { field: 'pubCommissionAmountPubCurrency', currency: config.currency } : { field: 'pubCommissionAmountUsd', currency: 'USD' };
}

/** `actionType` values ("sim_sale", "item_sale", …) as conversion types; others keep their name. */
export const CJ_TYPES: Readonly<Record<string, string>> = { sim_sale: 'sale', item_sale: 'sale', sim_lead: 'lead', item_lead: 'lead', imp: 'impression', perf_inc: 'performance_incentive' };

/** `actionStatus` values (documented lower case; the filter enum is upper case, so both are read). */
const ACTION_STATUSES = ['new', 'extended', 'locked', 'closed'] as const;
const VALIDATION_STATUSES = ['PENDING', 'ACCEPTED', 'DECLINED', 'AUTOMATED'] as const;

/**
 * Ours from CJ's two statuses: DECLINED ("the order has been fully corrected") is declined;
 * otherwise locked ("moved into the publisher payout cycle") and closed ("prepared for payment")
 * are approved, new and extended pending.
 */
function cjStatus(action: string, validation: string | undefined): ConversionStatus {
  if (validation === 'DECLINED') return 'declined';
  return action === 'locked' || action === 'closed' ? 'approved' : 'pending';
}

/** The network status string: `actionStatus` or `actionStatus/validationStatus`. */
function cjNetworkStatus(record: Record<string, unknown>): string {
  const { actionStatus, validationStatus } = record as CjCommission;
  return validationStatus ? `${actionStatus}/${validationStatus}` : actionStatus;
}

/** Every combination of the two documented statuses, in both cases of actionStatus. */
export const CJ_STATUS_MAP: Readonly<Record<string, ConversionStatus>> = Object.fromEntries(
  ACTION_STATUSES.flatMap((action) =>
    [action, action.toUpperCase()].flatMap((written) => [
      [written, cjStatus(action, undefined)] as const,
      ...VALIDATION_STATUSES.map((validation) => [`${written}/${validation}`, cjStatus(action, validation)] as const),
    ]),
  ),
);

/** What each query selects: the documented sample's fields and the ones mapped below. */
const RECORD_FIELDS = [
  'commissionId', 'originalActionId', 'original', 'correctionReason', 'actionStatus', 'validationStatus', 'actionType',
  'actionTrackerName', 'advertiserId', 'advertiserName', 'websiteName', 'orderId', 'shopperId',
  'eventDate', 'postingDate', 'lockingDate', 'pubCommissionAmountPubCurrency', 'pubCommissionAmountUsd',
  'items { quantity perItemSaleAmountPubCurrency totalCommissionPubCurrency }',
].join(' ');

/** A GraphQL string literal (JSON's escaping is GraphQL's). */
const literal = (value: string): string => JSON.stringify(value);

/** The `publisherCommissions` query for one date filter and, after the first page, the cursor. */
export function commissionsQuery(config: CjConfig, filter: Readonly<Record<string, string | number>>, sinceCommissionId?: string): string {
  const args = [
    `forPublishers: [${literal(config.publisher_id)}]`,
    ...Object.entries(filter).map(([name, value]) => `${name}: ${literal(String(value))}`),
    ...(sinceCommissionId === undefined ? [] : [`sinceCommissionId: ${literal(sinceCommissionId)}`]),
  ];
  return `{ publisherCommissions(${args.join(', ')}) { count payloadComplete maxCommissionId records { ${RECORD_FIELDS} } } }`;
}

/**
 * The documented request sends the GraphQL text itself as the body (`curl -XPOST -d '{ … }'`,
 * so curl's default content type); php-oara and Keboola's client do the same.
 */
const TEXT_BODY = { 'Content-Type': 'application/x-www-form-urlencoded' } as const;

/**
 * One date filter's pages: the same query again with `sinceCommissionId` set to the previous
 * page's `maxCommissionId` until `payloadComplete` ("If false, use maxCommissionId as the
 * sinceCommissionId argument to continue and retrieve the next batch of commissions").
 */
async function* commissionPages({ http, config, window }: FetchContext<CjConfig>, since: string, before: string): AsyncIterable<unknown> {
  let cursor: string | undefined;
  for (;;) {
    // https://docs.cj.com/docs/graphql-api (POST https://commissions.api.cj.com/query)
    const response = await http.request({ method: 'POST', url: 'query', headers: TEXT_BODY, data: commissionsQuery(config, { [since]: window.fromValue, [before]: window.toValue }, cursor) });
    const page = cjPageSchema.safeParse(response.data);
    if (!page.success) throw new ConnectorResponseError(`CJ publisherCommissions page has an unexpected shape:\n${z.prettifyError(page.error)}`);
    yield response.data;
    const { payloadComplete, maxCommissionId } = page.data.data.publisherCommissions;
    if (payloadComplete) return;
    if (!maxCommissionId || maxCommissionId === cursor) {
      throw new ConnectorResponseError(`CJ said payloadComplete: false but maxCommissionId (${JSON.stringify(maxCommissionId)}) does not move the cursor on; not asking for the same page again`);
    }
    cursor = maxCommissionId;
  }
}

/** The commissions selected by one pair of date arguments; all map the same `PublisherCommission`. */
function commissions(name: string, role: 'window' | 'sweep', since: string, before: string): StreamSpec<'conversion', CjConfig> {
  // "Datetime in UTC ISO 8601 format (e.g. 1999-12-31T11:59:59Z)"; since… is ≥, before… is <
  // (https://docs.cj.com/docs/commissiondetail-api-advertiser: the publisher query takes the same arguments).
  const dates: DateParamsSpec = { in: 'body', from: since, to: before, format: 'iso8601', timeZone: 'UTC', end: 'exclusive', wholeDays: false, maxDays: CJ_MAX_DAYS };
  return {
    name,
    documentationUrl: COMMISSIONS_DOC,
    role,
    request: { method: 'POST', path: 'query', dates },
    pagination: { type: 'none' },
    fetch: (context) => commissionPages(context, since, before),
    records: { path: ['data', 'publisherCommissions', 'records'], schema: cjCommissionSchema },
    fields: {
      // "Shopper ID for the transaction (Publisher-only attribute)": the link's `sid`.
      clickId: ['shopperId'],
      // The action: an original and its corrections share it, so they net into one conversion.
      txid: ['originalActionId'],
      payout: (record, config) => record[cjAmount(config).field],
      currency: (_record, config) => cjAmount(config).currency,
      // "Event date for the commission in UTC time zone"
      occurredAt: { get: ['eventDate'], format: 'iso8601' },
      type: (record) => CJ_TYPES[String(record.actionType)] ?? record.actionType,
      status: { get: cjNetworkStatus, map: CJ_STATUS_MAP, unknown: 'pending', missing: 'pending' },
      // Each record is one part of its action: the original, or a correction posted later.
      part: { id: ['commissionId'], original: ['original'], postedAt: { get: ['postingDate'], format: 'iso8601' } },
    },
  };
}

export const cjSpec: ConnectorSpec<'conversion', CjConfig> = {
  id: 'cj',
  name: 'CJ Affiliate (Commission Detail API)',
  kind: 'conversion',
  documentationUrl: COMMISSIONS_DOC,
  maturity: {
    level: 'experimental',
    unconfirmed: [
      'the longest date span one query may cover (30 days assumed, as public clients use)',
      "how the commissions API reports a refused token (Tally reads errors[] as CJ's Tracking GraphQL API documents them, and 401/403)",
      'the rate limit of the GraphQL API (25 calls a minute assumed, as documented for CJ\'s REST APIs)',
      'that `sid=` on a CJ link comes back as shopperId (documented by trackers, not by CJ)',
      'that every record of an action carries the same originalActionId (its description: "used for correlation between the original transaction and corrected transaction")',
    ],
  },
  config: { schema: cjConfigSchema, secretFields: ['api_token'], defaultBaseUrl: DEFAULT_BASE_URL },
  // "Authorization: Bearer <your-personal-access-token>"
  auth: { type: 'bearer', field: 'api_token' },
  headers: { Accept: 'application/json' },
  // Not published for GraphQL; CJ documents 25 calls a minute for its REST APIs. INFERRED.
  rateLimit: { requests: 25, intervalMs: 60_000 },
  // Records lock on the 11th of the following month (a month later when extended); corrections
  // and locking arrive through the posting- and locking-date sweeps over the whole window, so the
  // lookback only has to cover late posting and status changes without a date of their own.
  window: { defaultLookbackDays: 60 },
  streams: [
    commissions('commissions_by_event', 'window', 'sinceEventDate', 'beforeEventDate'),
    // Posted in the window, whatever their event date: late-reported sales and every correction.
    commissions('commissions_by_posting', 'sweep', 'sincePostingDate', 'beforePostingDate'),
    // Locked in the window: the status change at locking of records posted long ago.
    commissions('commissions_by_locking', 'sweep', 'sinceLockingDate', 'beforeLockingDate'),
  ],
  check: {
    documentationUrl: COMMISSIONS_DOC,
    // The commissions query itself over the last minute, counting only.
    request: {
      method: 'POST',
      path: 'query',
      headers: TEXT_BODY,
      body: (config) => {
        const now = Math.floor(Date.now() / 1000) * 1000;
        const iso = (at: number) => new Date(at).toISOString().replace('.000Z', 'Z');
        return `{ publisherCommissions(forPublishers: [${literal(config.publisher_id)}], sincePostingDate: ${literal(iso(now - 60_000))}, beforePostingDate: ${literal(iso(now))}) { count } }`;
      },
    },
  },
  classification: [
    {
      name: 'a GraphQL error about the token inside HTTP 200',
      status: 200,
      body: isCjAuthError,
      then: { kind: 'auth' },
      hint: 'create a personal access token at https://developers.cj.com/account/personal-access-tokens as a user of the company publisher_id names',
      source: "INFERRED for this API: CJ's Tracking GraphQL API documents \"Missing Token\", \"Invalid Token\" and \"Unauthorized\" inside errors[] with HTTP 200 (api-evangelist/cj-affiliate errors/cj-affiliate-problem-types.yml)",
      examples: [
        { status: 200, body: '{"errors":[{"message":"Invalid Token"}],"data":null}', expect: 'auth' },
        { status: 200, body: '{"errors":[{"message":"Unauthorized"}],"data":null}', expect: 'auth' },
      ],
    },
    {
      name: 'a GraphQL syntax or validation error inside HTTP 200',
      status: 200,
      body: isCjQueryError,
      then: { kind: 'bad_request' },
      hint: 'check publisher_id',
      source: 'INFERRED for this API: "Invalid Syntax" and "Validation error of type WrongType: …" as documented for CJ\'s Tracking GraphQL API',
      examples: [{ status: 200, body: '{"errors":[{"message":"Validation error of type WrongType: argument \'forPublishers\' with value \'x\' is not a valid \'String\'"}],"data":null}', expect: 'bad_request' }],
    },
    {
      name: 'any other GraphQL error, or no data, inside HTTP 200',
      status: 200,
      body: isCjOtherError,
      then: { kind: 'transient' },
      source: 'INFERRED: GraphQL errors[]; clients treat any errors[] (php-oara) and "data": null (Keboola) as a failed call',
      examples: [
        { status: 200, body: '{"errors":[{"message":"Exception while fetching data"}],"data":null}', expect: 'transient' },
        { status: 200, body: '{"data":null}', expect: 'transient' },
      ],
    },
    {
      name: '401 missing or refused token',
      status: 401,
      then: { kind: 'auth' },
      hint: 'check api_token (a personal access token)',
      source: 'INFERRED for this API: CJ\'s REST overview documents 401 "You must provide an Authorization header" and "Not Authenticated"',
      examples: [{ status: 401, body: 'You must provide an Authorization header.', expect: 'auth' }],
    },
    {
      name: '504 excessive load',
      status: 504,
      then: { kind: 'transient' },
      source: "INFERRED for this API: CJ documents 504 under excessive load for its Tracking API; Keboola's client retries 502 and 504",
      examples: [{ status: 504, body: '', expect: 'transient' }],
    },
  ],
  warnings: (config) =>
    config.currency
      ? []
      : ["currency is not set: payouts are CJ's USD figures (pubCommissionAmountUsd). Set currency to your CJ account's functional currency to pull the amounts your CJ statements show"],
};

export const cjConnector = defineSpecConnector(cjSpec);
