import { LosslessNumber, stringify } from 'lossless-json';
import nock from 'nock';
import { createConnectorContext } from '../../connectors/kit/context';
import { ConnectorResponseError } from '../../connectors/kit/errors';
import type { PullWindow } from '../../connectors/kit/types';
import { partnerizeConnector, type PartnerizeConfig } from '../../connectors/partnerize';
import { collect, CONTRACT_WINDOW, countRequests, describeConnectorContract, input, useNockScope, type ConnectorFixture, type RecordInput } from './contract';

/**
 * Fixture: Partnerize's partner conversion report, built from
 * - https://api-docs.partnerize.com/partner, operation `partner-conversions` ("Retrieve a Partner
 *   Conversions Report"): its response example (conversion_id "111111l314", conversion_time
 *   "2020-03-08 17:18:33", currency "EUR", publisher_reference "", conversion_value
 *   {conversion_status "pending", value 955, publisher_commission 95.5}, the click and the
 *   conversion item, the envelope with totals, limit 300 and count), as split out by
 *   api-evangelist/partnerize openapi/partnerize-partner-conversions-api-openapi.yml.
 * - the "Cursor Pagination" section of https://api-docs.partnerize.com/partner: `limit` (at most
 *   300), `cursor_id`, and the `hypermedia.pagination` object whose `next_page` names the next
 *   cursor. INFERRED, all of it: `hypermedia.pagination.first_page`/`next_page` and the `cursor_id`
 *   parameter were not found in any public copy of the documentation (the public OpenAPI mirror
 *   api-evangelist/partnerize openapi/partnerize-partner-conversions-api-openapi.yml documents
 *   `offset` paging, no cursor); that the object sits at the top level of the body (the older offset
 *   paging documented "a hypermedia node" there) and is left out on the last page is INFERRED too.
 * - "Access and Authentication": basic auth application_key:user_api_key.
 * Money is a JSON number in the example, so the fixture writes number literals.
 */

const PUBLISHER = '111111l92';
const APP_KEY = 'partnerize-application-key';
const USER_KEY = 'partnerize-user-api-key';
const PATH = `/reporting/report_publisher/publisher/${PUBLISHER}/conversion.json`;
const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8' };

const iso = (at: Date) => at.toISOString().replace('.000Z', 'Z');
const wall = (at: Date) => at.toISOString().slice(0, 19).replace('T', ' ');
const STATUSES: Readonly<Record<RecordInput['status'], string>> = { approved: 'approved', pending: 'pending', declined: 'rejected' };
const number = (digits: string | null) => (digits === null ? null : new LosslessNumber(digits));

