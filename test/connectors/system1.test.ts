/**
 * System1 fixtures. No System1 documentation page shows a response (the official partner pages
 * were only partly readable: https://partner.system1.com/ and https://docs.openmail.com/partner/reporting_api.html
 * show the request URLs, auth_key and the async report flow). The shapes below follow public
 * client code, and every column name is INFERRED:
 * - v3 reports answer a JSON array of arrays, the first row the header (LucianoHenn/ENKI
 *   app/Services/ARC/Sources/Providers/System1/System1Library.php); a trailing totals row (a public
 *   Express route reading /v3/ptag skips the last row; index file 8877001146, repository not identifiable).
 *   Header labels `Date`, `Sub ID`, `Estimated Revenue` are those of the older v2 subid report (a public
 *   constants file for reports.openmail.com; index file 38941541085, repository not identifiable).
 * - the async partner report: POST /partner/v1/report → {report_id}; GET …/status → {report_status, content_url};
 *   the content is CSV with a header row (topfinanzas/arbitrage-manager-dashboard backend/system1_client.py;
 *   a Node.js script, index file 32922586631); `DATA DATE` and
 *   `PARTNER NET REVENUE` are client-seen headers, `SUB ID` is INFERRED.
 * - 429 with Retry-After (the Node.js script, index file 32922586631); 401 for a bad key (LucianoHenn/ENKI).
 * Links: connectors/system1/README.md.
 */
import nock from 'nock';
import { createConnectorContext } from '../../connectors/kit/context';
import type { NormalizedRevenueRow } from '../../connectors/kit/types';
import { system1Connector } from '../../connectors/system1';
import { feedDaysWindow } from '../../jobs/revenue-schedule';
import { describeRevenueFeedContract, type FeedRow } from './revenue-contract';

const KEY = 'test_06IDAJuUjUKgsdd';
const HEADER = ['Date', 'Campaign', 'Sub ID', 'Total Sessions', 'Searches', 'Clicks', 'Estimated Revenue'];

function table(day: string, rows: readonly FeedRow[], summary: boolean): unknown[][] {
  const data = rows.map((row) => [day, 'campaign-1', row.subId ?? '', 3, 2, 1, row.amount]);
  // The totals row: its position is client-seen, its cells ("Total" in the date column, the sums) INFERRED.
  return [HEADER, ...data, ...(summary ? [['Total', '', '', 3 * rows.length, 2 * rows.length, rows.length, '999.99']] : [])];
}

const subidDaily = (scope: nock.Scope, day: string) => scope.get('/v3/subid_daily').query({ days: day, format: 'json', auth_key: KEY });

describeRevenueFeedContract({
  connector: system1Connector as unknown as Parameters<typeof describeRevenueFeedContract>[0]['connector'],
  config: (baseUrl) => ({ auth_key: KEY, base_url: baseUrl, click_id_field: 'subid' }),
  serveAuth: () => undefined,
  serveDay(scope, day, _phase, pages, options) {
    subidDaily(scope, day).reply(200, table(day, pages.flat(), options?.summary ?? false));
  },
  firstRequest: (scope, day) => subidDaily(scope, day),
  checkRequest: (scope) => scope.get('/v3/status').query({ days: '1', auth_key: KEY }),
  // INFERRED: no page or client shows the answer of /v3/status (the ENKI client only tests it for emptiness).
  checkBody: '[["Date"],["2024-11-04"]]',
  networkStatusOf: () => null,
  currency: 'USD',
  // Shown by client code, not by System1's pages (the contract's `documented` means "docs or client code"): a public
  // client of /v3/ptag drops the last row of every answer as the totals row. The row's cells are INFERRED (see table()).
  summary: { documented: true, source: 'client code: a public client of /v3/ptag drops the last row of every answer (the totals row); its cells are INFERRED' },
  expireCredentials(scope, day) {
    subidDaily(scope, day).reply(401, 'Unauthorized');
    return 'refused';
  },
});

describe('System1 specifics', () => {
  const baseUrl = 'https://system1-specifics.api.test';
  beforeAll(() => nock.disableNetConnect());
  afterEach(() => nock.cleanAll());
  afterAll(() => nock.enableNetConnect());

  test('the async partner report: request, poll status, download the file from another host without the key', async () => {
    const api = nock(baseUrl)
      .post('/partner/v1/report')
      .query({ report_type: 'rsoc_subid_daily', days: '1', date: '2024-11-05', auth_key: KEY })
      .reply(200, { report_id: 'r-77' })
      .get('/partner/v1/report/r-77/status')
      .query({ auth_key: KEY })
      .reply(200, { report_status: 'RUNNING' })
      .get('/partner/v1/report/r-77/status')
      .query({ auth_key: KEY })
      .reply(200, { report_status: 'SUCCESS', content_url: 'https://files.system1.test/r-77.csv' });
    const files = nock('https://files.system1.test')
      .get('/r-77.csv')
      .query((query) => !('auth_key' in query))
      .reply(200, 'DATA DATE,SUB ID,PARTNER NET REVENUE\n2024-11-05,clk1,1.25\n2024-11-05,clk1,0.05\nTotal,,1.30\n', { 'content-type': 'text/csv' });
    const config = system1Connector.configSchema.parse({ auth_key: KEY, base_url: baseUrl, click_id_field: 'subid', report: 'partner', report_type: 'rsoc_subid_daily', poll_interval_seconds: 0 });
    const rows: NormalizedRevenueRow[] = [];
    for await (const page of system1Connector.pull(createConnectorContext(system1Connector, config, { retries: 1, baseDelayMs: 1 }), feedDaysWindow('2024-11-05', '2024-11-05', 'America/Los_Angeles', 'estimate'))) rows.push(...page);
    expect(rows.map((row) => [row.sub_id, row.day, row.amount, row.final])).toEqual([['clk1', '2024-11-05', '1.25', null], ['clk1', '2024-11-05', '0.05', null]]);
    expect(api.isDone() && files.isDone()).toBe(true);
  });

  test('a partner report without report_type says what to configure', async () => {
    const config = system1Connector.configSchema.parse({ auth_key: KEY, base_url: baseUrl, report: 'partner', poll_interval_seconds: 0 });
    const pull = async () => {
      for await (const _page of system1Connector.pull(createConnectorContext(system1Connector, config, { retries: 0 }), feedDaysWindow('2024-11-05', '2024-11-05', 'America/Los_Angeles'))) void _page;
    };
    await expect(pull()).rejects.toThrow(/needs report_type/);
  });
});
