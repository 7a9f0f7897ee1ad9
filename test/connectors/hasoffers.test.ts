import { stringify } from 'lossless-json';
import nock from 'nock';
import { HASOFFERS_PAGE_SIZE, hasOffersConnector, type HasOffersConfig } from '../../connectors/hasoffers';
import { createConnectorContext } from '../../connectors/kit/context';
import { ConnectorAuthError, ConnectorRateLimitError, ConnectorResponseError } from '../../connectors/kit/errors';
import type { PullWindow } from '../../connectors/kit/types';
import { zonedDateTime } from '../../connectors/kit/zoned-time';
import { collect, CONTRACT_WINDOW, useNockScope, countRequests, describeConnectorContract, input, type ConnectorFixture, type RecordInput } from './contract';

/**
 * Fixture: TUNE (HasOffers) `Affiliate_Report::getConversions`, built from
 * - https://developers.tune.com/affiliate/affiliate_report-getconversions/: the parameters
 *   (NetworkId as the host, api_key, Target, Method, fields[], filters, sort, limit, page,
 *   data_start/data_end) and the bracket syntax of its filter note;
 * - TUNE's own affiliate front-end (wyiemay/developers.hasoffers.com, `V2 Dev - APIs_files/reports.js`,
 *   `conversionReportDefinition`): the row's `Stat` fields (conversion_id, ad_id "Transaction ID",
 *   affiliate_info1..5, conversion_status "State", goal_id, payout, datetime, offer_id) and the
 *   `Goal` and `Offer` models; php-oara (robryanx/php-oara HasOffers.php): `response.data.data[i].Stat.*`,
 *   `response.data.pageCount`, statuses approved/pending/rejected;
 * - the answers recorded from the live API in Stranger6667/pyoffers `tests/cassettes/conversion.json`
 *   (the `{"request", "response": {"status": 1, "httpStatus": 200, "data": {"page", "current",
 *   "count", "pageCount", "data"}, "errors": [], "errorMessage": null}}` envelope; every value a
 *   string, money with five decimals like "1080.00000", ad_id like "102412a789a5aac89e328b5220dfa5",
 *   datetime "2016-02-12 09:34:58", goal_id "0" for the default goal, is_adjustment "0").
 * INFERRED: that the affiliate report uses the same envelope as the recorded Network API answers,
 * and `Goal.name` "Default" (the connect-conversion model: "Returns the string "Default" for
 * unnamed default goals") on every row.
 */

const NETWORK = 'demo';
const KEY = 'affiliate-api-key-1234';
/** The network's time zone in this fixture; Stat.datetime is written in it without an offset. */
const ZONE = 'America/New_York';
const DAY_MS = 86_400_000;
const JSON_HEADERS = { 'Content-Type': 'application/json' };

const STATUSES: Readonly<Record<RecordInput['status'], string>> = { approved: 'approved', pending: 'pending', declined: 'rejected' };

function record(conversion: RecordInput, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  if (conversion.type !== undefined) throw new Error('the hasoffers fixture has goal types only through overrides');
  return {
    Stat: {
      ad_id: conversion.txid,
      conversion_id: '1017',
      datetime: zonedDateTime(conversion.occurredAt, ZONE),
      conversion_status: STATUSES[conversion.status],
      payout: conversion.payout ?? '',
      currency: conversion.currency ?? '',
      goal_id: '0',
      is_adjustment: '0',
      offer_id: '55',
      affiliate_info1: conversion.clickId ?? '',
      affiliate_info2: '',
      affiliate_info3: '',
      affiliate_info4: '',
      affiliate_info5: '',
      ...overrides,
    },
    Offer: { name: 'Widget Trial' },
    Goal: { name: 'Default' },
  };
}

function envelope(rows: readonly unknown[], page: number, pages: number, total: number): string {
  return (
    stringify({
      request: { Target: 'Affiliate_Report', Format: 'json', Service: 'HasOffers', Version: '2', NetworkId: NETWORK, Method: 'getConversions' },
      response: { status: 1, httpStatus: 200, data: { page, current: rows.length, count: total, pageCount: pages, data: rows }, errors: [], errorMessage: null },
    }) ?? ''
  );
}