/** One `conversions[]` entry shaped like the documented example. */
function record(conversion: RecordInput, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  if (conversion.type !== undefined) throw new Error('the partnerize fixture has no conversion types');
  const time = wall(conversion.occurredAt);
  return {
    conversion_data: {
      conversion_id: conversion.txid,
      campaign_id: '111111l29',
      publisher_id: PUBLISHER,
      conversion_time: time,
      creative_type: 0,
      creative_id: 0,
      specific_creative_id: 0,
      currency: conversion.currency,
      publisher_reference: conversion.clickId ?? '',
      advertiser_reference: 'adrefd',
      conversion_reference: 'AUTO-5ebc127cb2ddf3.85382959',
      customer_type: null,
      referer_ip: '265c:5b77:7721:e466:9e91:cf97:9b7a:b1f1',
      source_referer: '',
      last_modified: '2020-05-13 15:31:42',
      conversion_type: 1,
      country: 'ES',
      customer_reference: 'custrefa',
      ref_device_id: 2,
      ref_partnership_model_id: 2,
      ref_traffic_source_id: 3,
      ref_conversion_metric_id: 2,
      ref_user_context_id: 2,
      campaign_title: 'rubycampaignsuvwlynm',
      publisher_name: 'syjmmcll',
      click: {
        campaign_id: '111111l29', publisher_id: PUBLISHER, type: 'standard', status: 'nibbled', set_time: time, set_ip: '265c:5b77:7721:e466:9e91:cf97:9b7a:b1f1',
        last_used: 1589383804, last_ip: '265c:5b77:7721:e466:9e91:cf97:9b7a:b1f1', publisher_reference: conversion.clickId ?? '', referer: '', creative_id: 0,
        creative_type: 0, specific_creative_id: 0, ref_device_id: 2, ref_traffic_source_id: 3, ref_partnership_model_id: 2, ref_user_context_id: 2,
        ref_device: 'Desktop', ref_traffic_source: 'Affiliate', ref_partnership_model: 'CPA', ref_user_context: 'Web', clickref: '111111lfo',
      },
      ref_conversion_metric: 'Standard',
      ref_device: 'Desktop',
      ref_partnership_model: 'CPA',
      ref_traffic_source: 'Affiliate',
      ref_user_context: 'Web',
      conversion_value: { conversion_status: STATUSES[conversion.status], value: number('955'), publisher_commission: number(conversion.payout) },
      meta_data: { gclid: 'adword_google_meta_data' },
      conversion_items: [
        {
          conversion_item_id: conversion.txid, sku: 123, category: 'Producte', item_value: number('955'), item_publisher_commission: number(conversion.payout),
          item_status: STATUSES[conversion.status], last_update: '2020-05-13 15:30:04', publisher_self_bill_id: null, approved_at: null, item_status_id: 1,
          reject_reason: null, voucher_codes: [], meta_data: { gclid: 'adword_google_meta_data' }, payable: false,
        },
      ],
      was_disputed: false,
      conversion_lag: 0,
      clickref: '111111lfo',
      ...overrides,
    },
  };
}

const baseQuery = (window: PullWindow) => ({ start_date: iso(window.from), end_date: iso(window.to), timezone: 'UTC', limit: '300' });

/** The envelope of the example; `nextCursor` adds the documented hypermedia pagination. */
function envelope(window: PullWindow, conversions: readonly unknown[], nextCursor?: string): string {
  const query = new URLSearchParams(baseQuery(window)).toString();
  return (
    stringify({
      total_conversion_count: { EUR: conversions.length },
      total_publisher_commission: { EUR: new LosslessNumber('95.5') },
      total_value: { EUR: 955 },
      start_date_time_utc: wall(window.from),
      end_date_time_utc: wall(window.to),
      start_date_time: wall(window.from),
      end_date_time: wall(window.to),
      limit: 300,
      meta_data: [],
      count: conversions.length,
      execution_time: '1.04266 seconds',
      conversions,
      // INFERRED (see the header): hypermedia.pagination.first_page/next_page and cursor_id.
      ...(nextCursor ? { hypermedia: { pagination: { first_page: `${PATH}?${query}`, next_page: `${PATH}?${query}&cursor_id=${nextCursor}` } } } : {}),
    }) ?? ''
  );
}

const get = (scope: nock.Scope, query: Record<string, string>) => scope.get(PATH).query(query).basicAuth({ user: APP_KEY, pass: USER_KEY });

