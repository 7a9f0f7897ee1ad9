import { z } from 'zod';
import { baseUrlField, secretField } from '../kit/config-fields';
import { defineSpecConnector } from '../kit/engine';
import { ConnectorResponseError } from '../kit/errors';
import type { ConnectorSpec, DateParamsSpec, StreamSpec } from '../kit/spec';
import { instantOfZonedDateTime, zonedDateTime } from '../kit/zoned-time';
import { AWIN_CLICK_REFS, awinTransactionSchema, type AwinTransaction } from './schema';

const DEFAULT_BASE_URL = 'https://api.awin.com';
const TRANSACTIONS_DOC = 'https://help.awin.com/apidocs/returns-a-list-of-transactions-for-a-given-publisher';
const TRANSACTIONS_PATH = 'publishers/{publisher_id}/transactions/';
/** "the maximum date range between startDate and endDate currently supported is 31 days". */
export const AWIN_MAX_DAYS = 31;

export const awinConfigSchema = z.object({
  publisher_id: z
    .union([z.number().int().positive(), z.string().regex(/^[1-9]\d*$/)], { error: 'publisher_id must be your numeric Awin publisher ID' })
    .describe('Your Awin publisher ID (a number)'),
  api_token: secretField('api_token', 'the API token created at ui.awin.com/awin-api (it belongs to your Awin user)'),
  base_url: baseUrlField(DEFAULT_BASE_URL),
  click_id_field: z.enum(AWIN_CLICK_REFS).default('clickRef').describe('The click reference that carries the tracker click ID (link parameters clickref..clickref6)'),
});
export type AwinConfig = z.infer<typeof awinConfigSchema>;

/** `yyyy-MM-ddThh:mm:ss`, read in `timezone` (always UTC here); the end second is included (INFERRED). */
const DATES: DateParamsSpec = {
  in: 'query',
  from: 'startDate',
  to: 'endDate',
  format: (at, timeZone) => zonedDateTime(at, timeZone, 'T'),
  timeZone: 'UTC',
  end: 'inclusive',
  wholeDays: false,
  maxDays: AWIN_MAX_DAYS,
};

/** Awin writes transactionDate in the requested `timezone` without an offset (UTC here). */
function transactionDate(value: unknown): Date {
  const at = typeof value === 'string' ? instantOfZonedDateTime(value, 'UTC') : undefined;
  if (!at) throw new ConnectorResponseError(`transactionDate ${JSON.stringify(value)} is not a "yyyy-MM-ddTHH:mm:ss" date-time`);
  return at;
}

/** The transactions list filtered by one of its three dates; every variant maps the same transaction. */
function transactions(name: string, role: 'window' | 'sweep', dateType: 'transaction' | 'validation' | 'amendment'): StreamSpec<'conversion', AwinConfig> {
  return {
    name,
    documentationUrl: TRANSACTIONS_DOC,
    role,
    request: { method: 'GET', path: TRANSACTIONS_PATH, query: { dateType, timezone: 'UTC' }, dates: DATES },
    // No paging: the whole window comes back as one array.
    pagination: { type: 'none' },
    records: { path: [], schema: awinTransactionSchema },
    fields: {
      clickId: (record, config) => (record as AwinTransaction).clickRefs?.[config.click_id_field],
      txid: ['id'],
      // The publisher's commission, not the sale amount (saleAmount).
      payout: ['commissionAmount', 'amount'],
      currency: ['commissionAmount', 'currency'],
      occurredAt: { get: ['transactionDate'], format: transactionDate },
      // `type` ("Commission group transaction") is Awin's kind of record, not a conversion type.
      type: null,
      // "deleted" is a documented status value: declined, with network_status saying so.
      status: { get: ['commissionStatus'], map: { pending: 'pending', approved: 'approved', declined: 'declined', deleted: 'declined' }, unknown: 'pending', missing: 'pending' },
    },
  };
}

const isoSecond = (at: number) => zonedDateTime(new Date(at), 'UTC', 'T');

