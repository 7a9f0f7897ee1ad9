import { z } from 'zod';
import { baseUrlField, secretField } from '../kit/config-fields';
import { defineSpecConnector } from '../kit/engine';
import { ConnectorResponseError } from '../kit/errors';
import type { ConnectorSpec } from '../kit/spec';
import { zonedDay } from '../kit/zoned-time';
import { clickBankOrderListSchema, clickBankOrderSchema, type ClickBankLineItem, type ClickBankOrder } from './schema';

const DEFAULT_BASE_URL = 'https://api.clickbank.com';
const ORDERS_DOC = 'https://api.clickbank.com/rest/1.3/orders2';
/** ClickBank's reporting day; INFERRED (not stated by the Orders API). */
const CLICKBANK_TIME_ZONE = 'America/Los_Angeles';

export const clickBankConfigSchema = z.object({
  api_key: secretField('api_key', 'a ClickBank API key (API-…) with the Orders read permission'),
  base_url: baseUrlField(DEFAULT_BASE_URL),
});
export type ClickBankConfig = z.infer<typeof clickBankConfigSchema>;

/**
 * Transaction types that are affiliate conversions, and their type. BILL is a subscription rebill;
 * upsells are SALE rows of their own (lineItemType UPSELL). FEE and TEST_* rows are not conversions.
 */
export const CLICKBANK_TYPES: Readonly<Record<string, string>> = { SALE: 'sale', BILL: 'rebill', RFND: 'refund', CGBK: 'chargeback' };

/** One conversion per line item (the row has no per-item total of its own); none for FEE/TEST_* rows. */
function lineItems(record: Record<string, unknown>): readonly (ClickBankLineItem | null)[] {
  const order = record as ClickBankOrder;
  if (!CLICKBANK_TYPES[order.transactionType]) return [];
  return order.lineItemData?.length ? order.lineItemData : [null];
}

/**
 * `receipt:type[:itemNo][:unix time]`. A receipt has one SALE but can have several BILL, RFND and
 * CGBK rows over time (every rebill, partial refunds), so those also carry the transaction's time.
 */
function txid(record: Record<string, unknown>, _config: ClickBankConfig, item: unknown): string {
  const order = record as ClickBankOrder;
  const line = item as ClickBankLineItem | null;
  const when = order.transactionType === 'SALE' ? [] : [String(Math.floor(Date.parse(order.transactionTime) / 1000))];
  return [order.receipt, order.transactionType, ...(line?.itemNo != null ? [String(line.itemNo)] : []), ...when].join(':');
}

/**
 * The orders of a body: `{"orderData": [...]}`, the single object itself for a list of one, `null`
 * (or 204) for none, and nil values as objects of attributes.
 */
function orderList(body: unknown): readonly unknown[] {
  const parsed = clickBankOrderListSchema.safeParse(body);
  if (!parsed.success) throw new ConnectorResponseError(`ClickBank orders2/list page has an unexpected shape:\n${z.prettifyError(parsed.error)}`);
  return parsed.data?.orderData ?? [];
}