const fixture: ConnectorFixture<PartnerizeConfig> = {
  connector: partnerizeConnector,
  config: (baseUrl) => ({ publisher_id: PUBLISHER, application_key: APP_KEY, user_api_key: USER_KEY, base_url: baseUrl }),
  record: (conversion) => record(conversion),
  txidOf: (conversion) => conversion.txid,
  networkStatusOf: (conversion) => STATUSES[conversion.status],
  defaultType: null,
  lateChanges: [
    { name: 'pending, then approved', before: [input({ txid: '111111l314', status: 'pending' })], after: [input({ txid: '111111l314', status: 'approved' })] },
    { name: 'pending, then rejected', before: [input({ txid: '111111l315', status: 'pending' })], after: [input({ txid: '111111l315', status: 'declined' })] },
  ],
  servePages(scope, window, pages) {
    pages.forEach((conversions, index) => {
      const cursor: Record<string, string> = index === 0 ? {} : { cursor_id: `1032594299${index}` };
      const next = index < pages.length - 1 ? `1032594299${index + 1}` : undefined;
      get(scope, { ...baseQuery(window), ...cursor }).reply(200, envelope(window, conversions, next), JSON_HEADERS);
    });
    get(scope, { ...baseQuery(window), date_type: 'approved_at' }).reply(200, envelope(window, []), JSON_HEADERS);
  },
  firstRequest: (scope, window) => get(scope, baseQuery(window)),
  checkRequest: (scope) => scope.get(PATH).query((query) => query.limit === '1' && query.timezone === 'UTC' && !Number.isNaN(Date.parse(String(query.start_date)))).basicAuth({ user: APP_KEY, pass: USER_KEY }),
  checkBody: envelope(CONTRACT_WINDOW, []),
};

describeConnectorContract(fixture);

afterAll(() => nock.restore());

