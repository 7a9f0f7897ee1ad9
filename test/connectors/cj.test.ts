import nock from 'nock';
import { CJ_STATUS_MAP, cjConnector, commissionsQuery, type CjConfig } from '../../connectors/cj';
import { createConnectorContext } from '../../connectors/kit/context';
import { ConnectorResponseError } from '../../connectors/kit/errors';
import type { PullWindow } from '../../connectors/kit/types';
import { collect, CONTRACT_WINDOW, countRequests, describeConnectorContract, input, useNockScope, type ConnectorFixture, type RecordInput } from './contract';

/**
 * Fixture: CJ's Commission Detail API (GraphQL `publisherCommissions`), built from
 * - https://docs.cj.com/docs/graphql-api, "Publisher Request" / "Publisher Response": POST the
 *   GraphQL text to https://commissions.api.cj.com/query with `Authorization: Bearer …`; records
 *   with actionTrackerName "Advanced Sale Test", websiteName "Donuts and Denim", advertiserName
 *   "Visit Canada", commissionId "2292067663", postingDate "2018-05-03T22:31:48Z",
 *   pubCommissionAmountUsd "7.781", items [{quantity 1, perItemSaleAmountPubCurrency "75.474",
 *   totalCommissionPubCurrency "7.548"}]; the envelope's count and payloadComplete.
 * - CJ's schema text (api-evangelist/cj-affiliate graphql/cj-affiliate-commissions-schema.graphql)
 *   for every other selected field: maxCommissionId, originalActionId, original, correctionReason,
 *   actionStatus (closed | extended | locked | new), validationStatus (PENDING | ACCEPTED |
 *   DECLINED | AUTOMATED), actionType (sim_sale, item_sale, …), advertiserId ("CID of the
 *   advertiser for this commission", String!), eventDate, lockingDate, orderId, shopperId,
 *   pubCommissionAmountPubCurrency. No example shows their values: the values below are INFERRED
 *   (documented enum values; an original's originalActionId equal to its commissionId; advertiserId
 *   "3304249" an arbitrary CID; pubCommissionAmountPubCurrency as the sum of the sample's items'
 *   totalCommissionPubCurrency).
 */

const PUBLISHER = '999';
const TOKEN = 'cj-personal-access-token';
const JSON_HEADERS = { 'Content-Type': 'application/json' };

const iso = (at: Date) => at.toISOString().replace('.000Z', 'Z');
const STATUS: Readonly<Record<RecordInput['status'], { actionStatus: string; validationStatus: string }>> = {
  approved: { actionStatus: 'locked', validationStatus: 'ACCEPTED' },
  pending: { actionStatus: 'new', validationStatus: 'PENDING' },
  declined: { actionStatus: 'new', validationStatus: 'DECLINED' },
};

/** A `PublisherCommission` with the documented sample's values where it has them. */
function record(commission: RecordInput, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  if (commission.type !== undefined) throw new Error('the cj fixture reports actionType item_sale only');
  return {
    commissionId: commission.txid,
    originalActionId: commission.txid,
    original: true,
    correctionReason: null,
    ...STATUS[commission.status],
    actionType: 'item_sale',
    actionTrackerName: 'Advanced Sale Test',
    advertiserId: '3304249', // INFERRED value: the schema types the field, no example shows one
    advertiserName: 'Visit Canada',
    websiteName: 'Donuts and Denim',
    orderId: `ORDER-${commission.txid}`,
    shopperId: commission.clickId,
    eventDate: iso(commission.occurredAt),
    postingDate: iso(new Date(commission.occurredAt.getTime() + 3_600_000)),
    lockingDate: '2024-12-11T10:00:00Z',
    pubCommissionAmountPubCurrency: commission.payout,
    pubCommissionAmountUsd: commission.payout,
    items: [{ quantity: 1, perItemSaleAmountPubCurrency: '75.474', totalCommissionPubCurrency: commission.payout }],
    ...overrides,
  };
}

function envelope(records: readonly unknown[], payloadComplete: boolean): string {
  const last = records[records.length - 1] as { commissionId?: string } | undefined;
  return JSON.stringify({ data: { publisherCommissions: { count: records.length, payloadComplete, maxCommissionId: last?.commissionId ?? null, records } } });
}
const EMPTY = envelope([], true);

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The query text of one date filter (and cursor) exactly as the connector must send it. */
function queryFor(window: PullWindow, since: string, before: string, cursor?: string): RegExp {
  const args = `forPublishers: ["${PUBLISHER}"], ${since}: "${iso(window.from)}", ${before}: "${iso(window.to)}"${cursor ? `, sinceCommissionId: "${cursor}"` : ''})`;
  return new RegExp(`^\\{ publisherCommissions\\(${escape(args)} \\{ count payloadComplete maxCommissionId records \\{`);
}
const post = (scope: nock.Scope, body: RegExp) => scope.post('/query', body).matchHeader('authorization', `Bearer ${TOKEN}`);