export const clickbankSpec: ConnectorSpec<'conversion', ClickBankConfig> = {
  id: 'clickbank',
  name: 'ClickBank (Orders API)',
  kind: 'conversion',
  documentationUrl: ORDERS_DOC,
  maturity: {
    level: 'experimental',
    unconfirmed: [
      'the time zone of startDate/endDate and of the daily quota reset (America/Los_Angeles assumed; requests are padded by a day)',
      'field names come from the OpenClickBank specification (a public client), not from a ClickBank example response',
      'the body of a 403 over the quota (plain text, content not documented)',
    ],
  },
  config: { schema: clickBankConfigSchema, secretFields: ['api_key'], defaultBaseUrl: DEFAULT_BASE_URL },
  // The key itself is the header value, without a scheme
  // (https://support.clickbank.com/en/articles/10535407-orders-api; OpenClickBank's notes).
  auth: { type: 'header', header: 'Authorization', field: 'api_key' },
  headers: { Accept: 'application/json' },
  // 10 requests/s per IP and 25,000 a day per account, shared by every app on the account
  // (https://github.com/OcelliSolutions/OpenClickBank#developer-notes).
  rateLimit: { requests: 10, intervalMs: 1000 },
  quota: { requestsPerDay: 25_000, resetTimeZone: CLICKBANK_TIME_ZONE, source: 'https://github.com/OcelliSolutions/OpenClickBank#developer-notes (reset zone INFERRED)' },
  // Refunds and chargebacks (refund window 60 days) arrive as rows of their own, dated when they
  // happen; re-reading 60 days also catches rows ClickBank posts late.
  window: { maxDays: 30, defaultLookbackDays: 60 },
  streams: [
    {
      name: 'orders',
      documentationUrl: ORDERS_DOC,
      role: 'window',
      request: {
        method: 'GET',
        path: 'rest/1.3/orders2/list',
        query: { role: 'AFFILIATE' },
        // yyyy-mm-dd, both inclusive, in a zone ClickBank does not state: a day of padding on each
        // side covers the window from any zone; rows outside it are dropped.
        dates: { in: 'query', from: 'startDate', to: 'endDate', format: 'date', timeZone: CLICKBANK_TIME_ZONE, end: 'inclusive', wholeDays: true, maxDays: 33, padDays: 1 },
      },
      // "Only the first 100 orders will be returned … a request header 'Page' with value 2 will
      // return them"; 206 Partial Content while more follow, 200 on the last.
      pagination: { type: 'page_header', header: 'Page', moreStatus: 206 },
      records: { path: [], schema: clickBankOrderSchema, parse: orderList },
      fields: {
        // The tid exactly as reported; the pipeline compares click IDs case-insensitively.
        clickId: ['trackingId'],
        txid,
        // The account's share of the line item: for an affiliate, the commission (negative when taken back).
        payout: (_record, _config, item) => (item as ClickBankLineItem | null)?.accountAmount,
        currency: ['currency'],
        occurredAt: { get: ['transactionTime'], format: 'iso8601' },
        type: (record) => CLICKBANK_TYPES[String(record.transactionType)],
        // ClickBank has no pending state: each row is a settled transaction; the network's word is its type.
        status: { get: ['transactionType'], map: { SALE: 'approved', BILL: 'approved', RFND: 'approved', CGBK: 'approved' }, unknown: 'pending', missing: 'pending' },
        items: lineItems,
      },
    },
  ],
  check: {
    documentationUrl: ORDERS_DOC,
    // orders2/count: the list's permission, and only a number comes back.
    request: { method: 'GET', path: 'rest/1.3/orders2/count', query: { role: 'AFFILIATE', startDate: () => zonedDay(new Date(), CLICKBANK_TIME_ZONE), endDate: () => zonedDay(new Date(), CLICKBANK_TIME_ZONE) } },
  },
  classification: [
    {
      name: '403: over the daily quota, or refused credentials',
      status: 403,
      then: { kind: 'quota_or_auth' },
      hint: 'check the API key and its Orders read permission',
      source: 'https://github.com/OcelliSolutions/OpenClickBank#developer-notes ("The rate limit exceeded error is 403 [Forbidden] not 429"); DESIGN.md: a 403 after a success since the quota reset is the quota',
      examples: [
        { status: 403, body: 'Forbidden', workedSinceQuotaReset: true, expect: 'rate_limited' },
        { status: 403, body: 'Forbidden', workedSinceQuotaReset: false, expect: 'auth' },
      ],
    },
    {
      name: '401 missing or malformed Authorization',
      status: 401,
      then: { kind: 'auth' },
      source: 'INFERRED: ClickBank documents 403 for refused keys; a 401 can only mean the same',
      examples: [{ status: 401, body: 'Unauthorized', expect: 'auth' }],
    },
    {
      name: '400 bad search parameters',
      status: 400,
      then: { kind: 'bad_request' },
      source: ORDERS_DOC,
      examples: [{ status: 400, body: 'Invalid date format', expect: 'bad_request' }],
    },
    {
      name: 'a plain-text error inside a 2xx',
      status: { from: 200, to: 299 },
      body: (body) => typeof body === 'string',
      then: { kind: 'transient' },
      source: 'https://github.com/OcelliSolutions/OpenClickBank#developer-notes ("Error codes are in a string format, not JSON/XML")',
      examples: [{ status: 200, body: 'An internal error occurred', expect: 'transient' }],
    },
  ],
};

export const clickbankConnector = defineSpecConnector(clickbankSpec);