/** The filter days of a pull window: whole UTC days, one more on each side. */
function filterDays(window: PullWindow): [string, string] {
  const first = new Date(Math.floor(window.from.getTime() / DAY_MS) * DAY_MS - DAY_MS);
  const last = new Date(Math.ceil(window.to.getTime() / DAY_MS) * DAY_MS);
  return [first.toISOString().slice(0, 10), last.toISOString().slice(0, 10)];
}

/** The documented getConversions request for a window's page. */
function reportQuery(window: PullWindow, page: number): (query: Record<string, unknown>) => boolean {
  const [first, last] = filterDays(window);
  return (query) =>
    query.api_key === KEY &&
    query.NetworkId === NETWORK &&
    query.Target === 'Affiliate_Report' &&
    query.Method === 'getConversions' &&
    Array.isArray(query['fields[]']) &&
    (query['fields[]'] as string[]).includes('Stat.datetime') &&
    query['filters[Stat.date][conditional]'] === 'BETWEEN' &&
    JSON.stringify(query['filters[Stat.date][values][]']) === JSON.stringify([first, last]) &&
    query.data_start === first &&
    query.data_end === last &&
    query['sort[Stat.datetime]'] === 'asc' &&
    query.limit === String(HASOFFERS_PAGE_SIZE) &&
    query.page === String(page);
}

const fixture: ConnectorFixture<HasOffersConfig> = {
  connector: hasOffersConnector,
  config: (baseUrl) => ({ network_id: NETWORK, api_key: KEY, base_url: baseUrl, time_zone: ZONE }),
  record: (conversion) => record(conversion),
  txidOf: (conversion) => conversion.txid,
  networkStatusOf: (conversion) => STATUSES[conversion.status],
  defaultType: null,
  lateChanges: [
    { name: 'pending, then approved', before: [input({ txid: '102f0c3a9f1e2d01', status: 'pending' })], after: [input({ txid: '102f0c3a9f1e2d01', status: 'approved' })] },
    { name: 'pending, then rejected', before: [input({ txid: '102f0c3a9f1e2d02', status: 'pending' })], after: [input({ txid: '102f0c3a9f1e2d02', status: 'declined' })] },
    { name: 'payout scrubbed', before: [input({ txid: '102f0c3a9f1e2d03', payout: '12.50000' })], after: [input({ txid: '102f0c3a9f1e2d03', payout: '6.25000' })] },
  ],
  servePages(scope, window, pages) {
    const total = pages.reduce((sum, rows) => sum + rows.length, 0);
    pages.forEach((rows, index) => {
      scope.get('/Apiv3/json').query(reportQuery(window, index + 1)).reply(200, envelope(rows, index + 1, pages.length, total), JSON_HEADERS);
    });
  },
  firstRequest: (scope, window) => scope.get('/Apiv3/json').query(reportQuery(window, 1)),
  checkRequest: (scope) => scope.get('/Apiv3/json').query((query) => query.api_key === KEY && query.Method === 'getConversions' && query.limit === '1'),
  checkBody: envelope([], 1, 0, 0),
};

describeConnectorContract(fixture);

afterAll(() => nock.restore());

