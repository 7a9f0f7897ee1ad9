import { LosslessNumber, stringify } from 'lossless-json';
import nock from 'nock';
import { CAKE_PAGE_SIZE, cakeConnector, type CakeConfig } from '../../connectors/cake';
import { createConnectorContext } from '../../connectors/kit/context';
import { ConnectorAuthError, ConnectorConfigError, ConnectorResponseError } from '../../connectors/kit/errors';
import type { PullWindow } from '../../connectors/kit/types';
import { collect, CONTRACT_WINDOW, useNockScope, countRequests, describeConnectorContract, input, type ConnectorFixture, type RecordInput } from './contract';

/**
 * Fixture: CAKE's affiliate `reports.asmx/EventConversions` (version 9) as JSON, built from
 * - pycake `AffiliateAPI.events_conversions` (heytimj/pycake): the path, the parameters (api_key,
 *   affiliate_id, start_date, end_date, site_offer_id, currency_id, disposition_type, event_type,
 *   exclude_bot_traffic, start_at_row, row_limit), POST with a JSON body, the answer read as `d`;
 * - the admin page https://getcake.freshdesk.com/support/solutions/articles/13000105067: "YYYY-mm-dd",
 *   the end date excluded, `event_type` all; …/5000546394: every parameter sent, start_at_row/row_limit;
 *   …/5000688590: the `success` / `row_count` envelope;
 * - the V9 affiliate `event_conversion` properties (C# `IpJobs.CakeV9` mapping, the shoogloo Node
 *   client): macro_event_conversion_id, event_conversion_date, micro_event_id, micro_event_name,
 *   disposition, disposition_type, price, currency_symbol ("$" per shoogloo's CURRENCY_MAP),
 *   order_id, order_total, order_currency_symbol, subid_1..subid_5, site_offer_id, site_offer_name,
 *   campaign_id, creative_id, creative_name, payout_rule_name, storefront, test.
 * INFERRED: the literal `/Date(ms)/` date form (ASP.NET's JSON convention; clients extract the
 * milliseconds), `__type`, and `message`/`row_count` inside `d` for this report.
 */

const DOMAIN = 'partners.example-network.com';
const KEY = 'cake-affiliate-key';
const AFFILIATE = 12345;
const PATH = '/affiliates/api/9/reports.asmx/EventConversions';
const DAY_MS = 86_400_000;
const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8' };

/** CAKE reports symbols: "$" stands for several currencies. */
const SYMBOLS: Readonly<Record<string, string>> = { USD: '$', CAD: '$', EUR: '€', GBP: '£' };
const DISPOSITIONS: Readonly<Record<RecordInput['status'], string>> = { approved: 'Approved', pending: 'Pending', declined: 'Rejected' };

function record(conversion: RecordInput, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  if (conversion.type !== undefined) throw new Error('event types come through overrides');
  return {
    campaign_id: 5678,
    creative_id: 9,
    creative_name: 'Text link',
    currency_symbol: conversion.currency === null ? null : (SYMBOLS[conversion.currency] ?? conversion.currency),
    disposition: DISPOSITIONS[conversion.status],
    disposition_type: DISPOSITIONS[conversion.status],
    event_conversion_date: `/Date(${conversion.occurredAt.getTime()})/`,
    macro_event_conversion_id: conversion.txid,
    micro_event_id: null,
    micro_event_name: null,
    order_currency_symbol: '$',
    order_id: 'ORD-1001',
    order_total: new LosslessNumber('49.99'),
    payout_rule_name: '',
    price: conversion.payout === null ? null : new LosslessNumber(conversion.payout),
    site_offer_id: 1234,
    site_offer_name: 'Widget Trial',
    storefront: '',
    subid_1: conversion.clickId ?? '',
    subid_2: '',
    subid_3: '',
    subid_4: '',
    subid_5: '',
    test: false,
    ...overrides,
  };
}

function envelope(rows: readonly unknown[], total: number): string {
  return stringify({ d: { __type: 'Cake.Affiliates.Api.ReportsEventConversionsResponse', success: true, message: '', row_count: total, event_conversions: rows } }) ?? '';
}

/** start_date/end_date of a pull window: whole UTC days padded by one, the end day excluded. */
function dayRange(window: PullWindow): { start_date: string; end_date: string } {
  const first = new Date(Math.floor(window.from.getTime() / DAY_MS) * DAY_MS - DAY_MS);
  const end = new Date(Math.ceil(window.to.getTime() / DAY_MS) * DAY_MS + DAY_MS);
  return { start_date: first.toISOString().slice(0, 10), end_date: end.toISOString().slice(0, 10) };
}

function reportBody(window: PullWindow, startAtRow: number): nock.DataMatcherMap {
  return { api_key: KEY, affiliate_id: AFFILIATE, ...dayRange(window), site_offer_id: 0, currency_id: 0, disposition_type: 'all', event_type: 'all', exclude_bot_traffic: false, start_at_row: startAtRow, row_limit: CAKE_PAGE_SIZE };
}

