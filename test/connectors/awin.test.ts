import { LosslessNumber, stringify } from 'lossless-json';
import nock from 'nock';
import { AWIN_MAX_DAYS, awinConnector, type AwinConfig } from '../../connectors/awin';
import { createConnectorContext } from '../../connectors/kit/context';
import type { PullWindow } from '../../connectors/kit/types';
import { collect, CONTRACT_WINDOW, useNockScope, countRequests, describeConnectorContract, input, type ConnectorFixture, type RecordInput } from './contract';

/**
 * Fixture: Awin's publisher `GET /publishers/{publisherId}/transactions/`, built from
 * https://help.awin.com/apidocs/returns-a-list-of-transactions-for-a-given-publisher (the
 * parameters: startDate/endDate `yyyy-MM-ddThh:mm:ss`, timezone, dateType transaction | validation |
 * amendment, status values pending/approved/declined/deleted, 31 days at most; Bearer token) and
 * its example transaction as published on wiki.awin.com (API_get_transactions_list, 2017) and
 * success.awin.com: id 259630312, advertiserId 7052, publisherId 189069, commissionStatus,
 * commissionAmount/saleAmount {amount, currency}, clickRefs {clickRef..clickRef6}, clickDate,
 * transactionDate "2017-02-20T22:04:00", validationDate, type "Commission group transaction",
 * declineReason, amended, amendReason, oldSaleAmount, oldCommissionAmount, orderRef,
 * customParameters, transactionParts, paidToPublisher, paymentId, transactionQueryId,
 * originalSaleAmount (the documentation's own missing commas fixed). The answer is a plain array.
 * Awin does not page: a window is one request per date type, so a fixture's second and third
 * "pages" are served as the validation and amendment answers.
 * INFERRED (as in connectors/awin/README.md):
 * - that endDate includes its last second, so a request ends at window.to − 1 s (from the
 *   documentation's example end `…T01:59:59`; the page does not say);
 * - that transactionDate (and the answer's other date-times) are written in the requested
 *   `timezone`, UTC here, without an offset (the example shows no zone).
 */

const PUBLISHER = 189069;
const TOKEN = 'awin-user-token-0123';
const PATH = `/publishers/${PUBLISHER}/transactions/`;
const JSON_HEADERS = { 'Content-Type': 'application/json' };
const DATE_TYPES = ['transaction', 'validation', 'amendment'] as const;

const STATUSES: Readonly<Record<RecordInput['status'], string>> = { approved: 'approved', pending: 'pending', declined: 'declined' };

const seconds = (at: Date) => at.toISOString().slice(0, 19);
const amount = (value: string | null) => (value === null ? null : new LosslessNumber(value));

function record(transaction: RecordInput, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  if (transaction.type !== undefined) throw new Error('Awin transactions carry no conversion type');
  return {
    id: /^\d+$/.test(transaction.txid) ? new LosslessNumber(transaction.txid) : transaction.txid,
    url: 'http://www.publisher.com',
    advertiserId: 7052,
    publisherId: PUBLISHER,
    siteName: 'Publisher',
    commissionStatus: STATUSES[transaction.status],
    commissionAmount: { amount: amount(transaction.payout), currency: transaction.currency },
    saleAmount: { amount: amount('55.96'), currency: transaction.currency },
    clickRefs: transaction.clickId === null ? { clickRef2: '22222' } : { clickRef: transaction.clickId, clickRef2: '22222' },
    clickDate: seconds(new Date(transaction.occurredAt.getTime() - 3_600_000)),
    transactionDate: seconds(transaction.occurredAt),
    validationDate: null,
    type: 'Commission group transaction',
    declineReason: null,
    voucherCodeUsed: false,
    lapseTime: 2454307,
    amended: false,
    amendReason: null,
    oldSaleAmount: null,
    oldCommissionAmount: null,
    clickDevice: 'Windows',
    transactionDevice: 'Windows',
    publisherUrl: 'http://www.publisher.com/search?query=dvds',
    advertiserCountry: 'GB',
    orderRef: '111222333444',
    customParameters: [{ key: '1', value: '555666' }],
    transactionParts: [{ commissionGroupId: 12345, amount: amount('44.76') }],
    paidToPublisher: false,
    paymentId: 0,
    transactionQueryId: 0,
    originalSaleAmount: null,
    ...overrides,
  };
}

