import { LosslessNumber, stringify } from 'lossless-json';
import nock from 'nock';
import { clickbankConnector, type ClickBankConfig } from '../../connectors/clickbank';
import { createConnectorContext } from '../../connectors/kit/context';
import { ConnectorAuthError, ConnectorRateLimitError, ConnectorResponseError } from '../../connectors/kit/errors';
import { MemoryQuotaBudget, nextQuotaReset } from '../../connectors/kit/quota';
import type { PullWindow } from '../../connectors/kit/types';
import { collect, CONTRACT_WINDOW, countRequests, describeConnectorContract, input, type ConnectorFixture, type RecordInput } from './contract';

/**
 * Fixture: ClickBank's Orders API, built from
 * - https://api.clickbank.com/rest/1.3/orders2 (GET /1.3/orders2/list: startDate/endDate
 *   yyyy-mm-dd, role, "Only the first 100 orders will be returned", request header `Page`, 200 /
 *   206 Partial Content → OrderList, 403 Forbidden → string), as reproduced in the OpenClickBank spec;
 * - https://github.com/OcelliSolutions/OpenClickBank (OrderData/LineItemData field names; notes:
 *   `Authorization: <key>` without a scheme, 403 over the 25,000-a-day quota, errors as plain
 *   text, lists of one as objects, nil values as objects).
 * ClickBank publishes no example response: every value below is INFERRED from those field lists.
 */

const API_KEY = 'API-9870acb8d96f8bd18c2eb70725b01fe4b98ece58';
const LIST = '/rest/1.3/orders2/list';
const JSON_HEADERS = { 'Content-Type': 'application/json' };
const HOUR_MS = 3_600_000;

/** startDate/endDate are whole days in a zone ClickBank does not state: they must cover the window in every zone. */
function coversWindow(window: PullWindow) {
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return (query: Record<string, unknown>): boolean =>
    query.role === 'AFFILIATE' &&
    /^\d{4}-\d{2}-\d{2}$/.test(String(query.startDate)) &&
    /^\d{4}-\d{2}-\d{2}$/.test(String(query.endDate)) &&
    String(query.startDate) <= day(window.from.getTime() - 12 * HOUR_MS) &&
    String(query.endDate) >= day(window.to.getTime() - 1 + 14 * HOUR_MS);
}

function listRequest(scope: nock.Scope, window: PullWindow, page: number): nock.Interceptor {
  return scope
    .get(LIST)
    .query(coversWindow(window))
    .matchHeader('authorization', API_KEY)
    .matchHeader('accept', 'application/json')
    .matchHeader('page', (value: string | undefined) => (page === 1 ? value === undefined || value === '1' : value === String(page)));
}

const TRANSACTION_TYPES: Readonly<Record<string, string>> = { sale: 'SALE', rebill: 'BILL', refund: 'RFND', chargeback: 'CGBK' };

/** ClickBank writes transaction times with an offset (Pacific); daylight time here. */
function pacific(date: Date): string {
  return `${new Date(date.getTime() - 7 * HOUR_MS).toISOString().slice(0, 19)}-07:00`;
}

function record(order: RecordInput): Record<string, unknown> {
  if (order.status !== 'approved') throw new Error('ClickBank rows have no status: every transaction is approved');
  return {
    transactionTime: pacific(order.occurredAt),
    receipt: order.txid,
    trackingId: order.clickId ?? '',
    paytmentMethod: 'VISA',
    transactionType: TRANSACTION_TYPES[order.type ?? 'sale'],
    totalOrderAmount: '49.99',
    totalShippingAmount: '0.00',
    totalTaxAmount: '0.00',
    vendor: 'acmevend',
    affiliate: 'myaffid',
    country: 'US',
    currency: order.currency,
    role: 'AFFILIATE',
    lineItemData: [
      {
        itemNo: '1',
        productTitle: 'Widget',
        recurring: false,
        shippable: false,
        customerAmount: '49.99',
        ...(order.payout === null ? {} : { accountAmount: order.payout }),
        quantity: '1',
        lineItemType: 'ORIGINAL',
      },
    ],
  };
}