export const awinSpec: ConnectorSpec<'conversion', AwinConfig> = {
  id: 'awin',
  name: 'Awin (publisher API)',
  kind: 'conversion',
  documentationUrl: TRANSACTIONS_DOC,
  maturity: {
    level: 'experimental',
    unconfirmed: [
      'that transactionDate and the other date-times of the answer are written in the requested timezone (UTC)',
      'whether endDate includes its last second (requests end one second before the next window starts)',
      'what "deleted" means and which date a deletion moves; whether dateType=amendment also selects status changes',
      "the body of a 429 over the 20 requests a minute (a 60 s wait is assumed) and of 401/403",
    ],
  },
  config: { schema: awinConfigSchema, secretFields: ['api_token'], defaultBaseUrl: DEFAULT_BASE_URL },
  // "OAuth 2.0 Bearer Token | Authorization | Bearer <your token>" (https://help.awin.com/apidocs/api-authentication).
  auth: { type: 'bearer', field: 'api_token' },
  headers: { Accept: 'application/json' },
  // "20 API calls per minute per user" (https://help.awin.com/docs/awins-apis-overview).
  rateLimit: { requests: 20, intervalMs: 60_000 },
  defaultRateLimitWaitMs: 60_000,
  // Transactions wait for the advertiser's validation; the validation and amendment sweeps bring
  // those of older transactions, the lookback re-reads recent ones (new transactions from approved
  // queries, deletions).
  window: { defaultLookbackDays: 60 },
  streams: [
    transactions('transactions', 'window', 'transaction'),
    // Approved or declined in the window, however old the transaction.
    transactions('validated', 'sweep', 'validation'),
    // Amended (commission or sale amount changed) in the window.
    transactions('amended', 'sweep', 'amendment'),
  ],
  check: {
    documentationUrl: TRANSACTIONS_DOC,
    // The last minute's transactions: proves the token may read this publisher, returns next to nothing.
    request: {
      method: 'GET',
      path: TRANSACTIONS_PATH,
      query: { startDate: () => isoSecond(Date.now() - 60_000), endDate: () => isoSecond(Date.now()), timezone: 'UTC' },
    },
  },
  classification: [
    {
      name: '429 over 20 requests a minute',
      status: 429,
      then: { kind: 'rate_limited', wait: { type: 'retry_after', fallbackMs: 60_000 } },
      source: 'https://help.awin.com/docs/awins-apis-overview ("20 API calls per minute per user"); the 429 status is INFERRED (api-evangelist/awin-affiliate)',
      examples: [{ status: 429, body: '', expect: 'rate_limited' }],
    },
    {
      name: '401 authentication required or failed',
      status: 401,
      then: { kind: 'auth' },
      hint: 'check api_token (create one at ui.awin.com/awin-api)',
      source: 'https://help.awin.com/apidocs/response-codes ("401 Unauthorized | Auth Required | Authentication is required or has failed.")',
      examples: [{ status: 401, body: '', expect: 'auth' }],
    },
    {
      name: "403 the token's user may not read this publisher",
      status: 403,
      then: { kind: 'auth' },
      hint: "the token belongs to an Awin user: that user needs access to publisher_id",
      source: 'https://help.awin.com/apidocs/response-codes ("403 Forbidden | Access Denied")',
      examples: [{ status: 403, body: '', expect: 'auth' }],
    },
    {
      name: '400 invalid input (e.g. more than 31 days)',
      status: 400,
      then: { kind: 'bad_request' },
      source: 'https://help.awin.com/apidocs/response-codes ("400 Bad Request | Invalid Input")',
      examples: [{ status: 400, body: '', expect: 'bad_request' }],
    },
    {
      name: '404 no such publisher',
      status: 404,
      then: { kind: 'bad_request' },
      hint: 'check publisher_id',
      source: 'https://help.awin.com/apidocs/response-codes ("404 Not Found | Resource Missing")',
      examples: [{ status: 404, body: '', expect: 'bad_request' }],
    },
  ],
};

export const awinConnector = defineSpecConnector(awinSpec);