describe('TUNE / HasOffers specifics', () => {
  const baseUrl = 'https://hasoffers.api.test';
  const context = (overrides: Partial<HasOffersConfig> = {}) =>
    createConnectorContext(hasOffersConnector, hasOffersConnector.configSchema.parse({ network_id: NETWORK, api_key: KEY, base_url: baseUrl, time_zone: ZONE, ...overrides }), { retries: 2, baseDelayMs: 1, maxRetryAfterMs: 0 });
  const scope = useNockScope(baseUrl);

  const serve = (rows: unknown[]) => fixture.servePages(scope(), CONTRACT_WINDOW, [rows]);
  const pullAll = async (overrides: Partial<HasOffersConfig> = {}) => (await collect(hasOffersConnector, context(overrides), CONTRACT_WINDOW)).flat();

  test('the host is <network_id>.api.hasoffers.com; the query is bracketed exactly as documented', async () => {
    const config = hasOffersConnector.configSchema.parse({ network_id: 'acme-net', api_key: KEY });
    expect(hasOffersConnector.http(config).baseUrl).toBe('https://acme-net.api.hasoffers.com');
    expect(hasOffersConnector.hostFields).toEqual(expect.arrayContaining(['base_url', 'network_id']));
    const paths: string[] = [];
    scope().on('request', (request: { path: string }) => paths.push(decodeURIComponent(request.path)));
    serve([]);
    await pullAll();
    expect(paths[0]).toContain(
      '/Apiv3/json?NetworkId=demo&Target=Affiliate_Report&Method=getConversions&fields[]=Stat.ad_id&fields[]=Stat.conversion_id&fields[]=Stat.datetime&fields[]=Stat.conversion_status&fields[]=Stat.payout',
    );
    expect(paths[0]).toContain('&filters[Stat.date][conditional]=BETWEEN&filters[Stat.date][values][]=2024-10-31&filters[Stat.date][values][]=2024-11-08&sort[Stat.datetime]=asc&');
    expect(paths[0]).toMatch(/&api_key=affiliate-api-key-1234$/);
  });

  test('a network_id that is not a host label is refused with a message that says why', () => {
    for (const bad of ['evil.com/', 'a.b', 'demo.api.evil.com#', '', 'x y']) {
      const result = hasOffersConnector.configSchema.safeParse({ network_id: bad, api_key: KEY });
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.message).toMatch(/network_id/);
    }
  });

  test("Stat.datetime is read in the network's time zone; without time_zone as UTC, with a warning", async () => {
    const row = record(input({ txid: 'tz' }), { datetime: '2024-11-03 01:30:00' });
    serve([row]);
    // 01:30 on the day New York leaves summer time is ambiguous; the first (EDT, -04:00) is taken.
    expect((await pullAll()).map((c) => c.occurred_at.toISOString())).toEqual(['2024-11-03T05:30:00.000Z']);
    expect(hasOffersConnector.warnings(hasOffersConnector.configSchema.parse({ network_id: NETWORK, api_key: KEY, time_zone: ZONE }))).toEqual([]);
    const utc = hasOffersConnector.configSchema.parse({ network_id: NETWORK, api_key: KEY });
    expect(hasOffersConnector.warnings(utc)).toEqual([expect.stringMatching(/time_zone/)]);
    serve([record(input({ txid: 'tz2' }), { datetime: '2024-11-04 10:00:00' })]);
    expect((await pullAll({ time_zone: undefined })).map((c) => c.occurred_at.toISOString())).toEqual(['2024-11-04T10:00:00.000Z']);
    expect(hasOffersConnector.configSchema.safeParse({ network_id: NETWORK, api_key: KEY, time_zone: 'Eastern' }).success).toBe(false);
  });

  test('goals are types of their own on the same Transaction ID; adjustments have their own txid', async () => {
    const base = record(input({ txid: '102412a789a5aac89e328b5220dfa5' }));
    const goal = { ...record(input({ txid: '102412a789a5aac89e328b5220dfa5', payout: '40.00000' }), { goal_id: '7', conversion_id: '1018' }), Goal: { name: 'Deposit Made' } };
    const unnamedGoal = { ...record(input({ txid: '102412a789a5aac89e328b5220dfa5', payout: '1.00000' }), { goal_id: '9', conversion_id: '1019' }), Goal: { name: '' } };
    const adjustment = record(input({ txid: '', clickId: null, payout: '-5.00000' }), { is_adjustment: '1', conversion_id: '1020' });
    serve([base, goal, unnamedGoal, adjustment]);
    expect((await pullAll()).map((c) => [c.txid, c.type, c.payout])).toEqual([
      ['102412a789a5aac89e328b5220dfa5', null, '12.50'],
      ['102412a789a5aac89e328b5220dfa5', 'deposit_made', '40.00000'],
      ['102412a789a5aac89e328b5220dfa5', 'goal_9', '1.00000'],
      ['adjustment:1020', null, '-5.00000'],
    ]);
  });

  test('money named per currency (payout@IDR) is read with that currency', async () => {
    const stat = record(input({ txid: 'idr' })).Stat as Record<string, unknown>;
    const { payout: _payout, ...withoutPayout } = stat;
    serve([{ Stat: { ...withoutPayout, currency: 'IDR', 'payout@IDR': '150000.00000' } }]);
    expect((await pullAll()).map((c) => [c.payout, c.currency])).toEqual([['150000.00000', 'IDR']]);
  });

  test('rejected is declined; an undocumented status stays pending with its name kept', async () => {
    serve(['rejected', 'approved', 'pending', 'deleted'].map((status, i) => record(input({ txid: `s${i}` }), { conversion_status: status })));
    expect((await pullAll()).map((c) => [c.status, c.network_status])).toEqual([
      ['declined', 'rejected'],
      ['approved', 'approved'],
      ['pending', 'pending'],
      ['pending', 'deleted'],
    ]);
  });

  test('click_id_field picks affiliate_info2, or the partner click ID (and then asks for it)', async () => {
    serve([record(input({ txid: 'a', clickId: null }), { affiliate_info2: 'cfsub2click' })]);
    expect((await pullAll({ click_id_field: 'affiliate_info2' })).map((c) => c.click_id)).toEqual(['cfsub2click']);
    const queries: Record<string, unknown>[] = [];
    scope()
      .get('/Apiv3/json')
      .query((query) => queries.push(query) > 0)
      .reply(200, envelope([{ ...record(input({ txid: 'b', clickId: null })), ConversionsMobile: { affiliate_click_id: 'cfaffclick' } }], 1, 1, 1), JSON_HEADERS);
    expect((await pullAll({ click_id_field: 'affiliate_click_id' })).map((c) => c.click_id)).toEqual(['cfaffclick']);
    expect(queries[0]?.['fields[]']).toContain('ConversionsMobile.affiliate_click_id');
  });

  test('an empty result ends the pull after one request; a list keyed by id is read too', async () => {
    const requests = countRequests(scope());
    scope().get('/Apiv3/json').query(reportQuery(CONTRACT_WINDOW, 1)).reply(200, envelope([], 1, 0, 0), JSON_HEADERS);
    expect(await pullAll()).toEqual([]);
    expect(requests.count).toBe(1);
    const keyed = JSON.parse(envelope([], 1, 1, 1)) as { response: { data: { data: unknown } } };
    keyed.response.data.data = { '3': record(input({ txid: 'keyed' })) };
    scope().get('/Apiv3/json').query(reportQuery(CONTRACT_WINDOW, 1)).reply(200, keyed, JSON_HEADERS);
    expect((await pullAll()).map((c) => c.txid)).toEqual(['keyed']);
  });

  test('errors inside HTTP 200 are never an empty report', async () => {
    scope().get('/Apiv3/json').query(true).reply(200, '{"response":{"errors":{"publicMessage":"Network id is not valid"},"link":"http:\\/\\/developers.hasoffers.com\\/"}}', JSON_HEADERS);
    await expect(pullAll()).rejects.toThrow(ConnectorAuthError);
    scope().get('/Apiv3/json').query(true).reply(200, '{"response":{"status":-1,"httpStatus":200,"data":"","errors":[{"publicMessage":"API usage exceeded rate limit"}],"errorMessage":"API usage exceeded rate limit"}}', JSON_HEADERS);
    await expect(pullAll()).rejects.toThrow(ConnectorRateLimitError);
    scope().get('/Apiv3/json').query(true).reply(200, '{"response":{"status":1,"httpStatus":200,"data":{"page":1,"pageCount":1,"count":1,"data":[{"Stat":{"ad_id":"x"}}]},"errors":[],"errorMessage":null}}', JSON_HEADERS);
    await expect(pullAll()).rejects.toThrow(ConnectorResponseError);
  });
});