function txidOf(order: RecordInput): string {
  const type = TRANSACTION_TYPES[order.type ?? 'sale'];
  return type === 'SALE' ? `${order.txid}:SALE:1` : `${order.txid}:${type}:1:${order.occurredAt.getTime() / 1000}`;
}

function body(orders: readonly unknown[]): string {
  return stringify({ orderData: orders }) ?? '';
}

const sale = input({ txid: 'ABCD1234', payout: '31.12' });
const fixture: ConnectorFixture<ClickBankConfig> = {
  connector: clickbankConnector,
  config: (baseUrl) => ({ api_key: API_KEY, base_url: baseUrl }),
  record,
  txidOf,
  // ClickBank has no status: the network's word for a row is its transaction type.
  networkStatusOf: (order) => TRANSACTION_TYPES[order.type ?? 'sale'] ?? null,
  defaultType: 'sale',
  // ClickBank never changes a row: a refund or chargeback is a new row for the same receipt.
  lateChanges: [
    { name: 'the sale, then a refund row for its receipt', before: [sale], after: [sale, input({ txid: 'ABCD1234', type: 'refund', payout: '-31.12', occurredAt: new Date(CONTRACT_WINDOW.from.getTime() + 2 * 86_400_000) })] },
    { name: 'the sale, then a chargeback row for its receipt', before: [sale], after: [sale, input({ txid: 'ABCD1234', type: 'chargeback', payout: '-31.12', occurredAt: new Date(CONTRACT_WINDOW.from.getTime() + 3 * 86_400_000) })] },
  ],
  servePages(scope, window, pages) {
    pages.forEach((orders, index) => {
      listRequest(scope, window, index + 1).reply(index < pages.length - 1 ? 206 : 200, body(orders), JSON_HEADERS);
    });
  },
  firstRequest: (scope, window) => listRequest(scope, window, 1),
  // GET /1.3/orders2/count answers a number.
  checkRequest: (scope) => scope.get('/rest/1.3/orders2/count').query((query) => query.role === 'AFFILIATE' && query.startDate !== undefined && query.endDate !== undefined).matchHeader('authorization', API_KEY),
  checkBody: '0',
};

describeConnectorContract(fixture);

// Unpatch node's http once this file is done, so the next file in the worker starts clean.
afterAll(() => nock.restore());

