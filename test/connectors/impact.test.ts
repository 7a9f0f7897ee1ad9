import { stringify } from 'lossless-json';
import nock from 'nock';
import { impactConnector, IMPACT_MAX_DAYS, type ImpactConfig } from '../../connectors/impact';
import { createConnectorContext } from '../../connectors/kit/context';
import { ConnectorResponseError } from '../../connectors/kit/errors';
import type { PullWindow } from '../../connectors/kit/types';
import { collect, CONTRACT_WINDOW, countRequests, describeConnectorContract, input, type ConnectorFixture, type RecordInput } from './contract';

/**
 * Fixture: impact.com's partner API, built from
 * - https://integrations.impact.com/impact-publisher/reference/list-actions (OpenAPI v16, as
 *   mirrored in api-evangelist/impact openapi/_original/impact-partner-actions-v16.yaml): the
 *   `Action` fields and their examples (Id "1000.4636.158133", Payout "0.88", EventDate
 *   "2024-09-10T10:42:38-07:00", LockingDate "2024-09-26T00:00:00-07:00", …); ActionDateStart/End,
 *   LockingDateStart/End and StartDate/EndDate filters, at most 45 days apart; states PENDING,
 *   APPROVED, REVERSED.
 * - https://integrations.impact.com/impact-publisher/reference/pagination: the list envelope
 *   (`@page`, `@numpages`, `@nextpageuri`, …) as quoted in /work/shared/reference/network-apis.md §1.4.
 * - https://integrations.impact.com/impact-publisher/reference/rate-limits (429, Retry-After,
 *   X-RateLimit-*-hour) and …/status-codes-and-errors (`{"Status": "ERROR", "Message": …}`).
 * Basic auth is AccountSID:AuthToken; every value is a string.
 */

const SID = 'IRabc123XYZ';
const TOKEN = 'impact-auth-token';
const ACTIONS = `/Mediapartners/${SID}/Actions`;
const JSON_HEADERS = { 'Content-Type': 'application/json' };
const DAY_MS = 86_400_000;

const iso = (at: number) => new Date(at).toISOString().replace('.000Z', 'Z');
/** The filter values of a whole-UTC-day request of `window`: midnight of its first day to the last second of its last. */
function dayFilter(window: PullWindow, from: string, to: string): Record<string, string> {
  const start = Math.floor(window.from.getTime() / DAY_MS) * DAY_MS;
  const end = Math.ceil(window.to.getTime() / DAY_MS) * DAY_MS - 1000;
  return { [from]: iso(start), [to]: iso(end) };
}

function actionsRequest(scope: nock.Scope, window: PullWindow): nock.Interceptor {
  return scope.get(ACTIONS).query(dayFilter(window, 'ActionDateStart', 'ActionDateEnd')).basicAuth({ user: SID, pass: TOKEN }).matchHeader('accept', 'application/json');
}

/** The two late-update sweeps over the same days. */
function sweepRequests(scope: nock.Scope, window: PullWindow): nock.Interceptor[] {
  return [
    scope.get(ACTIONS).query(dayFilter(window, 'LockingDateStart', 'LockingDateEnd')).basicAuth({ user: SID, pass: TOKEN }),
    scope.get(ACTIONS).query(dayFilter(window, 'StartDate', 'EndDate')).basicAuth({ user: SID, pass: TOKEN }),
  ];
}

/** Impact writes dates in the account's zone with its offset; Pacific standard time here. */
function pacific(date: Date): string {
  return `${new Date(date.getTime() - 8 * 3_600_000).toISOString().slice(0, 19)}-08:00`;
}

const STATES: Readonly<Record<RecordInput['status'], string>> = { approved: 'APPROVED', pending: 'PENDING', declined: 'REVERSED' };

