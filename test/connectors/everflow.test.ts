import { LosslessNumber, stringify } from 'lossless-json';
import nock from 'nock';
import { everflowConnector, EVERFLOW_PAGE_SIZE, type EverflowConfig } from '../../connectors/everflow';
import { createConnectorContext } from '../../connectors/kit/context';
import { ConnectorAuthError, ConnectorResponseError, ConnectorTransientError } from '../../connectors/kit/errors';
import type { PullWindow } from '../../connectors/kit/types';
import { collect, CONTRACT_WINDOW, describeConnectorContract, input, type ConnectorFixture, type RecordInput } from './contract';

/**
 * Everflow affiliate API, as documented at
 * https://developers.everflow.io/docs/affiliate/reporting/affiliate_raw_conversions (request body,
 * 365-day limit), https://developers.everflow.io/docs/user-guide/paging (page/page_size query,
 * `paging` object), https://developers-beta.everflow.io/user-guide/errors (`{"error": ...}` bodies)
 * and https://developers.everflow.io/docs/user-guide/rate_limiting (429, X-RateLimit-* headers).
 */

const API_KEY = 'ef-affiliate-key-123';
const PATH = '/v1/affiliates/reporting/conversions';
const JSON_HEADERS = { 'Content-Type': 'application/json' };

/** The request body's from/to, read as UTC (timezone_id 67), must cover the window. */
function coversWindow(window: PullWindow) {
  return (body: Record<string, unknown>): boolean => {
    const utc = (value: unknown) => Date.parse(`${String(value).replace(' ', 'T')}${String(value).length > 10 ? '' : 'T00:00:00'}Z`);
    return (
      body.timezone_id === 67 &&
      body.show_conversions === true &&
      body.show_events === true &&
      utc(body.from) <= window.from.getTime() &&
      utc(body.to) >= window.to.getTime() - 1000
    );
  };
}

function reportRequest(scope: nock.Scope, window: PullWindow, page: number): nock.Interceptor {
  return scope
    .post(PATH, coversWindow(window))
    .query({ page: String(page), page_size: String(EVERFLOW_PAGE_SIZE) })
    .matchHeader('x-eflow-api-key', API_KEY);
}

/** Events as Everflow names them; the connector lower-cases them into the type. */
const EVENT_NAMES: Readonly<Record<string, string>> = { lead: 'Lead', deposit_made: 'Deposit Made' };
/** A JSON number literal written with exactly these digits. */
const jsonLiteral = (digits: string) => new LosslessNumber(digits);

const STATUSES: Readonly<Record<RecordInput['status'], string>> = { approved: 'approved', pending: 'pending', declined: 'rejected' };

function record(conversion: RecordInput): Record<string, unknown> {
  return {
    conversion_id: conversion.txid,
    conversion_unix_timestamp: conversion.occurredAt.getTime() / 1000,
    click_unix_timestamp: conversion.occurredAt.getTime() / 1000 - 600,
    transaction_id: 'e2b1c7a9f0d84c3bb0d6a1f2c3d4e5f6',
    sub1: conversion.clickId ?? '',
    sub2: '',
    sub3: '',
    sub4: '',
    sub5: '',
    source_id: 'fb',
    status: STATUSES[conversion.status],
    revenue_type: 'rpa',
    // Written as the exact JSON number literal, like Everflow's own JSON.
    ...(conversion.payout === null ? {} : { revenue: jsonLiteral(conversion.payout) }),
    sale_amount: jsonLiteral('49.99'),
    currency_id: conversion.currency,
    is_event: conversion.type !== undefined,
    event: conversion.type === undefined ? 'Base' : EVENT_NAMES[conversion.type],
    order_id: 'ORD-10023',
    coupon_code: '',
    relationship: { offer: { network_offer_id: 12, name: 'Widget Trial' } },
  };
}

function page(conversions: readonly unknown[], pageNumber: number, total: number): string {
  return stringify({ conversions, paging: { page: pageNumber, page_size: EVERFLOW_PAGE_SIZE, total_count: total } }) ?? '';
}