describe('ClickBank specifics', () => {
  const baseUrl = 'https://clickbank.api.test';
  const context = (quota?: MemoryQuotaBudget) => createConnectorContext(clickbankConnector, clickbankConnector.configSchema.parse({ api_key: API_KEY, base_url: baseUrl }), { retries: 3, baseDelayMs: 10, quota });
  const quotaSpec = clickbankConnector.http(clickbankConnector.configSchema.parse({ api_key: API_KEY })).quota!;
  const pull = async (window: PullWindow = CONTRACT_WINDOW) => (await collect(clickbankConnector, context(), window)).flat();
  let scope: nock.Scope;
  beforeAll(() => nock.disableNetConnect());
  beforeEach(() => {
    scope = nock(baseUrl);
  });
  afterEach(() => nock.cleanAll());
  afterAll(() => nock.enableNetConnect());

  test('206 asks for the next page with the request header Page: 2; 200 ends it', async () => {
    const pages: (string | undefined)[] = [];
    scope.on('request', (request: { headers: Record<string, string | undefined> }) => pages.push(request.headers.page));
    fixture.servePages(scope, CONTRACT_WINDOW, [[record(input({ txid: 'R1' }))], [record(input({ txid: 'R2' }))]]);
    const pulled = await collect(clickbankConnector, context(), CONTRACT_WINDOW);
    expect(pulled.map((page) => page.map((c) => c.txid))).toEqual([['R1:SALE:1'], ['R2:SALE:1']]);
    expect(pages).toEqual([undefined, '2']);
    expect(scope.isDone()).toBe(true);
  });

  test('a null body or a 204 means no orders', async () => {
    listRequest(scope, CONTRACT_WINDOW, 1).reply(200, 'null', JSON_HEADERS);
    expect(await pull()).toEqual([]);
    listRequest(scope, CONTRACT_WINDOW, 1).reply(204);
    expect(await pull()).toEqual([]);
    expect(scope.isDone()).toBe(true);
  });

  test('orderData and lineItemData may each be a single object', async () => {
    const order = { ...record(input({ txid: 'SINGLE', payout: '7.00' })), lineItemData: { itemNo: '1', accountAmount: '7.00', lineItemType: 'ORIGINAL' } };
    listRequest(scope, CONTRACT_WINDOW, 1).reply(200, stringify({ orderData: order }) ?? '', JSON_HEADERS);
    expect((await pull()).map((c) => [c.txid, c.payout])).toEqual([['SINGLE:SALE:1', '7.00']]);
  });

  test('SALE, RFND and CGBK rows of one receipt are distinct conversions with their own types', async () => {
    const when = (hours: number) => new Date(CONTRACT_WINDOW.from.getTime() + hours * HOUR_MS);
    const rows = [
      record(input({ txid: 'RCPT9', payout: '31.12', occurredAt: when(1) })),
      record(input({ txid: 'RCPT9', type: 'rebill', payout: '20.00', occurredAt: when(30) })),
      record(input({ txid: 'RCPT9', type: 'refund', payout: '-20.00', occurredAt: when(40) })),
      record(input({ txid: 'RCPT9', type: 'chargeback', payout: '-31.12', occurredAt: when(50) })),
    ];
    listRequest(scope, CONTRACT_WINDOW, 1).reply(200, body(rows), JSON_HEADERS);
    const pulled = await pull();
    expect(pulled.map((c) => [c.txid, c.type, c.payout])).toEqual([
      ['RCPT9:SALE:1', 'sale', '31.12'],
      [`RCPT9:BILL:1:${when(30).getTime() / 1000}`, 'rebill', '20.00'],
      [`RCPT9:RFND:1:${when(40).getTime() / 1000}`, 'refund', '-20.00'],
      [`RCPT9:CGBK:1:${when(50).getTime() / 1000}`, 'chargeback', '-31.12'],
    ]);
    expect(new Set(pulled.map((c) => c.txid)).size).toBe(4);
  });

  test('a cart with two line items gives one conversion per line item, each with its own amount', async () => {
    const order = {
      ...record(input({ txid: 'CART1' })),
      lineItemData: [
        { itemNo: '1', accountAmount: '30.00', lineItemType: 'ORIGINAL' },
        { itemNo: '2', accountAmount: '5.55', lineItemType: 'BUMP' },
      ],
    };
    listRequest(scope, CONTRACT_WINDOW, 1).reply(200, body([order]), JSON_HEADERS);
    expect((await pull()).map((c) => [c.txid, c.payout])).toEqual([
      ['CART1:SALE:1', '30.00'],
      ['CART1:SALE:2', '5.55'],
    ]);
  });

  test('the tid keeps the case ClickBank reports (the pipeline matches case-insensitively)', async () => {
    listRequest(scope, CONTRACT_WINDOW, 1).reply(200, body([record(input({ txid: 'UP1', clickId: 'CFC3X9K2M8Q7W' }))]), JSON_HEADERS);
    expect((await pull()).map((c) => c.click_id)).toEqual(['CFC3X9K2M8Q7W']);
  });

  test('nil values (objects of attributes) are null; FEE and TEST_ rows are not conversions', async () => {
    const nil = { '@nil': 'true' };
    const rows = [
      { ...record(input({ txid: 'NIL1' })), trackingId: nil, lineItemData: [{ itemNo: '1', accountAmount: nil }] },
      { ...record(input({ txid: 'FEE1' })), transactionType: 'FEE' },
      { ...record(input({ txid: 'TEST1' })), transactionType: 'TEST_SALE' },
    ];
    listRequest(scope, CONTRACT_WINDOW, 1).reply(200, body(rows), JSON_HEADERS);
    expect((await pull()).map((c) => [c.txid, c.click_id, c.payout])).toEqual([['NIL1:SALE:1', null, null]]);
  });

  test('amounts sent as JSON numbers stay exact', async () => {
    const order = { ...record(input({ txid: 'NUM1' })), lineItemData: [{ itemNo: 1, accountAmount: new LosslessNumber('31.10') }, { itemNo: 2, accountAmount: new LosslessNumber('40') }] };
    listRequest(scope, CONTRACT_WINDOW, 1).reply(200, body([order]), JSON_HEADERS);
    expect((await pull()).map((c) => [c.txid, c.payout])).toEqual([
      ['NUM1:SALE:1', '31.10'],
      ['NUM1:SALE:2', '40'],
    ]);
  });

  test('transactionTime in UTC ("Z") is read as well', async () => {
    const order = { ...record(input({ txid: 'UTC1' })), transactionTime: '2024-11-02T03:04:05Z' };
    listRequest(scope, CONTRACT_WINDOW, 1).reply(200, body([order]), JSON_HEADERS);
    expect((await pull()).map((c) => c.occurred_at.toISOString())).toEqual(['2024-11-02T03:04:05.000Z']);
  });

  test('a row without a receipt is a readable response error', async () => {
    const { receipt: _receipt, ...order } = record(input({ txid: 'X' }));
    listRequest(scope, CONTRACT_WINDOW, 1).reply(200, body([order]), JSON_HEADERS);
    await expect(pull()).rejects.toThrow(ConnectorResponseError);
  });

  test('every request counts against the daily budget; a spent budget stops before the request', async () => {
    const budget = new MemoryQuotaBudget({ ...quotaSpec, requestsPerDay: 1 });
    listRequest(scope, CONTRACT_WINDOW, 1).reply(206, body([record(input({ txid: 'Q1' }))]), JSON_HEADERS);
    const requests = countRequests(scope);
    const failure = collect(clickbankConnector, context(budget), CONTRACT_WINDOW);
    await expect(failure).rejects.toBeInstanceOf(ConnectorRateLimitError);
    await expect(failure).rejects.toThrow(/daily API quota.*shared by every app/);
    expect(requests.count).toBe(1);
  });

  test('a 403 after a success since the quota reset waits for the reset and stops every later call', async () => {
    const budget = new MemoryQuotaBudget(quotaSpec);
    listRequest(scope, CONTRACT_WINDOW, 1).reply(206, body([record(input({ txid: 'OK1' }))]), JSON_HEADERS);
    listRequest(scope, CONTRACT_WINDOW, 2).reply(403, 'Forbidden', { 'Content-Type': 'text/plain' });
    const requests = countRequests(scope);
    const failure = collect(clickbankConnector, context(budget), CONTRACT_WINDOW);
    const error = await failure.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorRateLimitError);
    const resetIn = nextQuotaReset(quotaSpec, new Date()).getTime() - Date.now();
    expect((error as ConnectorRateLimitError).retryAfterMs).toBeGreaterThan(resetIn - 60_000);
    expect((error as ConnectorRateLimitError).retryAfterMs).toBeLessThanOrEqual(resetIn + 1000);
    expect(requests.count).toBe(2);
    // The budget now refuses until the reset, without asking ClickBank.
    await expect(budget.take()).resolves.toEqual({ ok: false, resetAt: nextQuotaReset(quotaSpec, new Date()) });
  });

  test('a 403 on a connection that has not worked since the quota reset is refused credentials', async () => {
    listRequest(scope, CONTRACT_WINDOW, 1).reply(403, 'Forbidden', { 'Content-Type': 'text/plain' });
    await expect(collect(clickbankConnector, context(new MemoryQuotaBudget(quotaSpec)), CONTRACT_WINDOW)).rejects.toBeInstanceOf(ConnectorAuthError);
  });
});
