import { LosslessNumber, stringify } from 'lossless-json';
import nock from 'nock';
import { createConnectorContext } from '../../connectors/kit/context';
import { ConnectorAuthError, ConnectorRateLimitError } from '../../connectors/kit/errors';
import type { PullWindow } from '../../connectors/kit/types';
import { rakutenConnector, type RakutenConfig } from '../../connectors/rakuten';
import { parseRakutenDate } from '../../connectors/rakuten/schema';
import { collect, CONTRACT_WINDOW, countRequests, describeConnectorContract, input, useNockScope, type ConnectorFixture, type RecordInput } from './contract';

/**
 * Fixture: Rakuten Advertising's Events API, built from
 * - Rakuten's OpenAPI ("Affiliate APIs" 1.0.0, server https://api.linksynergy.com, vendored in
 *   MeltanoLabs/tap-rakutenadvertising openapi.json): `GET /events/1.0/transactions` with
 *   process_date_* / transaction_date_* ("YYYY-MM-DD HH:mm:ss"), page and limit; the
 *   `eventsAPIResponse` example (etransaction_id "61BCF6217AE356AE46E8A0D64BCD693D", advertiser_id
 *   3358, sid 112, order_id, offer_id 185078, sku_number "enp_health", sale_amount 0.01, quantity
 *   1, commissions 0, process_date "Wed Apr 15 2020 21:20:27 GMT+0000 (UTC)", transaction_date,
 *   transaction_type "realtime", product_name, u1, currency "USD", is_event "N",
 *   commissions_list_id ""); 401 "Access Token Expired"; 403 "The number of requests allowed per
 *   minute has been exceeded".
 * - https://ro.scribd.com/document/454144823/EventsAPI-March2019-pdf (Rakuten's technical
 *   documentation, March 2019): `limit=1000&page=1&process_date_start=2014-04-30%2002:18:36`, read
 *   as GMT+0000.
 * - The body is a JSON array of such objects (MeltanoLabs' client reads `$[*]`); that a page past
 *   the last is an empty array is INFERRED. The token exchange (POST /token, the Token Key as
 *   bearer, `scope=<sid>`; `access_token`, `expires_in`) follows public client code; its answer's
 *   values are INFERRED. The text bodies of 401 and 403 are INFERRED from the descriptions.
 */