const fixture: ConnectorFixture<EverflowConfig> = {
  connector: everflowConnector,
  config: (baseUrl) => ({ api_key: API_KEY, base_url: baseUrl, click_id_field: 'sub1' }),
  record,
  txidOf: (conversion) => conversion.txid,
  defaultType: null,
  lateChanges: [
    { name: 'pending, then approved', before: [input({ txid: 'late-1', status: 'pending' })], after: [input({ txid: 'late-1', status: 'approved' })] },
    { name: 'pending, then rejected', before: [input({ txid: 'late-2', status: 'pending' })], after: [input({ txid: 'late-2', status: 'declined', payout: '0' })] },
  ],
  servePages(scope, window, pages) {
    const total = pages.reduce((sum, conversions) => sum + conversions.length, 0);
    pages.forEach((conversions, index) => {
      reportRequest(scope, window, index + 1).reply(200, page(conversions, index + 1, total), JSON_HEADERS);
    });
  },
  replyRateLimited(scope, window) {
    // Everflow documents the 429 and its X-RateLimit-* headers but no Retry-After; the kit honours one when sent.
    reportRequest(scope, window, 1).reply(429, { error: 'Too Many Requests' }, { 'Retry-After': '1', 'X-RateLimit-Limit': '150', 'X-RateLimit-Remaining': '0' });
  },
  replyServerError(scope, window) {
    reportRequest(scope, window, 1).reply(503, { error: 'Service Unavailable' });
  },
  replyBodyError(scope, window, times) {
    // No 200-with-error is documented; the closest documented failure shape is {"error": "..."}.
    reportRequest(scope, window, 1).times(times).reply(200, { error: 'Something went wrong on the Everflow end' }, JSON_HEADERS);
  },
  bodyErrorClass: ConnectorTransientError,
  replyUnauthorized(scope, window) {
    reportRequest(scope, window, 1).reply(401, { error: 'Unauthorized' }, JSON_HEADERS);
  },
  replyCheck(scope) {
    // https://developers-beta.everflow.io/api-reference/get-affiliatesinfo
    scope.get('/v1/affiliates').matchHeader('x-eflow-api-key', API_KEY).reply(200, { network_affiliate_id: 7, name: 'Some Agency Inc.', account_status: 'active' }, JSON_HEADERS);
  },
  replyCheckUnauthorized(scope) {
    scope.get('/v1/affiliates').reply(401, { error: 'Unauthorized' }, JSON_HEADERS);
  },
};

describeConnectorContract(fixture);

// Unpatch node's http once this file is done, so the next file in the worker starts clean.
afterAll(() => nock.restore());