const fixture: ConnectorFixture<CakeConfig> = {
  connector: cakeConnector,
  config: (baseUrl) => ({ domain: DOMAIN, affiliate_id: String(AFFILIATE), api_key: KEY, base_url: baseUrl, click_id_field: 'sub_id_1' }),
  record: (conversion) => record(conversion),
  txidOf: (conversion) => conversion.txid,
  networkStatusOf: (conversion) => DISPOSITIONS[conversion.status],
  currencyOf: (conversion) => (conversion.currency === 'EUR' || conversion.currency === 'GBP' ? conversion.currency : null),
  defaultType: null,
  lateChanges: [
    { name: 'Pending, then Approved', before: [input({ txid: '98765431', status: 'pending' })], after: [input({ txid: '98765431', status: 'approved' })] },
    { name: 'Approved, then Rejected (scrubbed)', before: [input({ txid: '98765432' })], after: [input({ txid: '98765432', status: 'declined' })] },
    { name: 'price changed', before: [input({ txid: '98765433', payout: '12.50' })], after: [input({ txid: '98765433', payout: '10.00' })] },
  ],
  servePages(scope, window, pages) {
    const total = pages.reduce((sum, rows) => sum + rows.length, 0);
    let start = 0;
    for (const rows of pages) {
      scope.post(PATH, reportBody(window, start)).reply(200, envelope(rows, total), JSON_HEADERS);
      start += rows.length;
    }
  },
  firstRequest: (scope, window) => scope.post(PATH, reportBody(window, 0)),
  checkRequest: (scope) => scope.post(PATH, (body: Record<string, unknown>) => body.api_key === KEY && body.affiliate_id === AFFILIATE && body.row_limit === 1),
  checkBody: envelope([], 0),
};

describeConnectorContract(fixture);

afterAll(() => nock.restore());

