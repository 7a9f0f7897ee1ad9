import { z } from 'zod';
import { baseUrlField, secretField } from '../kit/config-fields';
import { defineSpecConnector } from '../kit/engine';
import { ConnectorResponseError } from '../kit/errors';
import type { ConnectorSpec } from '../kit/spec';
import type { ConversionStatus } from '../kit/types';
import { instantOfZonedDateTime, zonedDateTime } from '../kit/zoned-time';
import { digistoreError, digistoreTransactionSchema, isNotDigistoreEnvelope, transactionList } from './schema';

const DEFAULT_BASE_URL = 'https://www.digistore24.com';
/** The reference page of `listTransactions` (its "Return data" part was not readable: see README). */
const LIST_TRANSACTIONS_DOC = 'https://dev.digistore24.com/en/articles/85';
/** `$page_size=1000` is listTransactions' documented default. */
export const DIGISTORE_PAGE_SIZE = 1000;
/** Not documented. INFERRED. */
export const DIGISTORE_MAX_DAYS = 31;
/** The zone of the rows' `created_at`: not documented; Digistore24's home zone is assumed (INFERRED). */
export const DIGISTORE_TIME_ZONE = 'Europe/Berlin';

export const digistoreConfigSchema = z.object({
  api_key: secretField('api_key', 'an API key with read access from Settings > Account access > API keys in Digistore24 (e.g. 123-iKWIrTsUTbCy…)'),
  base_url: baseUrlField(DEFAULT_BASE_URL),
  click_id_field: z
    .enum(['cid', 'campaignkey'])
    .default('cid')
    .describe('Where the tracker click ID travels on the promo link: ?cid= (default) or the campaign key path segment'),
});
export type DigistoreConfig = z.infer<typeof digistoreConfigSchema>;

/** Transaction types (listCommissions documents payment, refund, refund_request, chargeback) as conversion types. */
export const DIGISTORE_TYPES: Readonly<Record<string, string>> = { payment: 'sale', refund: 'refund', chargeback: 'chargeback', refund_request: 'refund' };

/**
 * Each transaction is settled money, so payments, refunds and chargebacks are approved and their
 * type decides the sign; a refund *request* moves no money (the refund itself follows as a
 * transaction of its own), so it is kept but does not count.
 */
export const DIGISTORE_STATUS_MAP: Readonly<Record<string, ConversionStatus>> = { payment: 'approved', refund: 'approved', chargeback: 'approved', refund_request: 'declined' };

/** `from`/`to` as the documented ISO 8601 form with an offset ("2021-10-08T07:20:11-05:00"), in UTC. */
function isoWithOffset(at: Date): string {
  return `${zonedDateTime(at, 'UTC', 'T')}+00:00`;
}

function createdAt(value: unknown): Date {
  const at = typeof value === 'string' ? instantOfZonedDateTime(value, DIGISTORE_TIME_ZONE) : undefined;
  if (!at) throw new ConnectorResponseError(`created_at ${JSON.stringify(value)} is not YYYY-MM-DD HH:MM:SS`);
  return at;
}

/**
 * The documented signature, `listTransactions( from='-24h', to='now', search=[], sort_by='date',
 * sort_order='asc', $page_no=1, $page_size=1000 )`, sent as Digistore24's own connector sends it:
 * a form POST of positional arguments `arg1`…`arg7` (arrays as `arg3[role]=…`).
 */
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8', 'Accept-Charset': 'utf-8' } as const;
const ARGUMENTS = { arg3: { role: 'affiliate' }, arg4: 'date', arg5: 'asc', language: 'en', ds24ver: '1.1' } as const;

