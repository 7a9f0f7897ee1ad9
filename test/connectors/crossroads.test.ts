/**
 * Crossroads fixtures. The official documentation (https://crossroads.domainactive.com/docs, anchors
 * #bulk-data-api-prepare-bulk-data, #bulk-data-api-get-request-state, #instant-api-get-final-info)
 * needs a login and shows no example here; the shapes follow public client code and are INFERRED:
 * - prepare-bulk-data?key&date&format=json&extra-fields → {request_id}; get-request-state?key&request-id →
 *   {status_code: 200, status: "SUCCESS", file_url} (client files 18549586438, 38819913163, 953995554);
 * - the file (an S3 URL, fetched without the key) is a JSON array of rows with campaign_id, campaign__name,
 *   day, lander_keyword, publisher_revenue_amount, revenue_clicks, tg1..tg10 (same clients);
 * - get-final-info?key&date → {final: <bool>} ("Returns bool report is final", client file 18549586438);
 * - get-campaigns?key → {campaigns: []}. Values are synthetic.
 */
import nock from 'nock';
import { crossroadsConnector } from '../../connectors/crossroads';
import { describeRevenueFeedContract, type FeedRow } from './revenue-contract';

const KEY = '0f8e3c1a-0000-4000-8000-00000000c055';
const FILES = 'https://s3-us-west-2.amazonaws.com';
let exportCount = 0;

function fileRow(day: string, row: FeedRow): Record<string, unknown> {
  return { campaign_id: 7001, campaign__name: 'widgets-us', day, lander_keyword: 'cheap widgets', publisher_revenue_amount: row.amount, revenue_clicks: 1, tg1: row.subId ?? '', tg2: 'fb-campaign' };
}

const finalInfo = (scope: nock.Scope, day: string) => scope.get('/get-final-info').query({ key: KEY, date: day });

describeRevenueFeedContract({
  connector: crossroadsConnector as unknown as Parameters<typeof describeRevenueFeedContract>[0]['connector'],
  config: (baseUrl) => ({ api_key: KEY, base_url: baseUrl, click_id_field: 'tg1', poll_interval_seconds: 0 }),
  serveAuth: () => undefined,
  serveDay(scope, day, phase, pages) {
    const rows = pages.flat();
    const final = rows.length > 0 ? rows.every((row) => row.stage === 'final') : phase === 'final';
    const id = `req-${++exportCount}`;
    finalInfo(scope, day).times(2).reply(200, { final });
    scope
      .get('/prepare-bulk-data')
      .query({ key: KEY, date: day, format: 'json', 'extra-fields': 'tg1,tg2,tg3,tg4,tg5,tg6,tg7,tg8,tg9,tg10,lander_keyword' })
      .reply(200, { request_id: id })
      .get('/get-request-state')
      .query({ key: KEY, 'request-id': id })
      .reply(200, { status_code: 202, status: 'PENDING' })
      .get('/get-request-state')
      .query({ key: KEY, 'request-id': id })
      .reply(200, { status_code: 200, status: 'SUCCESS', file_url: `${FILES}/cr-api-v2-bulk-data/${id}.json` });
    nock(FILES)
      .get(`/cr-api-v2-bulk-data/${id}.json`)
      .query((query) => !('key' in query))
      .reply(200, rows.map((row) => fileRow(day, row)));
  },
  firstRequest: (scope, day) => finalInfo(scope, day),
  checkRequest: (scope) => scope.get('/get-campaigns').query({ key: KEY }),
  checkBody: '{"campaigns": []}',
  networkStatusOf: (stage) => `final=${stage === 'final'}`,
  currency: 'USD',
  summary: { documented: false, why: 'no client shows a totals row in the bulk export' },
  expireCredentials(scope, day) {
    finalInfo(scope, day).reply(401, { error: 'Unauthorized' });
    return 'refused';
  },
});
