import { stringify } from 'lossless-json';
import nock from 'nock';
import { impactConnector, IMPACT_MAX_WINDOW_DAYS, type ImpactConfig } from '../../connectors/impact';
import { createConnectorContext } from '../../connectors/kit/context';
import { ConnectorConfigError, ConnectorResponseError, ConnectorTransientError } from '../../connectors/kit/errors';
import type { PullWindow } from '../../connectors/kit/types';
import { collect, CONTRACT_WINDOW, countRequests, describeConnectorContract, input, type ConnectorFixture, type RecordInput } from './contract';

/**
 * impact.com partner API, as documented at
 * https://integrations.impact.com/impact-publisher/reference/list-actions-1 (ActionDateStart/End,
 * 45-day limit, states), https://integrations.impact.com/impact-publisher/reference/pagination
 * (envelope, @nextpageuri), https://integrations.impact.com/impact-publisher/reference/rate-limits
 * (429 with Retry-After) and https://integrations.impact.com/partner-api-reference/readme/status-codes-and-errors
 * (`{"Status": "ERROR", ...}` bodies). Basic auth is AccountSID:AuthToken; every value is a string.
 */

const SID = 'IRabc123XYZ';
const TOKEN = 'impact-auth-token';
const ACTIONS = `/Mediapartners/${SID}/Actions`;
const JSON_HEADERS = { 'Content-Type': 'application/json' };
const DAY_MS = 86_400_000;

/** ActionDateStart/End (ISO 8601 date-times) must cover the window, no more than 45 days apart. */
function coversWindow(window: PullWindow) {
  return (query: Record<string, unknown>): boolean => {
    const start = Date.parse(String(query.ActionDateStart));
    const end = Date.parse(String(query.ActionDateEnd));
    return start <= window.from.getTime() && end >= window.to.getTime() - 1000 && end - start <= IMPACT_MAX_WINDOW_DAYS * DAY_MS && query.Page === undefined;
  };
}