/** The documented request of one date type over a window (31 days at most, the end second included). */
function windowQuery(window: PullWindow, dateType: (typeof DATE_TYPES)[number]): Record<string, string> {
  return { startDate: seconds(window.from), endDate: seconds(new Date(window.to.getTime() - 1000)), timezone: 'UTC', dateType };
}

const body = (rows: readonly unknown[]) => stringify(rows) ?? '[]';

const fixture: ConnectorFixture<AwinConfig> = {
  connector: awinConnector,
  config: (baseUrl) => ({ publisher_id: String(PUBLISHER), api_token: TOKEN, base_url: baseUrl }),
  record: (transaction) => record(transaction),
  txidOf: (transaction) => transaction.txid,
  networkStatusOf: (transaction) => STATUSES[transaction.status],
  defaultType: null,
  lateChanges: [
    { name: 'pending, then approved', before: [input({ txid: '259630312', status: 'pending' })], after: [input({ txid: '259630312', status: 'approved' })] },
    { name: 'pending, then declined', before: [input({ txid: '259630313', status: 'pending' })], after: [input({ txid: '259630313', status: 'declined' })] },
    { name: 'commission amended', before: [input({ txid: '259630314', payout: '5.59' })], after: [input({ txid: '259630314', payout: '4.50' })] },
  ],
  servePages(scope, window, pages) {
    if (pages.length > DATE_TYPES.length) throw new Error('Awin answers one array per date type');
    DATE_TYPES.forEach((dateType, index) => {
      scope.get(PATH).query(windowQuery(window, dateType)).matchHeader('authorization', `Bearer ${TOKEN}`).reply(200, body(pages[index] ?? []), JSON_HEADERS);
    });
  },
  firstRequest: (scope, window) => scope.get(PATH).query(windowQuery(window, 'transaction')).matchHeader('authorization', `Bearer ${TOKEN}`),
  checkRequest: (scope) =>
    scope
      .get(PATH)
      .query((query) => query.timezone === 'UTC' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(String(query.startDate)) && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(String(query.endDate)))
      .matchHeader('authorization', `Bearer ${TOKEN}`),
  checkBody: '[]',
};

describeConnectorContract(fixture);

afterAll(() => nock.restore());

