import { LosslessNumber, stringify } from 'lossless-json';
import nock from 'nock';
import { everflowConnector, EVERFLOW_PAGE_SIZE } from '../../connectors/everflow';
import { createConnectorContext } from '../../connectors/kit/context';
import { ConnectorResponseError } from '../../connectors/kit/errors';
import type { PullWindow } from '../../connectors/kit/types';
import { collect, CONTRACT_WINDOW, describeConnectorContract, input, type ConnectorFixture, type RecordInput } from './contract';

/**
 * Fixture: Everflow's affiliate API, built from
 * - https://developers.everflow.io/api-reference/post-affiliatesreportingconversions — the
 *   "Search Conversions" request example (`from`, `to`, `timezone_id`, `show_conversions`,
 *   `show_events`, `query.filters`; `page`/`page_size` as query parameters) and its response
 *   fields (conversion_id, transaction_id, conversion_unix_timestamp, click_unix_timestamp,
 *   revenue, sale_amount, event, is_event, source_id, revenue_type, sub1–sub5, currency_id,
 *   order_id, coupon_code, relationship; `paging` {page, page_size, total_count}). It shows no
 *   status field, so no report row here has one.
 * - https://developers.everflow.io/api-reference/post-affiliatesreportingonhold — the "Search
 *   On-Hold Conversions" example ({on_hold_conversion_id, network_id, holding_period_end, status,
 *   conversion {conversion_id, transaction_id, conversion_unix_timestamp, revenue, sale_amount,
 *   event_name, sub1–sub5, relationship {offer, events_count}}}; `paging` as above).
 * - https://developers.everflow.io/docs/affiliate/reporting/affiliate_raw_on_hold_conversions — "Each
 *   request must contain" from/to, timezone_id, show_conversions, show_events and
 *   `on_hold_status_filter` ("on_hold, approved, rejected", or "" for all): the connector sends
 *   "on_hold", and the on-hold nock expectations require it. The `status` value "on_hold" is that
 *   filter's value for a held conversion, as the network on-hold page's example shows it
 *   (https://developers.everflow.io/api-reference/get-networksreportingonhold: "status": "on_hold").
 *   INFERRED: that `conversion.conversion_id` is the report's conversion_id (the page types it as an integer).
 * - https://developers.everflow.io/api-reference/get-affiliatesinfo (check()).
 */

const API_KEY = 'ef-affiliate-key-123';
const REPORT = '/v1/affiliates/reporting/conversions';
const ON_HOLD = '/v1/affiliates/reporting/onhold';
const JSON_HEADERS = { 'Content-Type': 'application/json' };
/** A JSON number literal written with exactly these digits, as Everflow's JSON carries money. */
const literal = (digits: string) => new LosslessNumber(digits);
/** Events as Everflow names them; the connector lower-cases them into the type. */
const EVENT_NAMES: Readonly<Record<string, string>> = { lead: 'Lead', deposit_made: 'Deposit Made' };
/** A held conversion's `status`: the documented `on_hold_status_filter` value the connector asks for (see the header). */
const ON_HOLD_STATUS = 'on_hold';

/** A row of the conversion report: only documented fields. */
function reportRow(conversion: RecordInput): Record<string, unknown> {
  const seconds = conversion.occurredAt.getTime() / 1000;
  return {
    conversion_id: conversion.txid,
    transaction_id: 'e2b1c7a9f0d84c3bb0d6a1f2c3d4e5f6',
    conversion_unix_timestamp: seconds,
    click_unix_timestamp: seconds - 600,
    ...(conversion.payout === null ? {} : { revenue: literal(conversion.payout) }),
    sale_amount: literal('49.99'),
    event: conversion.type === undefined ? 'Base' : EVENT_NAMES[conversion.type],
    is_event: conversion.type !== undefined,
    source_id: 'fb',
    revenue_type: 'CPA',
    sub1: conversion.clickId ?? '',
    sub2: '',
    sub3: '',
    sub4: '',
    sub5: '',
    currency_id: conversion.currency,
    order_id: 'ORD-10023',
    coupon_code: '',
    relationship: { offer: { network_offer_id: 12, name: 'Widget Trial' } },
  };
}

