import { z } from 'zod';
import type { UnauthenticatedSend } from '../kit/auth';
import { baseUrlField, secretField } from '../kit/config-fields';
import { defineSpecConnector } from '../kit/engine';
import { ConnectorResponseError } from '../kit/errors';
import type { ConnectorSpec, DateParamsSpec, StreamSpec } from '../kit/spec';
import { zonedDateTime } from '../kit/zoned-time';
import { isRakutenNotSubscribed, isRakutenRateLimit, parseRakutenDate, rakutenTokenSchema, rakutenTransactionSchema, type RakutenTransaction } from './schema';

const DEFAULT_BASE_URL = 'https://api.linksynergy.com';
/** The Events API (OpenAPI "Affiliate APIs"; the help center page states its limits). */
const EVENTS_DOC = 'https://pubhelp.rakutenadvertising.com/hc/en-us/articles/5949867433997-Events-API';
/** No documented maximum; Rakuten's March 2019 sample and public clients ask for 1000. */
export const RAKUTEN_PAGE_SIZE = 1000;
/** Not documented; the API keeps one to two weeks and refuses starts over 30 days back (client code). INFERRED. */
export const RAKUTEN_MAX_DAYS = 10;

export const rakutenConfigSchema = z.object({
  api_token: secretField('api_token', "the Token Key of your application in Rakuten Advertising's developer portal (or, without sid, an access token)"),
  sid: z
    .string()
    .regex(/^\d+$/, 'sid is your numeric Rakuten Advertising publisher Site ID')
    .optional()
    .describe('Your publisher Site ID: with it Tally exchanges api_token (the Token Key) for access tokens; without it api_token is sent as the access token itself'),
  base_url: baseUrlField(DEFAULT_BASE_URL),
  click_id_field: z.enum(['u1']).default('u1').describe('The member ID (u1=) on Rakuten links that carries the tracker click ID'),
});
export type RakutenConfig = z.infer<typeof rakutenConfigSchema>;

/**
 * An access token. With `sid`: `POST /token` with the Token Key as bearer and `scope=<sid>`,
 * answering `access_token` and `expires_in` (Rakuten's token flow as its public clients call it;
 * the portal page documenting it is behind a login). Without: `api_token` is the access token.
 */
