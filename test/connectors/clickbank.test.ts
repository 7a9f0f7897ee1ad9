import { LosslessNumber, stringify } from 'lossless-json';
import nock from 'nock';
import { clickbankConnector, type ClickBankConfig } from '../../connectors/clickbank';
import { createConnectorContext } from '../../connectors/kit/context';
import { ConnectorResponseError, ConnectorTransientError } from '../../connectors/kit/errors';
import type { PullWindow } from '../../connectors/kit/types';
import { collect, CONTRACT_WINDOW, describeConnectorContract, input, type ConnectorFixture, type RecordInput } from './contract';

/**
 * ClickBank Orders API, as documented at https://support.clickbank.com/en/articles/10535407-orders-api
 * (GET /1.3/orders2/list: startDate/endDate yyyy-mm-dd, role, 100 rows a page, request header `Page`,
 * 206 while more follow), https://support.clickbank.com/hc/en-us/articles/360040167052-ClickBank-API-Specifications
 * (`Authorization: <API key>`, 403 for bad credentials) and the OpenClickBank spec and notes
 * (https://github.com/OcelliSolutions/OpenClickBank: OrderData/LineItemData fields, errors as plain
 * text, lists of one as objects, nil values as objects).
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
  replyRateLimited(scope, window) {
    // ClickBank documents no 429 (OpenClickBank's notes say it answers 403 when over its limits);
    // this exercises the generic 429 + Retry-After path.
    listRequest(scope, window, 1).reply(429, 'Too Many Requests', { 'Retry-After': '1' });
  },
  replyServerError(scope, window) {
    listRequest(scope, window, 1).reply(503, 'Service Unavailable');
  },
  replyBodyError(scope, window, times) {
    // No 200-with-error is documented; ClickBank's errors are plain text, so that is the shape used.
    listRequest(scope, window, 1).times(times).reply(200, 'An unexpected error occurred. Please try again later.', { 'Content-Type': 'text/plain' });
  },
  bodyErrorClass: ConnectorTransientError,
  replyUnauthorized(scope, window) {
    // "will return a 403 [Forbidden] status code if accessed without the right credentials"
    scope.get(LIST).query(coversWindow(window)).reply(403, 'Forbidden', { 'Content-Type': 'text/plain' });
  },
  replyCheck(scope) {
    scope.get('/rest/1.3/orders2/count').query((query) => query.role === 'AFFILIATE' && query.startDate !== undefined && query.endDate !== undefined).matchHeader('authorization', API_KEY).reply(200, '0', { 'Content-Type': 'text/plain' });
  },
  replyCheckUnauthorized(scope) {
    scope.get('/rest/1.3/orders2/count').query(true).reply(403, 'Forbidden', { 'Content-Type': 'text/plain' });
  },
};

describeConnectorContract(fixture);

// Unpatch node's http once this file is done, so the next file in the worker starts clean.
afterAll(() => nock.restore());

describe('ClickBank specifics', () => {
  const baseUrl = 'https://clickbank.api.test';
  const context = () => createConnectorContext(clickbankConnector, clickbankConnector.configSchema.parse({ api_key: API_KEY, base_url: baseUrl }), { retries: 3, baseDelayMs: 10 });
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
});