/** A record of the on-hold report: only the example's fields (relationship as the example shows it). */
function onHoldRow(conversion: RecordInput): Record<string, unknown> {
  return {
    on_hold_conversion_id: 991,
    network_id: 7,
    holding_period_end: conversion.occurredAt.getTime() / 1000 + 14 * 86_400,
    status: ON_HOLD_STATUS,
    conversion: {
      conversion_id: conversion.txid,
      transaction_id: 'e2b1c7a9f0d84c3bb0d6a1f2c3d4e5f6',
      conversion_unix_timestamp: conversion.occurredAt.getTime() / 1000,
      ...(conversion.payout === null ? {} : { revenue: literal(conversion.payout) }),
      sale_amount: literal('49.99'),
      event_name: 'Base',
      sub1: conversion.clickId ?? '',
      sub2: '',
      sub3: '',
      sub4: '',
      sub5: '',
      relationship: { offer: {}, events_count: 0 },
    },
  };
}

/** Tagged so servePages can put each record on its report; approved = listed in the report. */
interface Served {
  readonly report: 'conversions' | 'on_hold';
  readonly row: Record<string, unknown>;
}

function record(conversion: RecordInput): Served {
  if (conversion.status === 'approved') return { report: 'conversions', row: reportRow(conversion) };
  if (conversion.status === 'pending') return { report: 'on_hold', row: onHoldRow(conversion) };
  throw new Error('the affiliate API shows no rejected conversions: a declined record cannot be built from the documentation');
}

function page(conversions: readonly unknown[], pageNumber: number, total: number): string {
  return stringify({ conversions, paging: { page: pageNumber, page_size: EVERFLOW_PAGE_SIZE, total_count: total } }) ?? '';
}

/** The body's from/to, read as UTC (timezone_id 67), must cover the window. */
function coversWindow(window: PullWindow, showEvents: boolean) {
  return (body: Record<string, unknown>): boolean => {
    const utc = (value: unknown) => Date.parse(`${String(value).replace(' ', 'T')}Z`);
    return body.timezone_id === 67 && body.show_conversions === true && body.show_events === showEvents && utc(body.from) <= window.from.getTime() && utc(body.to) >= window.to.getTime() - 1000;
  };
}

/** The on-hold report's body: the window, and the required `on_hold_status_filter` asking for held conversions. */
function onHoldBody(window: PullWindow) {
  const covers = coversWindow(window, false);
  return (body: Record<string, unknown>): boolean => covers(body) && body.on_hold_status_filter === 'on_hold';
}

function reportRequest(scope: nock.Scope, window: PullWindow, pageNumber: number): nock.Interceptor {
  return scope.post(REPORT, coversWindow(window, true)).query({ page: String(pageNumber), page_size: String(EVERFLOW_PAGE_SIZE) }).matchHeader('x-eflow-api-key', API_KEY);
}

function onHoldRequest(scope: nock.Scope, window: PullWindow, pageNumber: number): nock.Interceptor {
  return scope.post(ON_HOLD, onHoldBody(window)).query({ page: String(pageNumber), page_size: String(EVERFLOW_PAGE_SIZE) }).matchHeader('x-eflow-api-key', API_KEY);
}

/** Serves pages of tagged records: each report gets its own pages, in order. */
function serve(scope: nock.Scope, window: PullWindow, pages: readonly (readonly unknown[])[]): void {
  for (const report of ['on_hold', 'conversions'] as const) {
    const rows = pages.map((records) => (records as Served[]).filter((served) => served.report === report).map((served) => served.row)).filter((rows, index) => rows.length > 0 || index === 0);
    const total = rows.reduce((sum, list) => sum + list.length, 0);
    const request = report === 'on_hold' ? onHoldRequest : reportRequest;
    rows.forEach((list, index) => request(scope, window, index + 1).reply(200, page(list, index + 1, total), JSON_HEADERS));
  }
}