function record(action: RecordInput): Record<string, string> {
  if (action.type !== undefined) throw new Error('the impact fixture has no conversion types');
  return {
    Id: action.txid,
    CampaignId: '9383',
    CampaignName: 'Acme US',
    ActionTrackerId: '17012',
    ActionTrackerName: 'Online Sale',
    EventCode: '',
    State: STATES[action.status],
    AdId: '621',
    Payout: action.payout ?? '',
    DeltaPayout: action.payout ?? '',
    IntendedPayout: action.payout ?? '',
    Amount: '45.00',
    DeltaAmount: '45.00',
    IntendedAmount: '45.00',
    Currency: action.currency ?? '',
    ReferringDate: pacific(new Date(action.occurredAt.getTime() - 720_000)),
    EventDate: pacific(action.occurredAt),
    CreationDate: pacific(new Date(action.occurredAt.getTime() + 65_000)),
    LockingDate: '2024-12-31T00:00:00-08:00',
    ClearedDate: '',
    ReferringType: 'CLICK_COOKIE',
    ReferringDomain: 'example.com',
    PromoCode: '',
    Oid: 'ORDER-123',
    CustomerCountry: 'US',
    SubId1: action.clickId ?? '',
    SubId2: '',
    SubId3: '',
    SharedId: '',
    Uri: `${ACTIONS}/${action.txid}`,
  };
}

/** The list envelope; every attribute is a string. */
function envelope(window: PullWindow, actions: readonly unknown[], page: number, pages: number, total: number): string {
  const filter = dayFilter(window, 'ActionDateStart', 'ActionDateEnd');
  const uri = (n: number) => `${ACTIONS}?ActionDateStart=${filter.ActionDateStart}&ActionDateEnd=${filter.ActionDateEnd}&Page=${n}`;
  return (
    stringify({
      '@page': String(page),
      '@numpages': String(pages),
      '@pagesize': '20000',
      '@total': String(total),
      '@start': '0',
      '@end': String(Math.max(0, actions.length - 1)),
      '@uri': uri(page),
      '@firstpageuri': uri(1),
      '@previouspageuri': page > 1 ? uri(page - 1) : '',
      '@nextpageuri': page < pages ? uri(page + 1) : '',
      '@lastpageuri': uri(pages),
      Actions: actions,
    }) ?? ''
  );
}

const fixture: ConnectorFixture<ImpactConfig> = {
  connector: impactConnector,
  config: (baseUrl) => ({ account_sid: SID, auth_token: TOKEN, base_url: baseUrl, click_id_field: 'SubId1' }),
  record,
  txidOf: (action) => action.txid,
  networkStatusOf: (action) => STATES[action.status],
  defaultType: null,
  lateChanges: [
    { name: 'PENDING, then APPROVED', before: [input({ txid: '19816.4510.1', status: 'pending' })], after: [input({ txid: '19816.4510.1', status: 'approved' })] },
    { name: 'PENDING, then REVERSED', before: [input({ txid: '19816.4510.2', status: 'pending' })], after: [input({ txid: '19816.4510.2', status: 'declined' })] },
  ],
  servePages(scope, window, pages) {
    const total = pages.reduce((sum, actions) => sum + actions.length, 0);
    pages.forEach((actions, index) => {
      const body = envelope(window, actions, index + 1, pages.length, total);
      if (index === 0) actionsRequest(scope, window).reply(200, body, JSON_HEADERS);
      // Later pages: exactly the @nextpageuri of the page before.
      else scope.get(ACTIONS).query({ ...dayFilter(window, 'ActionDateStart', 'ActionDateEnd'), Page: String(index + 1) }).basicAuth({ user: SID, pass: TOKEN }).reply(200, body, JSON_HEADERS);
    });
    for (const sweep of sweepRequests(scope, window)) sweep.reply(200, envelope(window, [], 1, 1, 0), JSON_HEADERS);
  },
  firstRequest: actionsRequest,
  checkRequest: (scope) =>
    scope
      .get(ACTIONS)
      .query((query) => !Number.isNaN(Date.parse(String(query.ActionDateStart))) && !Number.isNaN(Date.parse(String(query.ActionDateEnd))))
      .basicAuth({ user: SID, pass: TOKEN }),
  checkBody: envelope(CONTRACT_WINDOW, [], 1, 1, 0),
};

describeConnectorContract(fixture);

// Unpatch node's http once this file is done, so the next file in the worker starts clean.
afterAll(() => nock.restore());