function serveSweepsEmpty(scope: nock.Scope, window: PullWindow): void {
  post(scope, queryFor(window, 'sincePostingDate', 'beforePostingDate')).reply(200, EMPTY, JSON_HEADERS);
  post(scope, queryFor(window, 'sinceLockingDate', 'beforeLockingDate')).reply(200, EMPTY, JSON_HEADERS);
}

const fixture: ConnectorFixture<CjConfig> = {
  connector: cjConnector,
  config: (baseUrl) => ({ publisher_id: PUBLISHER, api_token: TOKEN, currency: 'EUR', base_url: baseUrl }),
  record: (commission) => record(commission),
  txidOf: (commission) => commission.txid,
  networkStatusOf: (commission) => `${STATUS[commission.status].actionStatus}/${STATUS[commission.status].validationStatus}`,
  defaultType: 'sale',
  // The records carry no currency: every conversion is in the connection's.
  currencyOf: () => 'EUR',
  lateChanges: [
    { name: 'new/PENDING, then locked/ACCEPTED', before: [input({ txid: '2292067663', status: 'pending' })], after: [input({ txid: '2292067663', status: 'approved' })] },
    { name: 'new/PENDING, then new/DECLINED', before: [input({ txid: '2292491812', status: 'pending' })], after: [input({ txid: '2292491812', status: 'declined' })] },
  ],
  servePages(scope, window, pages) {
    let cursor: string | undefined;
    pages.forEach((records, index) => {
      post(scope, queryFor(window, 'sinceEventDate', 'beforeEventDate', cursor)).reply(200, envelope(records, index === pages.length - 1), JSON_HEADERS);
      cursor = (records[records.length - 1] as { commissionId: string }).commissionId;
    });
    serveSweepsEmpty(scope, window);
  },
  firstRequest: (scope, window) => post(scope, queryFor(window, 'sinceEventDate', 'beforeEventDate')),
  checkRequest: (scope) => post(scope, /^\{ publisherCommissions\(forPublishers: \["999"\], sincePostingDate: "[^"]+", beforePostingDate: "[^"]+"\) \{ count \} \}$/),
  checkBody: JSON.stringify({ data: { publisherCommissions: { count: 0 } } }),
};

describeConnectorContract(fixture);

afterAll(() => nock.restore());