const fixture: ConnectorFixture<Record<string, unknown>> = {
  connector: everflowConnector as never,
  // The operator has said that their network shows partners approved conversions only.
  config: (baseUrl) => ({ api_key: API_KEY, base_url: baseUrl, click_id_field: 'sub1', unreported_status: 'approved' }),
  record,
  txidOf: (conversion) => conversion.txid,
  networkStatusOf: (conversion) => (conversion.status === 'pending' ? ON_HOLD_STATUS : null),
  defaultType: null,
  lateChanges: [{ name: 'on hold, then released into the report', before: [input({ txid: 'late-1', status: 'pending', currency: null })], after: [input({ txid: 'late-1', status: 'approved' })] }],
  servePages: serve,
  firstRequest: (scope, window) => onHoldRequest(scope, window, 1),
  checkRequest: (scope) => scope.get('/v1/affiliates').matchHeader('x-eflow-api-key', API_KEY),
  // https://developers.everflow.io/api-reference/get-affiliatesinfo (abridged to documented fields).
  checkBody: '{"network_affiliate_id":7,"name":"Some Agency Inc.","account_status":"active"}',
};

describeConnectorContract(fixture);

// Unpatch node's http once this file is done, so the next file in the worker starts clean.
afterAll(() => nock.restore());

describe('Everflow specifics', () => {
  const baseUrl = 'https://everflow.api.test';
  const context = (overrides: Record<string, unknown> = {}) =>
    createConnectorContext(everflowConnector, everflowConnector.configSchema.parse({ api_key: API_KEY, base_url: baseUrl, ...overrides }), { retries: 3, baseDelayMs: 10 });
  let scope: nock.Scope;
  beforeAll(() => nock.disableNetConnect());
  beforeEach(() => {
    scope = nock(baseUrl);
  });
  afterEach(() => nock.cleanAll());
  afterAll(() => nock.enableNetConnect());

  const emptyOnHold = (window: PullWindow = CONTRACT_WINDOW) => onHoldRequest(scope, window, 1).reply(200, page([], 1, 0), JSON_HEADERS);

  test('a report row without a status is not assumed approved: it gets the connection\'s unreported_status (pending by default)', async () => {
    for (const [setting, status] of [[undefined, 'pending'], ['approved', 'approved']] as const) {
      emptyOnHold();
      reportRequest(scope, CONTRACT_WINDOW, 1).reply(200, page([reportRow(input({ txid: 'silent' }))], 1, 1), JSON_HEADERS);
      const [conversion] = (await collect(everflowConnector, context(setting ? { unreported_status: setting } : {}), CONTRACT_WINDOW)).flat();
      expect(conversion).toMatchObject({ txid: 'silent', status, network_status: null });
    }
    expect(scope.isDone()).toBe(true);
  });

  test('a status field, where one appears, is read and kept as the network wrote it', async () => {
    // conversion_status appears in one published variant of the affiliate page; status in the network report.
    const rows = [
      { ...reportRow(input({ txid: 'a' })), conversion_status: 'approved' },
      { ...reportRow(input({ txid: 'r' })), status: 'rejected' },
      { ...reportRow(input({ txid: 'i' })), status: 'invalid' },
      { ...reportRow(input({ txid: 'p' })), conversion_status: 'pending' },
      { ...reportRow(input({ txid: 'x' })), status: 'held_for_review' },
    ];
    emptyOnHold();
    reportRequest(scope, CONTRACT_WINDOW, 1).reply(200, page(rows, 1, rows.length), JSON_HEADERS);
    const pulled = (await collect(everflowConnector, context({ unreported_status: 'approved' }), CONTRACT_WINDOW)).flat();
    expect(pulled.map((c) => [c.txid, c.status, c.network_status])).toEqual([
      ['a', 'approved', 'approved'],
      ['r', 'declined', 'rejected'],
      ['i', 'declined', 'invalid'],
      ['p', 'pending', 'pending'],
      ['x', 'pending', 'held_for_review'],
    ]);
  });

  test('a conversion on hold is pending even when the report lists it too', async () => {
    const held = input({ txid: 'held' });
    onHoldRequest(scope, CONTRACT_WINDOW, 1).reply(200, page([onHoldRow(held)], 1, 1), JSON_HEADERS);
    reportRequest(scope, CONTRACT_WINDOW, 1).reply(200, page([reportRow(held)], 1, 1), JSON_HEADERS);
    const pulled = (await collect(everflowConnector, context({ unreported_status: 'approved' }), CONTRACT_WINDOW)).flat();
    expect(pulled).toEqual([expect.objectContaining({ txid: 'held', status: 'pending', network_status: ON_HOLD_STATUS, payout: '12.50', currency: null })]);
    expect(scope.isDone()).toBe(true);
  });

  test('the affiliate earnings field is revenue, not payout', async () => {
    const row = { ...reportRow(input({ txid: 'rev', payout: '3.50' })) };
    emptyOnHold();
    reportRequest(scope, CONTRACT_WINDOW, 1).reply(200, page([row], 1, 1), JSON_HEADERS);
    const [conversion] = (await collect(everflowConnector, context(), CONTRACT_WINDOW)).flat();
    expect(conversion?.payout).toBe('3.50');
  });

  test('asks for the window in UTC (timezone_id 67) with pages of 2000, on-hold conversions first (on_hold_status_filter "on_hold")', async () => {
    const window = { from: new Date('2024-11-01T06:30:00Z'), to: new Date('2024-11-02T06:30:00Z') };
    const bodies: unknown[] = [];
    const queries: unknown[] = [];
    for (const path of [ON_HOLD, REPORT]) {
      scope
        .post(path, (sent) => bodies.push(sent) > 0)
        .query((sent) => queries.push(sent) > 0)
        .reply(200, page([], 1, 0), JSON_HEADERS);
    }
    expect((await collect(everflowConnector, context(), window)).flat()).toEqual([]);
    expect(bodies).toEqual([
      { from: '2024-11-01 06:30:00', to: '2024-11-02 06:29:59', timezone_id: 67, show_conversions: true, show_events: false, on_hold_status_filter: 'on_hold', query: { filters: [] } },
      { from: '2024-11-01 06:30:00', to: '2024-11-02 06:29:59', timezone_id: 67, show_conversions: true, show_events: true, query: { filters: [] } },
    ]);
    expect(queries).toEqual([{ page: '1', page_size: '2000' }, { page: '1', page_size: '2000' }]);
  });

  test('a post-conversion event gets its lower-cased, sanitised name as type; a base conversion none', async () => {
    const rows = [reportRow(input({ txid: 'event', type: 'deposit_made' })), { ...reportRow(input({ txid: 'beta-event' })), is_event: true, event: undefined, event_name: 'FTD / Casino!' }, reportRow(input({ txid: 'base' }))];
    emptyOnHold();
    reportRequest(scope, CONTRACT_WINDOW, 1).reply(200, page(rows, 1, rows.length), JSON_HEADERS);
    const pulled = (await collect(everflowConnector, context(), CONTRACT_WINDOW)).flat();
    expect(pulled.map((c) => [c.txid, c.type])).toEqual([
      ['event', 'deposit_made'],
      ['beta-event', 'ftd_casino'],
      ['base', null],
    ]);
  });

  test('click_id_field picks the sub-id that carries the click ID, on both reports', async () => {
    const row = { ...reportRow(input({ txid: 'sub3', clickId: null })), sub3: 'clickInSub3' };
    const held = onHoldRow(input({ txid: 'held3', clickId: null }));
    (held.conversion as Record<string, unknown>).sub3 = 'heldInSub3';
    onHoldRequest(scope, CONTRACT_WINDOW, 1).reply(200, page([held], 1, 1), JSON_HEADERS);
    reportRequest(scope, CONTRACT_WINDOW, 1).reply(200, page([row], 1, 1), JSON_HEADERS);
    const pulled = (await collect(everflowConnector, context({ click_id_field: 'sub3' }), CONTRACT_WINDOW)).flat();
    expect(pulled.map((c) => c.click_id)).toEqual(['heldInSub3', 'clickInSub3']);
  });

  test('a row without conversion_id is a readable response error, not a silent skip', async () => {
    const { conversion_id: _id, ...row } = reportRow(input({ txid: 'x' }));
    emptyOnHold();
    reportRequest(scope, CONTRACT_WINDOW, 1).reply(200, page([row], 1, 1), JSON_HEADERS);
    const failure = collect(everflowConnector, context(), CONTRACT_WINDOW);
    await expect(failure).rejects.toThrow(ConnectorResponseError);
    await expect(failure).rejects.toThrow(/conversion_id/);
  });

  test('every connection carries the status caveat as a warning', () => {
    const [pending] = everflowConnector.warnings(everflowConnector.configSchema.parse({ api_key: 'k' }));
    expect(pending).toMatch(/does not state a conversion's status.*registered as pending/);
    const [approved] = everflowConnector.warnings(everflowConnector.configSchema.parse({ api_key: 'k', unreported_status: 'approved' }));
    expect(approved).toMatch(/registered as approved/);
  });
});