describe('Partnerize specifics', () => {
  const baseUrl = 'https://partnerize.api.test';
  const context = (options: { sleep?: (ms: number) => Promise<void> } = {}) =>
    createConnectorContext(partnerizeConnector, partnerizeConnector.configSchema.parse(fixture.config(baseUrl)), { retries: 2, baseDelayMs: 1, ...options });
  const freshScope = useNockScope(baseUrl);
  let scope: nock.Scope;
  beforeEach(() => (scope = freshScope()));

  test('cursor paging: the cursor_id of hypermedia next_page goes out with our own parameters until there is no next page', async () => {
    const paths: string[] = [];
    scope.on('request', (request: { path: string }) => paths.push(request.path));
    get(scope, baseQuery(CONTRACT_WINDOW)).reply(200, envelope(CONTRACT_WINDOW, [record(input({ txid: 'a' }))], '10325942995'), JSON_HEADERS);
    get(scope, { ...baseQuery(CONTRACT_WINDOW), cursor_id: '10325942995' }).reply(200, envelope(CONTRACT_WINDOW, [record(input({ txid: 'b' }))], '10325943310'), JSON_HEADERS);
    get(scope, { ...baseQuery(CONTRACT_WINDOW), cursor_id: '10325943310' }).reply(200, envelope(CONTRACT_WINDOW, [record(input({ txid: 'c' }))]), JSON_HEADERS);
    get(scope, { ...baseQuery(CONTRACT_WINDOW), date_type: 'approved_at' }).reply(200, envelope(CONTRACT_WINDOW, []), JSON_HEADERS);
    const pulled = await collect(partnerizeConnector, context(), CONTRACT_WINDOW);
    expect(pulled.map((page) => page.map((c) => c.txid))).toEqual([['a'], ['b'], ['c'], []]);
    expect(paths[1]).toBe(`${PATH}?timezone=UTC&limit=300&start_date=2024-11-01T00:00:00Z&end_date=2024-11-08T00:00:00Z&cursor_id=10325942995`);
    expect(scope.isDone()).toBe(true);
  });

  test('a next page with the same cursor, or without one, is an error rather than a loop', async () => {
    const loop = JSON.parse(envelope(CONTRACT_WINDOW, [record(input({ txid: 'a' }))], '777')) as Record<string, unknown>;
    get(scope, baseQuery(CONTRACT_WINDOW)).reply(200, loop, JSON_HEADERS);
    get(scope, { ...baseQuery(CONTRACT_WINDOW), cursor_id: '777' }).reply(200, loop, JSON_HEADERS);
    const requests = countRequests(scope);
    await expect(collect(partnerizeConnector, context(), CONTRACT_WINDOW)).rejects.toThrow(/same cursor_id \(777\)/);
    expect(requests.count).toBe(2);
    nock.cleanAll();
    const noCursor = { ...loop, hypermedia: { pagination: { next_page: `${PATH}?limit=300` } } };
    nock(baseUrl).get(PATH).query(baseQuery(CONTRACT_WINDOW)).basicAuth({ user: APP_KEY, pass: USER_KEY }).reply(200, noCursor, JSON_HEADERS);
    await expect(collect(partnerizeConnector, context(), CONTRACT_WINDOW)).rejects.toThrow(ConnectorResponseError);
  });

  test('the documented example: commission as its exact digits, EUR, pending, no publisher reference, conversion_time in UTC', async () => {
    const window = { from: new Date('2020-03-08T00:00:00Z'), to: new Date('2020-03-09T00:00:00Z') };
    const example = record(input({ txid: '111111l314', clickId: null, payout: '95.5', currency: 'EUR', status: 'pending', occurredAt: new Date('2020-03-08T17:18:33Z') }));
    get(scope, baseQuery(window)).reply(200, envelope(window, [example]), JSON_HEADERS);
    get(scope, { ...baseQuery(window), date_type: 'approved_at' }).reply(200, envelope(window, []), JSON_HEADERS);
    const [conversion] = (await collect(partnerizeConnector, context(), window)).flat();
    expect(conversion).toMatchObject({ txid: '111111l314', click_id: null, payout: '95.5', currency: 'EUR', status: 'pending', network_status: 'pending', type: null });
    expect(conversion?.occurred_at.toISOString()).toBe('2020-03-08T17:18:33.000Z');
  });

  test("the click's publisher reference stands in when the conversion's is empty; rejected is declined", async () => {
    const row = record(input({ txid: 'x1', clickId: null, status: 'declined' }));
    (row.conversion_data as { click: Record<string, unknown> }).click.publisher_reference = 'cfc3x9k2m8q7w';
    get(scope, baseQuery(CONTRACT_WINDOW)).reply(200, envelope(CONTRACT_WINDOW, [row]), JSON_HEADERS);
    get(scope, { ...baseQuery(CONTRACT_WINDOW), date_type: 'approved_at' }).reply(200, envelope(CONTRACT_WINDOW, []), JSON_HEADERS);
    const [conversion] = (await collect(partnerizeConnector, context(), CONTRACT_WINDOW)).flat();
    expect(conversion).toMatchObject({ click_id: 'cfc3x9k2m8q7w', status: 'declined', network_status: 'rejected' });
  });

  test('the approved_at sweep brings approvals of conversions older than the window', async () => {
    const old = record(input({ txid: 'old-1', status: 'approved', occurredAt: new Date('2024-08-01T10:00:00Z') }));
    get(scope, baseQuery(CONTRACT_WINDOW)).reply(200, envelope(CONTRACT_WINDOW, []), JSON_HEADERS);
    get(scope, { ...baseQuery(CONTRACT_WINDOW), date_type: 'approved_at' }).reply(200, envelope(CONTRACT_WINDOW, [old]), JSON_HEADERS);
    const pulled = (await collect(partnerizeConnector, context(), CONTRACT_WINDOW)).flat();
    expect(pulled.map((c) => [c.txid, c.status])).toEqual([['old-1', 'approved']]);
  });

  test('a 429 waits for X-RateLimit-Retry-After (Partnerize sends no Retry-After)', async () => {
    const waits: number[] = [];
    get(scope, baseQuery(CONTRACT_WINDOW)).reply(429, '{"error":{"message":"Too Many Requests","type":"429"}}', { ...JSON_HEADERS, 'X-RateLimit-Retry-After': '3', 'X-RateLimit-Limit': '100' });
    fixture.servePages(scope, CONTRACT_WINDOW, [[record(input({ txid: 'after' }))]]);
    await collect(partnerizeConnector, context({ sleep: async (ms) => void waits.push(ms) }), CONTRACT_WINDOW);
    expect(waits).toEqual([3000]);
  });
});