describe('CJ specifics', () => {
  const baseUrl = 'https://cj.api.test';
  const context = (overrides: Partial<CjConfig> = {}) =>
    createConnectorContext(cjConnector, cjConnector.configSchema.parse({ publisher_id: PUBLISHER, api_token: TOKEN, base_url: baseUrl, ...overrides }), { retries: 2, baseDelayMs: 1 });
  const freshScope = useNockScope(baseUrl);
  let scope: nock.Scope;
  beforeEach(() => (scope = freshScope()));

  /** The documented sample's two records, with the schema fields the sample leaves out. */
  const sample = [
    {
      actionTrackerName: 'Advanced Sale Test', websiteName: 'Donuts and Denim', advertiserName: 'Visit Canada', commissionId: '2292067663', postingDate: '2018-05-03T22:31:48Z',
      pubCommissionAmountUsd: '7.781', items: [{ quantity: 1, perItemSaleAmountPubCurrency: '75.474', totalCommissionPubCurrency: '7.548' }],
      // INFERRED values of fields the sample does not show:
      originalActionId: '2292067663', original: true, correctionReason: null, actionStatus: 'new', validationStatus: 'PENDING', actionType: 'item_sale',
      eventDate: '2018-05-03T21:58:02Z', lockingDate: '2018-06-11T09:00:00Z', shopperId: 'cfc3x9k2m8q7w', pubCommissionAmountPubCurrency: '7.548',
    },
    {
      actionTrackerName: 'Advanced Sale Test', websiteName: 'Donuts and Denim', advertiserName: 'Visit Canada', commissionId: '2292491812', postingDate: '2018-05-04T19:00:21Z',
      pubCommissionAmountUsd: '3.89', items: [{ quantity: 1, perItemSaleAmountPubCurrency: '37.737', totalCommissionPubCurrency: '3.773' }],
      originalActionId: '2292491812', original: true, correctionReason: null, actionStatus: 'locked', validationStatus: 'ACCEPTED', actionType: 'sim_sale',
      eventDate: '2018-05-04T18:41:40Z', lockingDate: '2018-06-11T09:00:00Z', shopperId: 'cfd8k2x9q1m4z', pubCommissionAmountPubCurrency: '3.773',
    },
  ];
  const sampleWindow: PullWindow = { from: new Date('2018-05-01T00:00:00Z'), to: new Date('2018-05-08T00:00:00Z') };

  test('the documented sample: amounts in the configured currency, or CJ\'s USD figures without one', async () => {
    post(scope, queryFor(sampleWindow, 'sinceEventDate', 'beforeEventDate')).twice().reply(200, envelope(sample, true), JSON_HEADERS);
    serveSweepsEmpty(scope, sampleWindow);
    serveSweepsEmpty(scope, sampleWindow);
    const inEur = (await collect(cjConnector, context({ currency: 'EUR' }), sampleWindow)).flat();
    expect(inEur.map((c) => [c.txid, c.click_id, c.payout, c.currency, c.status, c.network_status, c.type, c.part?.id, c.part?.original])).toEqual([
      ['2292067663', 'cfc3x9k2m8q7w', '7.548', 'EUR', 'pending', 'new/PENDING', 'sale', '2292067663', true],
      ['2292491812', 'cfd8k2x9q1m4z', '3.773', 'EUR', 'approved', 'locked/ACCEPTED', 'sale', '2292491812', true],
    ]);
    const inUsd = (await collect(cjConnector, context(), sampleWindow)).flat();
    expect(inUsd.map((c) => [c.payout, c.currency])).toEqual([['7.781', 'USD'], ['3.89', 'USD']]);
    expect(cjConnector.warnings(cjConnector.configSchema.parse({ publisher_id: PUBLISHER, api_token: TOKEN }))).toEqual([expect.stringMatching(/currency is not set/)]);
    expect(cjConnector.warnings(cjConnector.configSchema.parse({ publisher_id: PUBLISHER, api_token: TOKEN, currency: 'eur' }))).toEqual([]);
    expect(scope.isDone()).toBe(true);
  });

  test('payloadComplete/maxCommissionId paging: the same filter again with sinceCommissionId until payloadComplete', async () => {
    const bodies: string[] = [];
    scope.on('request', (_request: unknown, _interceptor: unknown, body: string) => bodies.push(body));
    const first = [record(input({ txid: '3000000001' })), record(input({ txid: '3000000002' }))];
    const second = [record(input({ txid: '3000000005' }))];
    post(scope, queryFor(CONTRACT_WINDOW, 'sinceEventDate', 'beforeEventDate')).reply(200, envelope(first, false), JSON_HEADERS);
    post(scope, queryFor(CONTRACT_WINDOW, 'sinceEventDate', 'beforeEventDate', '3000000002')).reply(200, envelope(second, true), JSON_HEADERS);
    serveSweepsEmpty(scope, CONTRACT_WINDOW);
    const pulled = await collect(cjConnector, context(), CONTRACT_WINDOW);
    expect(pulled.map((page) => page.map((c) => c.txid))).toEqual([['3000000001', '3000000002'], ['3000000005'], [], []]);
    expect(bodies[1]).toContain('sinceCommissionId: "3000000002"');
    expect(bodies.map((body) => /(since\w+Date)/.exec(body)?.[1])).toEqual(['sinceEventDate', 'sinceEventDate', 'sincePostingDate', 'sinceLockingDate']);
    expect(scope.isDone()).toBe(true);
  });

  test('payloadComplete false with a cursor that does not move is an error, not an endless loop', async () => {
    const page = [record(input({ txid: '3000000001' }))];
    post(scope, queryFor(CONTRACT_WINDOW, 'sinceEventDate', 'beforeEventDate')).reply(200, envelope(page, false), JSON_HEADERS);
    post(scope, queryFor(CONTRACT_WINDOW, 'sinceEventDate', 'beforeEventDate', '3000000001')).reply(200, envelope(page, false), JSON_HEADERS);
    const requests = countRequests(scope);
    await expect(collect(cjConnector, context(), CONTRACT_WINDOW)).rejects.toThrow(/does not move the cursor on/);
    expect(requests.count).toBe(2);
  });

  test('a correction is a part of its original action: same txid, its own commissionId, a signed amount', async () => {
    const original = record(input({ txid: '4000000001', payout: '10.00', status: 'pending' }));
    const correction = {
      ...original, commissionId: '4000000009', original: false, correctionReason: 'RETURNED_MERCHANDISE', pubCommissionAmountPubCurrency: '-4.005', pubCommissionAmountUsd: '-4.005',
      postingDate: '2024-11-20T08:00:00Z', actionStatus: 'new', validationStatus: 'ACCEPTED',
    };
    post(scope, queryFor(CONTRACT_WINDOW, 'sinceEventDate', 'beforeEventDate')).reply(200, envelope([original], true), JSON_HEADERS);
    post(scope, queryFor(CONTRACT_WINDOW, 'sincePostingDate', 'beforePostingDate')).reply(200, envelope([original, correction], true), JSON_HEADERS);
    post(scope, queryFor(CONTRACT_WINDOW, 'sinceLockingDate', 'beforeLockingDate')).reply(200, EMPTY, JSON_HEADERS);
    const pulled = (await collect(cjConnector, context(), CONTRACT_WINDOW)).flat();
    // The original once (the posting sweep's copy is the same part), then the correction.
    expect(pulled.map((c) => [c.txid, c.part?.id, c.part?.original, c.payout, c.network_status])).toEqual([
      ['4000000001', '4000000001', true, '10.00', 'new/PENDING'],
      ['4000000001', '4000000009', false, '-4.005', 'new/ACCEPTED'],
    ]);
    expect(pulled[1]?.part?.postedAt.toISOString()).toBe('2024-11-20T08:00:00.000Z');
  });

  test('the status table: DECLINED is declined, locked and closed approved, new and extended pending; upper case too', () => {
    expect(CJ_STATUS_MAP).toMatchObject({
      new: 'pending', 'new/PENDING': 'pending', 'new/ACCEPTED': 'pending', 'new/AUTOMATED': 'pending', 'new/DECLINED': 'declined',
      extended: 'pending', 'extended/DECLINED': 'declined', locked: 'approved', 'locked/ACCEPTED': 'approved', 'locked/DECLINED': 'declined',
      closed: 'approved', 'closed/AUTOMATED': 'approved', LOCKED: 'approved', 'NEW/PENDING': 'pending',
    });
  });

  test('an undocumented actionStatus stays pending with its name kept; actionType maps to sale, lead or its own name', async () => {
    const rows = [
      record(input({ txid: '5000000001' }), { actionStatus: 'corrected', validationStatus: null }),
      record(input({ txid: '5000000002' }), { actionType: 'sim_lead' }),
      record(input({ txid: '5000000003' }), { actionType: 'bonus' }),
    ];
    post(scope, queryFor(CONTRACT_WINDOW, 'sinceEventDate', 'beforeEventDate')).reply(200, envelope(rows, true), JSON_HEADERS);
    serveSweepsEmpty(scope, CONTRACT_WINDOW);
    const pulled = (await collect(cjConnector, context(), CONTRACT_WINDOW)).flat();
    expect(pulled.map((c) => [c.status, c.network_status, c.type])).toEqual([
      ['pending', 'corrected', 'sale'],
      ['approved', 'locked/ACCEPTED', 'lead'],
      ['approved', 'locked/ACCEPTED', 'bonus'],
    ]);
  });

  test('the query text: the publisher and dates as GraphQL string literals, the documented sample\'s fields selected', () => {
    const text = commissionsQuery(cjConnector.configSchema.parse({ publisher_id: PUBLISHER, api_token: TOKEN }), { sinceEventDate: '2018-08-08T00:00:00Z', beforeEventDate: '2018-08-09T00:00:00Z' }, '2292067663');
    expect(text).toMatch(/^\{ publisherCommissions\(forPublishers: \["999"\], sinceEventDate: "2018-08-08T00:00:00Z", beforeEventDate: "2018-08-09T00:00:00Z", sinceCommissionId: "2292067663"\) \{ count payloadComplete maxCommissionId records \{ /);
    for (const field of ['actionTrackerName', 'websiteName', 'advertiserName', 'postingDate', 'pubCommissionAmountUsd', 'items { quantity perItemSaleAmountPubCurrency totalCommissionPubCurrency }', 'shopperId', 'originalActionId']) {
      expect(text).toContain(field);
    }
    // publisher_id is a numeric CID: nothing else can reach the query text.
    expect(() => cjConnector.configSchema.parse({ publisher_id: '1"]) { x }', api_token: TOKEN })).toThrow(/numeric CJ company ID/);
  });

  test('a 401 body that echoes the token never reaches the error message', async () => {
    post(scope, queryFor(CONTRACT_WINDOW, 'sinceEventDate', 'beforeEventDate')).reply(401, `Not Authenticated: ${TOKEN}`);
    const error = await collect(cjConnector, context(), CONTRACT_WINDOW).then(
      () => undefined,
      (caught: unknown) => caught as Error,
    );
    expect(error?.message).toMatch(/Not Authenticated: \[redacted\]/);
    expect(error?.message).not.toContain(TOKEN);
  });

  test('a page that is not a PublisherCommissions envelope is a readable response error', async () => {
    post(scope, queryFor(CONTRACT_WINDOW, 'sinceEventDate', 'beforeEventDate')).reply(200, JSON.stringify({ data: { publisherCommissions: { count: 1 } } }), JSON_HEADERS);
    await expect(collect(cjConnector, context(), CONTRACT_WINDOW)).rejects.toThrow(ConnectorResponseError);
  });
});