describe('impact.com specifics', () => {
  const baseUrl = 'https://impact.api.test';
  const context = (overrides: Partial<ImpactConfig> = {}) =>
    createConnectorContext(impactConnector, impactConnector.configSchema.parse({ account_sid: SID, auth_token: TOKEN, base_url: baseUrl, ...overrides }), { retries: 3, baseDelayMs: 10 });
  let scope: nock.Scope;
  beforeAll(() => nock.disableNetConnect());
  beforeEach(() => {
    scope = nock(baseUrl);
  });
  afterEach(() => nock.cleanAll());
  afterAll(() => nock.enableNetConnect());

  test('@nextpageuri is followed verbatim on the configured host', async () => {
    const paths: string[] = [];
    scope.on('request', (request: { path: string }) => paths.push(request.path));
    fixture.servePages(scope, CONTRACT_WINDOW, [[record(input({ txid: 'a' }))], [record(input({ txid: 'b' }))]]);
    const pulled = await collect(impactConnector, context(), CONTRACT_WINDOW);
    expect(pulled.map((page) => page.map((c) => c.txid))).toEqual([['a'], ['b'], [], []]);
    expect(paths[1]).toBe(`${ACTIONS}?ActionDateStart=2024-11-01T00:00:00Z&ActionDateEnd=2024-11-07T23:59:59Z&Page=2`);
    expect(scope.isDone()).toBe(true);
  });

  test('a @nextpageuri on another host is not followed with our credentials', async () => {
    const body = JSON.parse(envelope(CONTRACT_WINDOW, [record(input({ txid: 'a' }))], 1, 2, 2)) as Record<string, unknown>;
    body['@nextpageuri'] = 'https://evil.example/Mediapartners/IRabc123XYZ/Actions?Page=2';
    actionsRequest(scope, CONTRACT_WINDOW).reply(200, body, JSON_HEADERS);
    const requests = countRequests(scope);
    await expect(collect(impactConnector, context(), CONTRACT_WINDOW)).rejects.toThrow(ConnectorResponseError);
    expect(requests.count).toBe(1);
  });

  test('numbers arrive as strings and stay exactly those strings', async () => {
    const row = { ...record(input({ txid: 's' })), Payout: '4.50', Amount: '45.00' };
    fixture.servePages(scope, CONTRACT_WINDOW, [[row]]);
    const [conversion] = (await collect(impactConnector, context(), CONTRACT_WINDOW)).flat();
    expect(conversion?.payout).toBe('4.50');
    expect(conversion?.raw).toMatchObject({ Payout: '4.50', CampaignId: '9383' });
  });

  test('REVERSED is declined, PENDING pending, APPROVED approved; an undocumented state stays pending with its name kept', async () => {
    const rows = ['REVERSED', 'PENDING', 'APPROVED', 'LOCKED'].map((State, i) => ({ ...record(input({ txid: `s${i}` })), State }));
    fixture.servePages(scope, CONTRACT_WINDOW, [rows]);
    const pulled = (await collect(impactConnector, context(), CONTRACT_WINDOW)).flat();
    expect(pulled.map((c) => [c.status, c.network_status])).toEqual([
      ['declined', 'REVERSED'],
      ['pending', 'PENDING'],
      ['approved', 'APPROVED'],
      ['pending', 'LOCKED'],
    ]);
  });

  test('requests are whole UTC days at most 45 days apart; a longer window becomes several requests', async () => {
    expect(impactConnector.maxWindowDays).toBe(IMPACT_MAX_DAYS - 1);
    // A job chunk of the largest size, starting mid-day: 45 calendar days, one request.
    const from = new Date('2024-09-01T13:20:00Z');
    const longest = { from, to: new Date(from.getTime() + impactConnector.maxWindowDays * DAY_MS) };
    const queries: Record<string, unknown>[] = [];
    scope
      .get(ACTIONS)
      .times(10)
      .query((sent) => queries.push(sent) > 0)
      .reply(200, envelope(longest, [], 1, 1, 0), JSON_HEADERS);
    await collect(impactConnector, context(), longest);
    expect(queries[0]).toEqual({ ActionDateStart: '2024-09-01T00:00:00Z', ActionDateEnd: '2024-10-15T23:59:59Z' });
    expect(queries).toHaveLength(3);
    for (const query of queries) {
      const [start, end] = Object.values(query).map((value) => Date.parse(String(value)));
      expect(end! - start!).toBeLessThan(IMPACT_MAX_DAYS * DAY_MS);
    }
    // Longer than one request may span: split, never refused, never over 45 days.
    queries.length = 0;
    await collect(impactConnector, context(), { from, to: new Date(from.getTime() + 50 * DAY_MS) });
    expect(queries.filter((query) => 'ActionDateStart' in query).map((query) => [query.ActionDateStart, query.ActionDateEnd])).toEqual([
      ['2024-09-01T00:00:00Z', '2024-10-15T23:59:59Z'],
      ['2024-10-16T00:00:00Z', '2024-10-21T23:59:59Z'],
    ]);
  });

  test('the LockingDate sweep brings approvals of actions older than the lookback; each action is yielded once', async () => {
    // Event 120 days before the window; approved at locking, inside the window.
    const old = { ...record(input({ txid: '1000.4636.1', status: 'approved', occurredAt: new Date(CONTRACT_WINDOW.from.getTime() - 120 * DAY_MS) })), LockingDate: '2024-11-03T00:00:00-07:00' };
    const recent = record(input({ txid: '1000.4636.2', status: 'pending' }));
    actionsRequest(scope, CONTRACT_WINDOW).reply(200, envelope(CONTRACT_WINDOW, [recent], 1, 1, 1), JSON_HEADERS);
    const [locked, updated] = sweepRequests(scope, CONTRACT_WINDOW);
    locked!.reply(200, envelope(CONTRACT_WINDOW, [old, recent], 1, 1, 2), JSON_HEADERS);
    updated!.reply(200, envelope(CONTRACT_WINDOW, [{ ...old, State: 'REVERSED' }], 1, 1, 1), JSON_HEADERS);
    const pulled = (await collect(impactConnector, context(), CONTRACT_WINDOW)).flat();
    expect(pulled.map((c) => [c.txid, c.status, c.network_status])).toEqual([
      ['1000.4636.2', 'pending', 'PENDING'],
      ['1000.4636.1', 'approved', 'APPROVED'],
    ]);
    expect(scope.isDone()).toBe(true);
  });

  test('a reversal after the lookback arrives through the last-updated sweep', async () => {
    const old = { ...record(input({ txid: '1000.4636.3', status: 'declined', occurredAt: new Date(CONTRACT_WINDOW.from.getTime() - 90 * DAY_MS) })) };
    actionsRequest(scope, CONTRACT_WINDOW).reply(200, envelope(CONTRACT_WINDOW, [], 1, 1, 0), JSON_HEADERS);
    const [locked, updated] = sweepRequests(scope, CONTRACT_WINDOW);
    locked!.reply(200, envelope(CONTRACT_WINDOW, [], 1, 1, 0), JSON_HEADERS);
    updated!.reply(200, envelope(CONTRACT_WINDOW, [old], 1, 1, 1), JSON_HEADERS);
    const pulled = (await collect(impactConnector, context(), CONTRACT_WINDOW)).flat();
    expect(pulled.map((c) => [c.txid, c.status, c.network_status])).toEqual([['1000.4636.3', 'declined', 'REVERSED']]);
  });

  test('click_id_field SharedId reads the Shared ID', async () => {
    const row = { ...record(input({ txid: 'shared', clickId: null })), SharedId: 'RT-19247423' };
    fixture.servePages(scope, CONTRACT_WINDOW, [[row]]);
    const [conversion] = (await collect(impactConnector, context({ click_id_field: 'SharedId' }), CONTRACT_WINDOW)).flat();
    expect(conversion?.click_id).toBe('RT-19247423');
  });

  test('an XML answer (Accept ignored) is a readable response error', async () => {
    actionsRequest(scope, CONTRACT_WINDOW).reply(200, '<ImpactRadiusResponse><Actions/></ImpactRadiusResponse>', { 'Content-Type': 'application/xml' });
    await expect(collect(impactConnector, context(), CONTRACT_WINDOW)).rejects.toThrow(ConnectorResponseError);
  });
});