describe('CAKE specifics', () => {
  const baseUrl = 'https://cake.api.test';
  const context = (overrides: Partial<CakeConfig> = {}) =>
    createConnectorContext(cakeConnector, cakeConnector.configSchema.parse({ domain: DOMAIN, affiliate_id: AFFILIATE, api_key: KEY, base_url: baseUrl, ...overrides }), { retries: 2, baseDelayMs: 1, maxRetryAfterMs: 0 });
  const scope = useNockScope(baseUrl);

  const pullAll = async (overrides: Partial<CakeConfig> = {}) => (await collect(cakeConnector, context(overrides), CONTRACT_WINDOW)).flat();

  test('the host is the CAKE domain; a domain with a scheme or path is refused with the reason', () => {
    const config = cakeConnector.configSchema.parse({ domain: DOMAIN, affiliate_id: AFFILIATE, api_key: KEY });
    expect(cakeConnector.http(config).baseUrl).toBe(`https://${DOMAIN}`);
    expect(cakeConnector.hostFields).toEqual(expect.arrayContaining(['base_url', 'domain']));
    for (const bad of ['https://partners.example.com', 'partners.example.com/x', 'evil.com?', 'localhost', '']) {
      const result = cakeConnector.configSchema.safeParse({ domain: bad, affiliate_id: AFFILIATE, api_key: KEY });
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.message).toMatch(/domain/);
    }
    expect(cakeConnector.configSchema.safeParse({ domain: DOMAIN, affiliate_id: 'abc', api_key: KEY }).success).toBe(false);
  });

  test('the design names sub_id_N read CAKE subid_N; subid_N is accepted too; the default carries a warning to use s2', async () => {
    for (const field of ['sub_id_2', 'subid_2'] as const) {
      fixture.servePages(scope(), CONTRACT_WINDOW, [[record(input({ txid: `c-${field}`, clickId: null }), { subid_2: 'cfs2click' })]]);
      expect((await pullAll({ click_id_field: field })).map((c) => c.click_id)).toEqual(['cfs2click']);
    }
    expect(cakeConnector.configSchema.parse({ domain: DOMAIN, affiliate_id: AFFILIATE, api_key: KEY }).click_id_field).toBe('sub_id_1');
    expect(cakeConnector.warnings(cakeConnector.configSchema.parse({ domain: DOMAIN, affiliate_id: AFFILIATE, api_key: KEY }))).toEqual([expect.stringMatching(/sub_id_2/)]);
    expect(cakeConnector.warnings(cakeConnector.configSchema.parse({ domain: DOMAIN, affiliate_id: AFFILIATE, api_key: KEY, click_id_field: 'sub_id_2' }))).toEqual([]);
  });

  test('the end date is exclusive and every parameter is sent, credentials in the JSON body', async () => {
    const bodies: Record<string, unknown>[] = [];
    scope().post(PATH, (body: Record<string, unknown>) => bodies.push(body) > 0).reply(200, envelope([], 0), JSON_HEADERS);
    await pullAll();
    expect(bodies[0]).toEqual({ ...reportBody(CONTRACT_WINDOW, 0), start_date: '2024-10-31', end_date: '2024-11-09' });
  });

  test('an event of a conversion shares its id and is a conversion of its own type', async () => {
    const conversion = record(input({ txid: '98765440', payout: '30.00' }));
    const event = record(input({ txid: '98765440', payout: '5.00' }), { micro_event_id: 17, micro_event_name: 'Upsell Purchase' });
    fixture.servePages(scope(), CONTRACT_WINDOW, [[conversion, event]]);
    expect((await pullAll()).map((c) => [c.txid, c.type, c.payout])).toEqual([
      ['98765440', null, '30.00'],
      ['98765440', 'upsell_purchase', '5.00'],
    ]);
  });

  test('dispositions map by type; Returned is declined; a network-named disposition without a type stays pending', async () => {
    const rows = [
      record(input({ txid: 'd1' }), { disposition: 'Returned', disposition_type: 'Returned' }),
      record(input({ txid: 'd2' }), { disposition: 'Paid Lead', disposition_type: 'Approved' }),
      record(input({ txid: 'd3' }), { disposition: 'Needs Review', disposition_type: null }),
      record(input({ txid: 'd4' }), { disposition: null, disposition_type: null }),
    ];
    fixture.servePages(scope(), CONTRACT_WINDOW, [rows]);
    expect((await pullAll()).map((c) => [c.status, c.network_status])).toEqual([
      ['declined', 'Returned'],
      ['approved', 'Approved'],
      ['pending', 'Needs Review'],
      ['pending', null],
    ]);
  });

  test('dates with an offset suffix are the same instant; test conversions are left out', async () => {
    const at = new Date('2024-11-02T15:04:05Z');
    const rows = [record(input({ txid: 'o1', occurredAt: at }), { event_conversion_date: `/Date(${at.getTime()}-0500)/` }), record(input({ txid: 't1' }), { test: true })];
    fixture.servePages(scope(), CONTRACT_WINDOW, [rows]);
    expect((await pullAll()).map((c) => [c.txid, c.occurred_at.toISOString()])).toEqual([['o1', '2024-11-02T15:04:05.000Z']]);
  });

  test('full pages continue at the next row; a short page ends the report', async () => {
    const full = Array.from({ length: CAKE_PAGE_SIZE }, (_unused, i) => record(input({ txid: `r${i}`, occurredAt: new Date(CONTRACT_WINDOW.from.getTime() + i * 1000) })));
    // row_count absent: the page length alone decides.
    const bare = (rows: unknown[]) => stringify({ d: { success: true, event_conversions: rows } }) ?? '';
    scope().post(PATH, reportBody(CONTRACT_WINDOW, 0)).reply(200, bare(full), JSON_HEADERS);
    scope().post(PATH, reportBody(CONTRACT_WINDOW, CAKE_PAGE_SIZE)).reply(200, bare([record(input({ txid: 'last' }))]), JSON_HEADERS);
    const requests = countRequests(scope());
    const pulled = await pullAll();
    expect(pulled).toHaveLength(CAKE_PAGE_SIZE + 1);
    expect(requests.count).toBe(2);
  });

  test('a boundary row answered twice (rows counted from 1) is yielded once', async () => {
    const a = record(input({ txid: 'a' }));
    const b = record(input({ txid: 'b' }));
    const c = record(input({ txid: 'c' }));
    scope().post(PATH, reportBody(CONTRACT_WINDOW, 0)).reply(200, envelope([a, b], 3), JSON_HEADERS);
    scope().post(PATH, reportBody(CONTRACT_WINDOW, 2)).reply(200, envelope([b, c], 3), JSON_HEADERS);
    expect((await pullAll()).map((conversion) => conversion.txid)).toEqual(['a', 'b', 'c']);
  });

  test('failures inside HTTP 200 and non-JSON answers are errors, never empty pages', async () => {
    scope().post(PATH).reply(200, '{"d":{"success":false,"message":"Invalid API Key","row_count":0,"event_conversions":[]}}', JSON_HEADERS);
    await expect(pullAll()).rejects.toThrow(ConnectorAuthError);
    scope().post(PATH).reply(200, '{"d":{"success":false,"message":"Invalid Date Range"}}', JSON_HEADERS);
    await expect(pullAll()).rejects.toThrow(/Invalid Date Range/);
    scope().post(PATH).reply(500, '{"Message":"Invalid web service call, missing value for parameter: \'row_limit\'.","StackTrace":"","ExceptionType":"System.InvalidOperationException"}', JSON_HEADERS);
    await expect(pullAll()).rejects.toThrow(ConnectorConfigError);
    scope().post(PATH).reply(200, '<?xml version="1.0"?><event_conversion_report_response/>', { 'Content-Type': 'text/xml' });
    await expect(pullAll()).rejects.toThrow(ConnectorResponseError);
    scope().post(PATH).reply(200, envelope([record(input({ txid: 'bad-date' }), { event_conversion_date: '2024-11-02T10:00:00' })], 1), JSON_HEADERS);
    await expect(pullAll()).rejects.toThrow(/ASP\.NET JSON date/);
  });
});