describe('Everflow specifics', () => {
  const baseUrl = 'https://everflow.api.test';
  const config = (overrides: Partial<EverflowConfig> = {}) => everflowConnector.configSchema.parse({ api_key: API_KEY, base_url: baseUrl, ...overrides });
  const context = (overrides: Partial<EverflowConfig> = {}, sleep?: (ms: number) => Promise<void>) =>
    createConnectorContext(everflowConnector, config(overrides), { retries: 3, baseDelayMs: 10, ...(sleep ? { sleep } : {}) });
  let scope: nock.Scope;
  beforeAll(() => nock.disableNetConnect());
  beforeEach(() => {
    scope = nock(baseUrl);
  });
  afterEach(() => nock.cleanAll());
  afterAll(() => nock.enableNetConnect());

  test('the affiliate earnings field is revenue, not payout', async () => {
    const row = { ...record(input({ txid: 'rev' })), revenue: jsonLiteral('3.50'), payout: jsonLiteral('1.00'), payout_type: 'cpa' };
    reportRequest(scope, CONTRACT_WINDOW, 1).reply(200, page([row], 1, 1), JSON_HEADERS);
    const [conversion] = (await collect(everflowConnector, context(), CONTRACT_WINDOW)).flat();
    expect(conversion?.payout).toBe('3.50');
    expect(scope.isDone()).toBe(true);
  });

  test('asks for the window in UTC (timezone_id 67) with pages of 2000', async () => {
    const window = { from: new Date('2024-11-01T06:30:00Z'), to: new Date('2024-11-02T06:30:00Z') };
    let body: unknown;
    let query: unknown;
    scope
      .post(PATH, (sent) => {
        body = sent;
        return true;
      })
      .query((sent) => {
        query = sent;
        return true;
      })
      .reply(200, page([], 1, 0), JSON_HEADERS);
    expect(await collect(everflowConnector, context(), window)).toEqual([[]]);
    expect(body).toEqual({ from: '2024-11-01 06:30:00', to: '2024-11-02 06:30:00', timezone_id: 67, show_conversions: true, show_events: true, query: { filters: [] } });
    expect(query).toEqual({ page: '1', page_size: '2000' });
  });

  test('status: conversion_status is read too, a missing status counts as approved, rejected and invalid are declined', async () => {
    const base = (txid: string) => {
      const { status: _status, ...row } = record(input({ txid }));
      return row;
    };
    const rows = [
      { ...base('beta-pending'), conversion_status: 'pending' },
      { ...base('no-status') },
      { ...base('invalid'), status: 'invalid' },
      { ...base('rejected'), status: 'rejected' },
      { ...base('approved'), conversion_status: 'approved' },
    ];
    reportRequest(scope, CONTRACT_WINDOW, 1).reply(200, page(rows, 1, rows.length), JSON_HEADERS);
    const pulled = (await collect(everflowConnector, context(), CONTRACT_WINDOW)).flat();
    expect(pulled.map((c) => [c.txid, c.status])).toEqual([
      ['beta-pending', 'pending'],
      ['no-status', 'approved'],
      ['invalid', 'declined'],
      ['rejected', 'declined'],
      ['approved', 'approved'],
    ]);
  });

  test('a post-conversion event gets its lower-cased, sanitised name as type; a base conversion none', async () => {
    const rows = [
      record(input({ txid: 'event', type: 'deposit_made' })),
      { ...record(input({ txid: 'beta-event' })), is_event: true, event: undefined, event_name: 'FTD / Casino!' },
      record(input({ txid: 'base' })),
    ];
    reportRequest(scope, CONTRACT_WINDOW, 1).reply(200, page(rows, 1, rows.length), JSON_HEADERS);
    const pulled = (await collect(everflowConnector, context(), CONTRACT_WINDOW)).flat();
    expect(pulled.map((c) => [c.txid, c.type])).toEqual([
      ['event', 'deposit_made'],
      ['beta-event', 'ftd_casino'],
      ['base', null],
    ]);
  });

  test('click_id_field picks the sub-id that carries the click ID', async () => {
    const row = { ...record(input({ txid: 'sub3', clickId: null })), sub3: 'clickInSub3' };
    reportRequest(scope, CONTRACT_WINDOW, 1).reply(200, page([row], 1, 1), JSON_HEADERS);
    const [conversion] = (await collect(everflowConnector, context({ click_id_field: 'sub3' }), CONTRACT_WINDOW)).flat();
    expect(conversion?.click_id).toBe('clickInSub3');
  });

  test('a 429 without Retry-After waits for the next 30 s window', async () => {
    const waits: number[] = [];
    reportRequest(scope, CONTRACT_WINDOW, 1).reply(429, { error: 'Too Many Requests' }, { 'X-RateLimit-Limit': '150', 'X-RateLimit-Remaining': '0' });
    reportRequest(scope, CONTRACT_WINDOW, 1).reply(200, page([record(input({ txid: 'after-wait' }))], 1, 1), JSON_HEADERS);
    const pulled = (await collect(everflowConnector, context({}, async (ms) => void waits.push(ms)), CONTRACT_WINDOW)).flat();
    expect(waits).toEqual([30_000]);
    expect(pulled.map((c) => c.txid)).toEqual(['after-wait']);
  });

  test('"Out of realm" (a network key on the affiliate API) fails at once as an auth error', async () => {
    reportRequest(scope, CONTRACT_WINDOW, 1).reply(403, { error: 'Out of realm' }, JSON_HEADERS);
    await expect(collect(everflowConnector, context(), CONTRACT_WINDOW)).rejects.toThrow(ConnectorAuthError);
    expect(scope.isDone()).toBe(true);
  });

  test('a row without conversion_id is a readable response error, not a silent skip', async () => {
    const { conversion_id: _id, ...row } = record(input({ txid: 'x' }));
    reportRequest(scope, CONTRACT_WINDOW, 1).reply(200, page([row], 1, 1), JSON_HEADERS);
    const failure = collect(everflowConnector, context(), CONTRACT_WINDOW);
    await expect(failure).rejects.toThrow(ConnectorResponseError);
    await expect(failure).rejects.toThrow(/conversions\[0\]\.conversion_id/);
  });
});