function actionsRequest(scope: nock.Scope, window: PullWindow): nock.Interceptor {
  return scope.get(ACTIONS).query(coversWindow(window)).basicAuth({ user: SID, pass: TOKEN }).matchHeader('accept', 'application/json');
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
  const uri = (n: number) => `${ACTIONS}?ActionDateStart=${window.from.toISOString().replace('.000Z', 'Z')}&ActionDateEnd=${window.to.toISOString().replace('.000Z', 'Z')}&Page=${n}`;
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
      else
        scope
          .get(ACTIONS)
          .query({ ActionDateStart: window.from.toISOString().replace('.000Z', 'Z'), ActionDateEnd: window.to.toISOString().replace('.000Z', 'Z'), Page: String(index + 1) })
          .basicAuth({ user: SID, pass: TOKEN })
          .reply(200, body, JSON_HEADERS);
    });
  },
  replyRateLimited(scope, window) {
    actionsRequest(scope, window).reply(429, { Status: 'ERROR', Message: 'Too Many Requests' }, { 'X-RateLimit-Limit-hour': '500', 'X-RateLimit-Remaining-hour': '0', 'RateLimit-Reset': '1', 'Retry-After': '1' });
  },
  replyServerError(scope, window) {
    actionsRequest(scope, window).reply(503, { Status: 'ERROR', Message: 'Service Unavailable' }, JSON_HEADERS);
  },
  replyBodyError(scope, window, times) {
    // No 200-with-error is documented; the closest documented failure shape is {"Status": "ERROR", ...}.
    actionsRequest(scope, window).times(times).reply(200, { Status: 'ERROR', Message: 'An internal error occurred' }, JSON_HEADERS);
  },
  bodyErrorClass: ConnectorTransientError,
  replyUnauthorized(scope, window) {
    scope.get(ACTIONS).query(coversWindow(window)).reply(401, { Status: 'ERROR', Message: 'Unauthorized' }, JSON_HEADERS);
  },
  replyCheck(scope) {
    scope
      .get(ACTIONS)
      .query((query) => !Number.isNaN(Date.parse(String(query.ActionDateStart))) && !Number.isNaN(Date.parse(String(query.ActionDateEnd))))
      .basicAuth({ user: SID, pass: TOKEN })
      .reply(200, envelope(CONTRACT_WINDOW, [], 1, 1, 0), JSON_HEADERS);
  },
  replyCheckUnauthorized(scope) {
    scope.get(ACTIONS).query(true).reply(401, { Status: 'ERROR', Message: 'Unauthorized' }, JSON_HEADERS);
  },
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
    expect(pulled.map((page) => page.map((c) => c.txid))).toEqual([['a'], ['b']]);
    expect(paths[1]).toBe(`${ACTIONS}?ActionDateStart=2024-11-01T00:00:00Z&ActionDateEnd=2024-11-08T00:00:00Z&Page=2`);
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
    actionsRequest(scope, CONTRACT_WINDOW).reply(200, envelope(CONTRACT_WINDOW, [row], 1, 1, 1), JSON_HEADERS);
    const [conversion] = (await collect(impactConnector, context(), CONTRACT_WINDOW)).flat();
    expect(conversion?.payout).toBe('4.50');
    expect(conversion?.raw).toMatchObject({ Payout: '4.50', CampaignId: '9383' });
  });

  test('REVERSED is declined, PENDING pending, APPROVED approved', async () => {
    const rows = ['REVERSED', 'PENDING', 'APPROVED'].map((State, i) => ({ ...record(input({ txid: `s${i}` })), State }));
    actionsRequest(scope, CONTRACT_WINDOW).reply(200, envelope(CONTRACT_WINDOW, rows, 1, 1, rows.length), JSON_HEADERS);
    const pulled = (await collect(impactConnector, context(), CONTRACT_WINDOW)).flat();
    expect(pulled.map((c) => c.status)).toEqual(['declined', 'pending', 'approved']);
  });

  test('maxWindowDays keeps each query within the 45-day limit; a longer window is refused before any request', async () => {
    expect(impactConnector.maxWindowDays).toBe(45);
    const from = new Date('2024-09-01T00:00:00Z');
    const longest = { from, to: new Date(from.getTime() + impactConnector.maxWindowDays * DAY_MS) };
    const requests = countRequests(scope);
    let query: Record<string, unknown> = {};
    scope
      .get(ACTIONS)
      .query((sent) => {
        query = sent;
        return true;
      })
      .reply(200, envelope(longest, [], 1, 1, 0), JSON_HEADERS);
    await collect(impactConnector, context(), longest);
    expect(query).toEqual({ ActionDateStart: '2024-09-01T00:00:00Z', ActionDateEnd: '2024-10-16T00:00:00Z' });
    expect(Date.parse(String(query.ActionDateEnd)) - Date.parse(String(query.ActionDateStart))).toBeLessThanOrEqual(45 * DAY_MS);

    const tooLong = { from, to: new Date(longest.to.getTime() + 1000) };
    await expect(collect(impactConnector, context(), tooLong)).rejects.toThrow(ConnectorConfigError);
    expect(requests.count).toBe(1);
  });

  test('click_id_field SharedId reads the Shared ID', async () => {
    const row = { ...record(input({ txid: 'shared', clickId: null })), SharedId: 'RT-19247423' };
    actionsRequest(scope, CONTRACT_WINDOW).reply(200, envelope(CONTRACT_WINDOW, [row], 1, 1, 1), JSON_HEADERS);
    const [conversion] = (await collect(impactConnector, context({ click_id_field: 'SharedId' }), CONTRACT_WINDOW)).flat();
    expect(conversion?.click_id).toBe('RT-19247423');
  });

  test('an XML answer (Accept ignored) is a readable response error', async () => {
    actionsRequest(scope, CONTRACT_WINDOW).reply(200, '<ImpactRadiusResponse><Actions/></ImpactRadiusResponse>', { 'Content-Type': 'application/xml' });
    await expect(collect(impactConnector, context(), CONTRACT_WINDOW)).rejects.toThrow(ConnectorResponseError);
  });
});
