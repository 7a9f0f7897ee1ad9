/**
 * Tonic fixtures follow "TONIC for Publishers - API Documentation" (v3) as copied verbatim in
 * https://github.com/gomezacero/launchpro-gcloud/blob/0724bd48f68357747af4e9d48c55027b7a5dba99/TONIC_API_Documentation.md
 * (the live page needs a publisher login):
 * - "JWT Authenticate Endpoint": POST /jwt/authenticate → {"token": "eyJ…", "expires": 1594904573}
 * - "Daily EPC Tracking": GET /privileged/v3/epc/daily?date=… → [{date, campaign_id, campaign_name, clicks, revenueUsd,
 *   subid1..subid4, keyword, timestamp, adtype, advertiser, template}]; `revenue_type` is the column `show_revenue_type=yes`
 *   appends — INFERRED: its values on a row are the documented filter values (estimated_revenue, estimated_revenue_5h, final).
 * - "Final EPC Tracking": GET /privileged/v3/epc/final?from=…&to=… — INFERRED: no example is documented; the rows below
 *   have the /epc/daily shape without revenue_type.
 * - "Check if Date is Final": GET /privileged/v3/final/date?date=… → [{"final": "yes"}] (the not-final answer
 *   [{"final": "no"}] is INFERRED); "Last Final Date": GET /privileged/v3/last/final → {"final-date": "…"}.
 * - "Error Responses": JSON arrays of strings, e.g. 401 ["Token expired! [<uid>]"].
 */
import nock from 'nock';
import { createConnectorContext } from '../../connectors/kit/context';
import type { NormalizedRevenueRow, RevenuePhase } from '../../connectors/kit/types';
import { feedDaysWindow } from '../../jobs/revenue-schedule';
import { tonicConnector } from '../../connectors/tonic';
import type { AnyConnector } from '../../connectors/kit/types';
import { describeRevenueFeedContract, type FeedRow } from './revenue-contract';

const KEY = 'myUsername';
const SECRET = 'myPassword';

/** One /epc/daily row as documented; the sub-id goes in subid4 (the connection's click_id_field). */
function epcRow(day: string, row: FeedRow, withRevenueType: boolean): Record<string, unknown> {
  return {
    date: day,
    campaign_id: '140',
    campaign_name: 'test display campaign',
    clicks: '10',
    revenueUsd: row.amount,
    subid1: 'first-subid-1',
    subid2: 'second-subid',
    subid3: 'third-subid',
    subid4: row.subId ?? '',
    keyword: 'example keyword 1',
    timestamp: `${day} 12:34:56`,
    adtype: 'email',
    advertiser: 'PremiumRate',
    template: null,
    ...(withRevenueType ? { revenue_type: row.stage === 'final' ? 'final' : 'estimated_revenue' } : {}),
  };
}

const daily = (scope: nock.Scope, day: string) => scope.get('/privileged/v3/epc/daily').query({ date: day, output: 'json', show_revenue_type: 'yes' });
const finalDate = (scope: nock.Scope, day: string) => scope.get('/privileged/v3/final/date').query({ date: day });

function serveAuth(scope: nock.Scope, times = 1): void {
  let issued = 0;
  scope
    .post('/jwt/authenticate', { consumer_key: KEY, consumer_secret: SECRET })
    .times(times)
    .reply(200, () => ({ token: `eyJ0eXAiOsiJKV1QiLCJhbGciOiJIUI1NiJ9.${++issued}`, expires: Math.floor(Date.now() / 1000) + 5400 }));
}

describeRevenueFeedContract({
  connector: tonicConnector as unknown as Parameters<typeof describeRevenueFeedContract>[0]['connector'],
  config: (baseUrl) => ({ consumer_key: KEY, consumer_secret: SECRET, base_url: baseUrl }),
  serveAuth,
  serveDay(scope, day, phase: RevenuePhase, pages) {
    const rows = pages.flat();
    if (phase === 'final') {
      finalDate(scope, day).reply(200, [{ final: 'yes' }]);
      scope.get('/privileged/v3/epc/final').query({ from: day, to: day, output: 'json' }).reply(200, rows.map((row) => epcRow(day, row, false)));
    }
    daily(scope, day).reply(200, rows.map((row) => epcRow(day, row, true)));
  },
  firstRequest: (scope, day, phase) => (phase === 'final' ? finalDate(scope, day) : daily(scope, day)),
  checkRequest: (scope) => scope.get('/privileged/v3/last/final').query({ output: 'json' }),
  checkBody: '{"final-date": "2018-06-21 00:00:00"}',
  networkStatusOf: (stage, phase) => (phase === 'final' || stage === 'final' ? 'final' : 'estimated_revenue'),
  currency: 'USD',
  summary: { documented: false, why: 'Tonic documents no totals row in its EPC reports' },
  expireCredentials(scope, day, rows) {
    serveAuth(scope, 2);
    daily(scope, day).reply(401, ['Token expired! [5f0c7a1e]']);
    daily(scope, day).reply(200, rows.map((row) => epcRow(day, row, true)));
    return 'renewed';
  },
});

describe('Tonic specifics', () => {
  const baseUrl = 'https://tonic-specifics.api.test';
  beforeAll(() => nock.disableNetConnect());
  afterEach(() => nock.cleanAll());
  afterAll(() => nock.enableNetConnect());

  test('a final pull of a day Tonic does not call final yet takes the day\'s estimates', async () => {
    const connector = tonicConnector;
    const scope = nock(baseUrl);
    serveAuth(scope);
    // INFERRED: the not-final answer of /final/date; the docs show only [{"final": "yes"}] (the connector treats anything but "yes" as not final).
    finalDate(scope, '2024-11-05').reply(200, [{ final: 'no' }]);
    daily(scope, '2024-11-05').reply(200, [epcRow('2024-11-05', { subId: 'clk1', amount: '1.10', stage: 'estimated' }, true)]);
    const rows: NormalizedRevenueRow[] = [];
    const context = createConnectorContext(connector, connector.configSchema.parse({ consumer_key: KEY, consumer_secret: SECRET, base_url: baseUrl }), { retries: 1, baseDelayMs: 1 });
    for await (const page of connector.pull(context, feedDaysWindow('2024-11-05', '2024-11-05', 'America/Los_Angeles', 'final'))) rows.push(...page);
    expect(rows.map((row) => [row.sub_id, row.final, row.network_status])).toEqual([['clk1', false, 'estimated_revenue']]);
    expect(scope.isDone()).toBe(true);
  });

  test('wrong credentials on the token exchange are an auth failure naming where to find them', async () => {
    nock(baseUrl).post('/jwt/authenticate').reply(403, ['Forbidden! Wrong credentials! [5f0c7a20]']);
    const connector = tonicConnector as unknown as AnyConnector;
    const context = createConnectorContext(connector, connector.configSchema.parse({ consumer_key: KEY, consumer_secret: 'wrong', base_url: baseUrl }), { retries: 1, baseDelayMs: 1 });
    await expect(connector.check(context)).rejects.toThrow(/Wrong credentials.*account\/settings/);
  });
});