export const digistoreSpec: ConnectorSpec<'conversion', DigistoreConfig> = {
  id: 'digistore24',
  name: 'Digistore24 (affiliate transactions)',
  kind: 'conversion',
  documentationUrl: LIST_TRANSACTIONS_DOC,
  maturity: {
    level: 'experimental',
    unconfirmed: [
      "the field names of listTransactions' rows (transaction_list, transaction_id, transaction_type, created_at, amount_affiliate, currency, cid, campaignkey): the documentation's return-data part was not readable; a differently shaped answer fails with a message naming the field",
      "whether listTransactions' rows carry the link's cid at all (the cid is documented for S2S postbacks; click_id_field campaignkey is the fallback)",
      'the zone of created_at (Europe/Berlin assumed; requests are whole days padded by one on each side) and whether the end of a range is included',
      'the error messages and codes inside "result": "error", and any rate limit (none is documented)',
    ],
  },
  config: { schema: digistoreConfigSchema, secretFields: ['api_key'], defaultBaseUrl: DEFAULT_BASE_URL },
  // "X-DS-API-KEY: <api key>" (Digistore24's PHP connector, ds24_api.php)
  auth: { type: 'header', header: 'X-DS-API-KEY', field: 'api_key' },
  headers: { Accept: 'application/json' },
  // Not documented. INFERRED.
  rateLimit: { requests: 30, intervalMs: 60_000 },
  // Refunds and chargebacks are transactions of their own, dated when they happen, so each window
  // brings its own; the lookback re-reads recent days for rows posted late.
  window: { defaultLookbackDays: 30 },
  streams: [
    {
      name: 'transactions',
      documentationUrl: LIST_TRANSACTIONS_DOC,
      role: 'window',
      request: {
        method: 'POST',
        path: 'api/call/listTransactions',
        headers: FORM,
        body: ARGUMENTS,
        // from/to "Filters for creation date of the transaction"; explicit offsets make the request
        // exact, but the rows' own times have no zone: whole days padded by one on each side.
        dates: { in: 'body', from: 'arg1', to: 'arg2', format: isoWithOffset, timeZone: 'UTC', end: 'exclusive', wholeDays: true, maxDays: DIGISTORE_MAX_DAYS, padDays: 1 },
      },
      // page_no "Counting starts at 1"; no documented total for this call, and a smaller server
      // cap than page_size would make every page short: read until an empty page.
      pagination: { type: 'page_number', in: 'body', param: 'arg6', start: 1, size: { param: 'arg7', value: DIGISTORE_PAGE_SIZE }, stop: { type: 'empty_page' } },
      records: { path: [], schema: digistoreTransactionSchema, parse: transactionList },
      fields: {
        clickId: { configField: 'click_id_field' },
        // The transaction, not the purchase: a purchase's payment, refunds, chargebacks and rebills share its id.
        txid: ['transaction_id'],
        payout: ['amount_affiliate'],
        currency: ['currency'],
        occurredAt: { get: ['created_at'], format: createdAt },
        type: (record) => DIGISTORE_TYPES[String(record.transaction_type)] ?? record.transaction_type,
        status: { get: ['transaction_type'], map: DIGISTORE_STATUS_MAP, unknown: 'pending', missing: 'pending' },
      },
    },
  ],
  check: {
    documentationUrl: LIST_TRANSACTIONS_DOC,
    // listTransactions itself over the last 24 hours ("Default value for 'from' is '-24h'"), one row at most.
    request: { method: 'POST', path: 'api/call/listTransactions', headers: FORM, body: { ...ARGUMENTS, arg1: '-24h', arg2: 'now', arg6: 1, arg7: 1 } },
  },
  classification: [
    {
      name: 'an error about the API key inside HTTP 200',
      status: 200,
      body: (body) => /api.?key|permission|access|authori|credential|schl[üu]ssel|berechtigung/i.test(digistoreError(body) ?? ''),
      then: { kind: 'auth' },
      hint: 'use an API key with read access (Settings > Account access > API keys)',
      source: 'ds24_api.php (Digistore24\'s connector): errors are HTTP 200 {"result": "error", "message", "code"}; the messages are INFERRED',
      examples: [{ status: 200, body: '{"api_version":"1.2","result":"error","code":0,"message":"Invalid API key"}', expect: 'auth' }],
    },
    {
      name: 'an error about a limit inside HTTP 200',
      status: 200,
      body: (body) => /limit|too many|zu viele/i.test(digistoreError(body) ?? ''),
      then: { kind: 'rate_limited', wait: { type: 'fixed', ms: 60_000 } },
      source: 'INFERRED: no rate limit is documented; an error message speaking of a limit is waited out',
      examples: [{ status: 200, body: '{"api_version":"1.2","result":"error","code":0,"message":"Too many requests - request limit exceeded"}', expect: 'rate_limited' }],
    },
    {
      name: 'any other error inside HTTP 200',
      status: 200,
      body: (body) => digistoreError(body) !== undefined,
      then: { kind: 'bad_request' },
      source: 'ds24_api.php: {"result": "error"} throws with the message and code',
      examples: [{ status: 200, body: '{"api_version":"1.2","result":"error","code":0,"message":"Unknown function listTransaction"}', expect: 'bad_request' }],
    },
    {
      name: 'an answer that is not the API envelope',
      status: 200,
      body: isNotDigistoreEnvelope,
      then: { kind: 'transient' },
      source: 'ds24_api.php: an answer without api_version and result is "The Digistore24 server delivered an invalid response"',
      examples: [{ status: 200, body: '<html><body>Wartungsarbeiten</body></html>', expect: 'transient' }],
    },
  ],
};

export const digistoreConnector = defineSpecConnector(digistoreSpec);