describe('Awin specifics', () => {
  const baseUrl = 'https://awin.api.test';
  const context = (overrides: Partial<AwinConfig> = {}) =>
    createConnectorContext(awinConnector, awinConnector.configSchema.parse({ publisher_id: PUBLISHER, api_token: TOKEN, base_url: baseUrl, ...overrides }), { retries: 2, baseDelayMs: 1 });
  const scope = useNockScope(baseUrl);

  const pullAll = async (window: PullWindow = CONTRACT_WINDOW, overrides: Partial<AwinConfig> = {}) => (await collect(awinConnector, context(overrides), window)).flat();

  test('20 requests a minute; windows of at most 31 days, split when longer, never refused', async () => {
    expect(awinConnector.rateLimit).toEqual({ requests: 20, intervalMs: 60_000 });
    expect(awinConnector.maxWindowDays).toBe(AWIN_MAX_DAYS);
    const queries: Record<string, unknown>[] = [];
    scope()
      .get(PATH)
      .times(6)
      .query((query) => queries.push(query) > 0)
      .reply(200, '[]', JSON_HEADERS);
    const from = new Date('2024-09-01T06:30:00Z');
    await pullAll({ from, to: new Date(from.getTime() + 40 * 86_400_000) });
    expect(queries.filter((query) => query.dateType === 'transaction').map((query) => [query.startDate, query.endDate])).toEqual([
      ['2024-09-01T06:30:00', '2024-10-02T06:29:59'],
      ['2024-10-02T06:30:00', '2024-10-11T06:29:59'],
    ]);
    expect(queries).toHaveLength(6);
  });

  test('deleted is declined with network_status "deleted"; an undocumented status stays pending, named', async () => {
    serveTransactions([record(input({ txid: '1' }), { commissionStatus: 'deleted' }), record(input({ txid: '2' }), { commissionStatus: 'onhold' })]);
    expect((await pullAll()).map((c) => [c.status, c.network_status])).toEqual([
      ['declined', 'deleted'],
      ['pending', 'onhold'],
    ]);
  });

  test('payout is the commission, not the sale amount; clickRefs may hold only the refs that were set', async () => {
    serveTransactions([record(input({ txid: '920699395', payout: '40.47', currency: 'BRL', clickId: null }), { saleAmount: { amount: new LosslessNumber('1349.00'), currency: 'BRL' }, clickRefs: { clickRef3: 'cfref3' } })]);
    const [conversion] = await pullAll(CONTRACT_WINDOW, { click_id_field: 'clickRef3' });
    expect(conversion).toMatchObject({ txid: '920699395', payout: '40.47', currency: 'BRL', click_id: 'cfref3' });
    serveTransactions([record(input({ txid: '920699396' }), { clickRefs: null })]);
    expect((await pullAll()).map((c) => c.click_id)).toEqual([null]);
  });

  test('the validation and amendment sweeps bring changes of transactions older than the lookback, once each', async () => {
    const old = new Date(CONTRACT_WINDOW.from.getTime() - 120 * 86_400_000);
    const approvedLate = record(input({ txid: '700', status: 'approved', occurredAt: old }), { validationDate: '2024-11-03T09:00:00' });
    const amendedLate = record(input({ txid: '701', payout: '2.00', occurredAt: old }), { amended: true, amendReason: 'partial return', oldCommissionAmount: { amount: new LosslessNumber('5.59'), currency: 'USD' } });
    scope().get(PATH).query(windowQuery(CONTRACT_WINDOW, 'transaction')).reply(200, '[]', JSON_HEADERS);
    scope().get(PATH).query(windowQuery(CONTRACT_WINDOW, 'validation')).reply(200, body([approvedLate]), JSON_HEADERS);
    scope().get(PATH).query(windowQuery(CONTRACT_WINDOW, 'amendment')).reply(200, body([approvedLate, amendedLate]), JSON_HEADERS);
    expect((await pullAll()).map((c) => [c.txid, c.status, c.payout, c.occurred_at.toISOString()])).toEqual([
      ['700', 'approved', '12.50', old.toISOString()],
      ['701', 'approved', '2.00', old.toISOString()],
    ]);
    expect(scope().isDone()).toBe(true);
  });

  test('a 429 without Retry-After waits a minute', async () => {
    const waits: number[] = [];
    scope().get(PATH).query(windowQuery(CONTRACT_WINDOW, 'transaction')).reply(429, '');
    serveTransactions([record(input({ txid: '5' }))]);
    const requests = countRequests(scope());
    const pulled = (await collect(awinConnector, createConnectorContext(awinConnector, awinConnector.configSchema.parse({ publisher_id: PUBLISHER, api_token: TOKEN, base_url: baseUrl }), { retries: 2, sleep: async (ms) => void waits.push(ms) }), CONTRACT_WINDOW)).flat();
    expect(waits).toEqual([60_000]);
    expect(pulled.map((c) => c.txid)).toEqual(['5']);
    expect(requests.count).toBe(4);
  });

  test('publisher_id must be a number', () => {
    expect(awinConnector.configSchema.safeParse({ publisher_id: '12a', api_token: TOKEN }).success).toBe(false);
    expect(awinConnector.configSchema.parse({ publisher_id: '189069', api_token: TOKEN }).click_id_field).toBe('clickRef');
  });

  function serveTransactions(rows: unknown[]): void {
    fixture.servePages(scope(), CONTRACT_WINDOW, [rows]);
  }
});