const SID = '112';
const TOKEN_KEY = 'cmFrdXRlbi1jbGllbnQtaWQ6cmFrdXRlbi1zZWNyZXQ=';
const ACCESS = 'rakuten-access-token-1';
const PATH = '/events/1.0/transactions';
const JSON_HEADERS = { 'Content-Type': 'application/json' };

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** `Wed Apr 15 2020 21:20:19 GMT+0000 (UTC)` */
function rakutenDate(at: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${DAYS[at.getUTCDay()]} ${MONTHS[at.getUTCMonth()]} ${pad(at.getUTCDate())} ${at.getUTCFullYear()} ${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())} GMT+0000 (UTC)`;
}

function record(transaction: RecordInput, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  if (transaction.type !== undefined && transaction.type !== 'refund') throw new Error('the rakuten fixture knows transactions and returns only');
  return {
    etransaction_id: transaction.txid,
    advertiser_id: 3358,
    sid: 112,
    order_id: 'e844ae50-7f5e-11ea-a4a0-fa163e91617b',
    offer_id: 185078,
    sku_number: 'enp_health',
    sale_amount: new LosslessNumber(transaction.type === 'refund' ? '-45.00' : '45.00'),
    quantity: 1,
    commissions: transaction.payout === null ? null : new LosslessNumber(transaction.payout),
    process_date: rakutenDate(new Date(transaction.occurredAt.getTime() + 8_000)),
    transaction_date: rakutenDate(transaction.occurredAt),
    transaction_type: 'realtime',
    product_name: 'enp_heartbeat',
    ...(transaction.clickId === null ? {} : { u1: transaction.clickId }),
    currency: transaction.currency,
    is_event: 'N',
    commissions_list_id: '',
    ...overrides,
  };
}
const body = (records: readonly unknown[]) => stringify(records) ?? '[]';

/** The filter values of `window`: its start and its last second, in UTC. */
function filter(window: PullWindow, from: string, to: string): Record<string, string> {
  const format = (at: number) => new Date(at).toISOString().slice(0, 19).replace('T', ' ');
  return { [from]: format(window.from.getTime()), [to]: format(window.to.getTime() - 1000) };
}
const page = (window: PullWindow, from: string, to: string, number: number) => ({ ...filter(window, from, to), page: String(number), limit: '1000' });
const get = (scope: nock.Scope, query: Record<string, string>, token = ACCESS) => scope.get(PATH).query(query).matchHeader('authorization', `Bearer ${token}`);


const fixture: ConnectorFixture<RakutenConfig> = {
  connector: rakutenConnector,
  // Without sid: api_token is the access token itself (no exchange requests); the exchange is tested below.
  config: (baseUrl) => ({ api_token: ACCESS, base_url: baseUrl }),
  record: (transaction) => record(transaction),
  txidOf: (transaction) => transaction.txid,
  networkStatusOf: () => null,
  defaultType: null,
  // The API reports no status: every transaction is pending.
  statusOf: () => 'pending',
  lateChanges: [
    { name: 'the base commission changes', before: [input({ txid: '61BCF6217AE356AE46E8A0D64BCD693D', payout: '4.50' })], after: [input({ txid: '61BCF6217AE356AE46E8A0D64BCD693D', payout: '3.75' })] },
  ],
  servePages(scope, window, pages) {
    pages.forEach((records, index) => get(scope, page(window, 'transaction_date_start', 'transaction_date_end', index + 1)).reply(200, body(records), JSON_HEADERS));
    get(scope, page(window, 'transaction_date_start', 'transaction_date_end', pages.length + 1)).reply(200, '[]', JSON_HEADERS);
    get(scope, page(window, 'process_date_start', 'process_date_end', 1)).reply(200, '[]', JSON_HEADERS);
  },
  firstRequest: (scope, window) => get(scope, page(window, 'transaction_date_start', 'transaction_date_end', 1)),
  checkRequest: (scope) => scope.get(PATH).query((query) => query.limit === '1' && /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(String(query.process_date_start))).matchHeader('authorization', `Bearer ${ACCESS}`),
  checkBody: '[]',
};

describeConnectorContract(fixture);

afterAll(() => nock.restore());

describe('Rakuten specifics', () => {
  const baseUrl = 'https://rakuten.api.test';
  const context = (config: Partial<RakutenConfig> = {}, options: { sleep?: (ms: number) => Promise<void>; maxRetryAfterMs?: number } = {}) =>
    createConnectorContext(rakutenConnector, rakutenConnector.configSchema.parse({ api_token: TOKEN_KEY, sid: SID, base_url: baseUrl, ...config }), { retries: 2, baseDelayMs: 1, ...options });
  const freshScope = useNockScope(baseUrl);
  let scope: nock.Scope;
  beforeEach(() => (scope = freshScope()));

  const token = (access: string) =>
    scope
      .post('/token', 'scope=112')
      .matchHeader('authorization', `Bearer ${TOKEN_KEY}`)
      .matchHeader('content-type', /application\/x-www-form-urlencoded/)
      .reply(200, { token_type: 'bearer', refresh_token: 'rakuten-refresh-token', access_token: access, expires_in: 3600 }, JSON_HEADERS);
  const serveEmpty = (access: string) => {
    get(scope, page(CONTRACT_WINDOW, 'transaction_date_start', 'transaction_date_end', 1), access).reply(200, '[]', JSON_HEADERS);
    get(scope, page(CONTRACT_WINDOW, 'process_date_start', 'process_date_end', 1), access).reply(200, '[]', JSON_HEADERS);
  };

  test('token exchange: the Token Key and scope=<sid> buy an access token, used as bearer on every request', async () => {
    token(ACCESS);
    get(scope, page(CONTRACT_WINDOW, 'transaction_date_start', 'transaction_date_end', 1)).reply(200, body([record(input({ txid: 'T1' }))]), JSON_HEADERS);
    get(scope, page(CONTRACT_WINDOW, 'transaction_date_start', 'transaction_date_end', 2)).reply(200, '[]', JSON_HEADERS);
    get(scope, page(CONTRACT_WINDOW, 'process_date_start', 'process_date_end', 1)).reply(200, '[]', JSON_HEADERS);
    const pulled = (await collect(rakutenConnector, context(), CONTRACT_WINDOW)).flat();
    expect(pulled.map((c) => c.txid)).toEqual(['T1']);
    expect(scope.isDone()).toBe(true);
  });

  test('401 Access Token Expired mid-pull: one fresh token, then on; a second 401 is an auth failure', async () => {
    token(ACCESS);
    get(scope, page(CONTRACT_WINDOW, 'transaction_date_start', 'transaction_date_end', 1)).reply(401, 'Access Token Expired');
    token('rakuten-access-token-2');
    serveEmpty('rakuten-access-token-2');
    await collect(rakutenConnector, context(), CONTRACT_WINDOW);
    expect(scope.isDone()).toBe(true);

    token(ACCESS);
    get(scope, page(CONTRACT_WINDOW, 'transaction_date_start', 'transaction_date_end', 1)).reply(401, 'Access Token Expired');
    token('rakuten-access-token-3');
    get(scope, page(CONTRACT_WINDOW, 'transaction_date_start', 'transaction_date_end', 1), 'rakuten-access-token-3').reply(401, 'Access Token Expired');
    await expect(collect(rakutenConnector, context(), CONTRACT_WINDOW)).rejects.toBeInstanceOf(ConnectorAuthError);
  });

  test('a refused Token Key at /token is an auth failure that names sid and api_token, without the key', async () => {
    scope.post('/token').reply(401, `invalid client ${TOKEN_KEY}`);
    const error = (await collect(rakutenConnector, context(), CONTRACT_WINDOW).catch((caught: unknown) => caught)) as Error;
    expect(error).toBeInstanceOf(ConnectorAuthError);
    expect(error.message).toMatch(/check api_token and sid/);
    expect(error.message).not.toContain(TOKEN_KEY);
  });

  test('403 over the per-minute limit waits a minute and goes on; a 403 with another body is an auth failure', async () => {
    const waits: number[] = [];
    token(ACCESS);
    get(scope, page(CONTRACT_WINDOW, 'transaction_date_start', 'transaction_date_end', 1)).reply(403, 'The number of requests allowed per minute has been exceeded');
    serveEmpty(ACCESS);
    await collect(rakutenConnector, context({}, { sleep: async (ms) => void waits.push(ms), maxRetryAfterMs: 120_000 }), CONTRACT_WINDOW);
    expect(waits).toEqual([60_000]);
    expect(scope.isDone()).toBe(true);

    // Over a job's patience: a rate-limit error (the job is delayed, the connection stays healthy).
    token(ACCESS);
    get(scope, page(CONTRACT_WINDOW, 'transaction_date_start', 'transaction_date_end', 1)).reply(403, '{"message":"The number of requests allowed per minute has been exceeded"}', JSON_HEADERS);
    await expect(collect(rakutenConnector, context({}, { maxRetryAfterMs: 0 }), CONTRACT_WINDOW)).rejects.toBeInstanceOf(ConnectorRateLimitError);

    token(ACCESS);
    get(scope, page(CONTRACT_WINDOW, 'transaction_date_start', 'transaction_date_end', 1)).reply(403, '{"message":"You cannot consume this service"}', JSON_HEADERS);
    const requests = countRequests(scope);
    await expect(collect(rakutenConnector, context(), CONTRACT_WINDOW)).rejects.toThrow(/subscribe your application to the Events API/);
    expect(requests.count).toBe(2);
  });

  test('the documented example: u1 the click, commissions the payout (0), pending with no network status; events are not conversions', async () => {
    const window = { from: new Date('2020-04-15T00:00:00Z'), to: new Date('2020-04-16T00:00:00Z') };
    const example = {
      etransaction_id: '61BCF6217AE356AE46E8A0D64BCD693D', advertiser_id: 3358, sid: 112, order_id: 'e844ae50-7f5e-11ea-a4a0-fa163e91617b', offer_id: 185078,
      sku_number: 'enp_health', sale_amount: new LosslessNumber('0.01'), quantity: 1, commissions: 0, process_date: 'Wed Apr 15 2020 21:20:27 GMT+0000 (UTC)',
      transaction_date: 'Wed Apr 15 2020 21:20:19 GMT+0000 (UTC)', transaction_type: 'realtime', product_name: 'enp_heartbeat',
      u1: 'e844ae50-7f5e-11ea-a4a0-fa163e91617b', currency: 'USD', is_event: 'N', commissions_list_id: '',
    };
    const event = { ...example, etransaction_id: '61BCF6217AE356AE46E8A0D64BCD6940', is_event: 'Y' };
    token(ACCESS);
    get(scope, page(window, 'transaction_date_start', 'transaction_date_end', 1)).reply(200, body([example, event]), JSON_HEADERS);
    get(scope, page(window, 'transaction_date_start', 'transaction_date_end', 2)).reply(200, '[]', JSON_HEADERS);
    get(scope, page(window, 'process_date_start', 'process_date_end', 1)).reply(200, '[]', JSON_HEADERS);
    const pulled = (await collect(rakutenConnector, context(), window)).flat();
    expect(pulled).toHaveLength(1);
    expect(pulled[0]).toMatchObject({ txid: '61BCF6217AE356AE46E8A0D64BCD693D', click_id: 'e844ae50-7f5e-11ea-a4a0-fa163e91617b', payout: '0', currency: 'USD', status: 'pending', network_status: null, type: null });
    expect(pulled[0]?.occurred_at.toISOString()).toBe('2020-04-15T21:20:19.000Z');
  });

  test('a return (negative amounts) is a refund; the process-date sweep brings transactions reported late', async () => {
    const late = record(input({ txid: 'LATE', occurredAt: new Date('2024-10-20T10:00:00Z') }));
    const returned = record(input({ txid: 'RET', payout: '-4.50', type: 'refund' }));
    token(ACCESS);
    get(scope, page(CONTRACT_WINDOW, 'transaction_date_start', 'transaction_date_end', 1)).reply(200, body([returned]), JSON_HEADERS);
    get(scope, page(CONTRACT_WINDOW, 'transaction_date_start', 'transaction_date_end', 2)).reply(200, '[]', JSON_HEADERS);
    get(scope, page(CONTRACT_WINDOW, 'process_date_start', 'process_date_end', 1)).reply(200, body([late, returned]), JSON_HEADERS);
    get(scope, page(CONTRACT_WINDOW, 'process_date_start', 'process_date_end', 2)).reply(200, '[]', JSON_HEADERS);
    const pulled = (await collect(rakutenConnector, context(), CONTRACT_WINDOW)).flat();
    expect(pulled.map((c) => [c.txid, c.type, c.payout])).toEqual([['RET', 'refund', '-4.50'], ['LATE', null, '12.50']]);
  });

  test('dates: the documented format with its offset; anything else is a readable error', () => {
    expect(parseRakutenDate('Wed Apr 15 2020 21:20:27 GMT+0000 (UTC)').toISOString()).toBe('2020-04-15T21:20:27.000Z');
    expect(parseRakutenDate('Wed Apr 15 2020 23:20:27 GMT+0200').toISOString()).toBe('2020-04-15T21:20:27.000Z');
    expect(() => parseRakutenDate('2020-04-15 21:20:27')).toThrow(/EEE MMM DD YYYY/);
  });

  test('warnings: the Events API is an indicator; without sid the access token expires', () => {
    expect(rakutenConnector.warnings(rakutenConnector.configSchema.parse({ api_token: TOKEN_KEY, sid: SID }))).toEqual([expect.stringMatching(/indicator/)]);
    expect(rakutenConnector.warnings(rakutenConnector.configSchema.parse({ api_token: ACCESS }))).toEqual([expect.stringMatching(/indicator/), expect.stringMatching(/sid is not set/)]);
  });
});