async function accessToken(send: UnauthenticatedSend, config: RakutenConfig): Promise<{ token: string; expiresAt: Date | null }> {
  if (!config.sid) return { token: config.api_token, expiresAt: null };
  // POST https://api.linksynergy.com/token, per Rakuten's "Acquiring your Access Token" guide
  // (https://ja.scribd.com/document/336457657/API-Developer-Portal-Acquiring-Your-Access-Token-Guide:
  // an OAuth 2.0 access token that "has a lifespan of 60 minutes"); the `Bearer <Token Key>` +
  // `scope=<sid>` form is how public clients send it (see README, "Token exchange").
  const response = await send({
    method: 'POST',
    url: 'token',
    headers: { Authorization: `Bearer ${config.api_token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    data: new URLSearchParams({ scope: config.sid }).toString(),
  });
  const parsed = rakutenTokenSchema.safeParse(response.data);
  if (!parsed.success) throw new ConnectorResponseError(`Rakuten's token endpoint answered without an access_token:\n${z.prettifyError(parsed.error)}`);
  const lifetime = parsed.data.expires_in == null ? 3600 : Number(parsed.data.expires_in);
  return { token: parsed.data.access_token, expiresAt: new Date(Date.now() + lifetime * 1000) };
}

/**
 * Events (`is_event` "Y": media-optimisation events, which "do not result in commissions being
 * paid") are not conversions; transactions are one conversion each.
 */
function transactionsOnly(record: Record<string, unknown>): readonly null[] {
  const isEvent = (record as RakutenTransaction).is_event;
  return isEvent === 'Y' || isEvent === true ? [] : [null];
}

/** A return: negative amounts (INFERRED; "Name of the item purchased or returned"). */
function returnOrNull(record: Record<string, unknown>): string | null {
  const { commissions, sale_amount } = record as RakutenTransaction;
  return [commissions, sale_amount].some((value) => String(value ?? '').trim().startsWith('-')) ? 'refund' : null;
}

/** Transactions selected by one pair of `YYYY-MM-DD HH:mm:ss` filters, both ends included. */
function transactions(name: string, role: 'window' | 'sweep', from: string, to: string): StreamSpec<'conversion', RakutenConfig> {
  // UTC: the March 2019 technical documentation equates `process_date_start=2014-04-30%2002:18:36`
  // with "Wed Apr 30 2014 02:18:36 GMT+0000 (UTC)"; "on or after" / "on or before" both included.
  const dates: DateParamsSpec = { in: 'query', from, to, format: 'datetime', timeZone: 'UTC', end: 'inclusive', wholeDays: false, maxDays: RAKUTEN_MAX_DAYS };
  return {
    name,
    documentationUrl: EVENTS_DOC,
    role,
    request: { method: 'GET', path: 'events/1.0/transactions', dates },
    // "Page number of transactions to retrieve (Default 1)". No total comes back and the largest
    // `limit` is not documented (a smaller cap would make every page short): pages are read until
    // an empty one.
    pagination: { type: 'page_number', in: 'query', param: 'page', start: 1, size: { param: 'limit', value: RAKUTEN_PAGE_SIZE }, stop: { type: 'empty_page' } },
    // A JSON array of transactions (clients); the OpenAPI draws one object, read as a list of one.
    records: { path: [], schema: rakutenTransactionSchema, singleObjectAsList: true },
    fields: {
      clickId: { configField: 'click_id_field' },
      // "a unique ID for each transaction within an order" (one per SKU)
      txid: ['etransaction_id'],
      // "Total base commission generated by this transaction"
      payout: ['commissions'],
      currency: ['currency'],
      occurredAt: { get: ['transaction_date'], format: parseRakutenDate },
      type: returnOrNull,
      // The Events API has no status: its numbers "are meant to serve as an indicator of a
      // transaction occurring, not as a way to determine or calculate commissions".
      status: { get: () => null, map: {}, unknown: 'pending', missing: 'pending' },
      items: transactionsOnly,
    },
  };
}

const utcDateTime = (at: number) => zonedDateTime(new Date(at), 'UTC');

export const rakutenSpec: ConnectorSpec<'conversion', RakutenConfig> = {
  id: 'rakuten',
  name: 'Rakuten Advertising (Events API)',
  kind: 'conversion',
  documentationUrl: EVENTS_DOC,
  maturity: {
    level: 'experimental',
    unconfirmed: [
      'the token exchange (POST /token with the Token Key and scope=<sid>): taken from public clients, the portal page is behind a login',
      'the text of the 403 over the per-minute limit, and the limit itself',
      'how returns appear (negative amounts are read as refunds)',
      'whether commissions are in the record\'s currency (documented for sale_amount)',
    ],
  },
  config: { schema: rakutenConfigSchema, secretFields: ['api_token'], defaultBaseUrl: DEFAULT_BASE_URL },
  // "Authorization: Bearer <access token>"; a 401 "Access Token Expired" exchanges a new one once.
  auth: { type: 'token_exchange', exchange: accessToken, placement: { type: 'bearer' } },
  headers: { Accept: 'application/json' },
  // A per-minute limit, answered with 403; the number is not published. INFERRED.
  rateLimit: { requests: 10, intervalMs: 60_000 },
  // "only collect and store the previous one to two weeks of data": re-reading more finds nothing.
  window: { defaultLookbackDays: 7 },
  streams: [
    transactions('transactions', 'window', 'transaction_date_start', 'transaction_date_end'),
    // Processed in the window whatever their transaction date: batch advertisers report days later.
    transactions('transactions_processed', 'sweep', 'process_date_start', 'process_date_end'),
  ],
  check: {
    documentationUrl: EVENTS_DOC,
    request: {
      method: 'GET',
      path: 'events/1.0/transactions',
      query: { process_date_start: () => utcDateTime(Date.now() - 60_000), process_date_end: () => utcDateTime(Date.now()), limit: 1 },
    },
  },
  classification: [
    {
      name: '401 Access Token Expired',
      status: 401,
      body: (body) => /expired/i.test(typeof body === 'string' ? body : JSON.stringify(body ?? '')),
      then: { kind: 'reauthenticate' },
      hint: 'check api_token and sid; without sid, api_token is an access token, and those expire after about an hour',
      source: 'Rakuten OpenAPI ("Affiliate APIs", every operation): 401 "Access Token Expired"; that the body says so is INFERRED',
      examples: [{ status: 401, body: 'Access Token Expired', expect: 'reauthenticate' }],
    },
    {
      name: '401 refused token or Token Key',
      status: 401,
      then: { kind: 'auth' },
      hint: "check api_token and sid: api_token is the Token Key of your application in Rakuten's developer portal, sid your Site ID",
      source: 'Rakuten OpenAPI (every operation): 401; a 401 that does not say the token expired is taken as refused credentials',
      examples: [{ status: 401, body: '', expect: 'auth' }],
    },
    {
      name: '403 over the per-minute request limit',
      status: 403,
      body: isRakutenRateLimit,
      then: { kind: 'rate_limited', wait: { type: 'retry_after', fallbackMs: 60_000 } },
      source: 'Rakuten OpenAPI (every operation): 403 "The number of requests allowed per minute has been exceeded"; that the body carries this text is INFERRED',
      examples: [{ status: 403, body: 'The number of requests allowed per minute has been exceeded', expect: 'rate_limited' }],
    },
    {
      name: '403 the application may not use this API',
      status: 403,
      body: isRakutenNotSubscribed,
      then: { kind: 'auth' },
      hint: "subscribe your application to the Events API in Rakuten Advertising's developer portal",
      source: 'INFERRED: MeltanoLabs/tap-rakutenadvertising treats a 403 "You cannot consume this service" as a missing subscription',
      examples: [{ status: 403, body: '{"message":"You cannot consume this service"}', expect: 'auth' }],
    },
    {
      name: '403 with any other body',
      status: 403,
      then: { kind: 'auth' },
      hint: "Rakuten also answers its per-minute limit with 403; this body was not recognised as that, so the credentials are taken as refused",
      source: 'Rakuten OpenAPI documents 403 only for the rate limit; an unrecognised 403 is treated as refused credentials so that a broken connection is never silently waiting (INFERRED)',
      examples: [{ status: 403, body: '{"message":"Forbidden"}', expect: 'auth' }],
    },
    {
      name: '400 bad parameters (e.g. dates older than the API keeps)',
      status: 400,
      then: { kind: 'bad_request' },
      hint: 'the Events API keeps one to two weeks of data and refuses dates older than about 30 days',
      source: 'Rakuten OpenAPI (other operations): 400 {"message": …, "error": "REQUEST_PARAM_INVALID"}; the help center\'s Events API limitations',
      examples: [{ status: 400, body: '{"message":"Invalid date","error":"REQUEST_PARAM_INVALID"}', expect: 'bad_request' }],
    },
  ],
  warnings: (config) => [
    "Rakuten's Events API keeps only the last one to two weeks, and its numbers \"are meant to serve as an indicator of a transaction occurring, not as a way to determine or calculate commissions\": its conversions stay pending; reconcile payouts with Rakuten's reconciliation reports",
    ...(config.sid ? [] : ['sid is not set: api_token is sent as the access token itself, and Rakuten access tokens expire after about an hour. Set sid (your Site ID) and api_token to the Token Key to let Tally fetch fresh tokens']),
  ],
};

export const rakutenConnector = defineSpecConnector(rakutenSpec);
