/**
 * Sedo fixtures. The function page (https://api.sedo.com/apidocs/v1/Basic/functions/sedoapi_DomainParkingSubIdReport.html,
 * INFERRED URL) was not readable; https://api.sedo.com/api/apidocs/API_Member/ shows only the introduction. The
 * shapes follow public client code (file ids 41493326798, 18532067835, 39279905713) and are INFERRED:
 * - GET /api/v1/DomainParkingSubIdReport?partnerid&signkey&username&password&output_method=xml&date&final&startfrom&results
 * - <SEDOSTATS><item> with domain, date, c1, c2, c3, uniques, clicks, earnings; elements carry attributes
 *   (xml2js `._` in a client) — the `type="xsd:…"` attributes below are INFERRED;
 * - faults: <SEDOFAULT><faultcode>E7</faultcode><faultstring>Partnerid doesn't exist</faultstring></SEDOFAULT> in HTTP 200
 *   (live-probe notes, file id 58731117111). Values are synthetic.
 */
import nock from 'nock';
import { createConnectorContext } from '../../connectors/kit/context';
import type { NormalizedRevenueRow } from '../../connectors/kit/types';
import { SEDO_PAGE_SIZE, sedoConnector } from '../../connectors/sedo';
import { feedDaysWindow } from '../../jobs/revenue-schedule';
import { describeRevenueFeedContract, type FeedRow } from './revenue-contract';

const CREDENTIALS = { partnerid: '12345', signkey: 'a1b2c3d4e5', username: 'parker', password: 'secret-pass' };
const config = (baseUrl: string) => ({ partner_id: CREDENTIALS.partnerid, sign_key: CREDENTIALS.signkey, username: CREDENTIALS.username, password: CREDENTIALS.password, base_url: baseUrl, currency: 'USD' });

function item(day: string, row: FeedRow, domain = 'parked-example.com'): string {
  const element = (name: string, type: string, value: string) => `<${name} type="xsd:${type}">${value}</${name}>`;
  return `<item>${element('domain', 'string', domain)}${element('date', 'string', day)}${element('c1', 'string', row.subId ?? '')}${element('c2', 'string', 'fb')}${element('c3', 'string', '')}${element('uniques', 'int', '3')}${element('clicks', 'int', '1')}${element('earnings', 'double', row.amount)}</item>`;
}
const stats = (items: string[]) => `<?xml version="1.0" encoding="UTF-8"?>\n<SEDOSTATS>${items.join('')}</SEDOSTATS>`;
const report = (scope: nock.Scope, day: string, final: boolean, startfrom = 0) =>
  scope.get('/DomainParkingSubIdReport').query({ ...CREDENTIALS, output_method: 'xml', date: day, final: String(final), startfrom: String(startfrom), results: String(SEDO_PAGE_SIZE) });

describeRevenueFeedContract({
  connector: sedoConnector as unknown as Parameters<typeof describeRevenueFeedContract>[0]['connector'],
  config,
  serveAuth: () => undefined,
  serveDay(scope, day, phase, pages) {
    // Each row on a domain of its own: the job sums a sub-id's earnings across domains.
    report(scope, day, phase === 'final').reply(200, stats(pages.flat().map((row, index) => item(day, row, `domain-${index}.com`))), { 'content-type': 'text/xml' });
  },
  firstRequest: (scope, day, phase) => report(scope, day, phase === 'final'),
  checkRequest: (scope) => scope.get('/DomainParkingSubIdReport').query((query) => query.final === 'false' && query.results === '1' && query.partnerid === CREDENTIALS.partnerid),
  checkBody: stats([]),
  networkStatusOf: (_stage, phase) => `final=${phase === 'final'}`,
  currency: 'USD',
  summary: { documented: false, why: 'no client shows a summary item in the sub-id report' },
  expireCredentials(scope, day) {
    report(scope, day, false).reply(200, "<SEDOFAULT><faultcode>E7</faultcode><faultstring>Partnerid doesn't exist</faultstring></SEDOFAULT>", { 'content-type': 'text/xml' });
    return 'refused';
  },
});

describe('Sedo specifics', () => {
  const baseUrl = 'https://sedo-specifics.api.test';
  beforeAll(() => nock.disableNetConnect());
  afterEach(() => nock.cleanAll());
  afterAll(() => nock.enableNetConnect());

  test('pages by startfrom/results until a short page', async () => {
    const day = '2024-11-05';
    const full = Array.from({ length: SEDO_PAGE_SIZE }, (_unused, index) => item(day, { subId: `clk${index}`, amount: '0.01', stage: 'estimated' }));
    const scope = nock(baseUrl);
    report(scope, day, false, 0).reply(200, stats(full));
    report(scope, day, false, SEDO_PAGE_SIZE).reply(200, stats([item(day, { subId: 'last', amount: '1.5', stage: 'estimated' })]));
    const context = createConnectorContext(sedoConnector, sedoConnector.configSchema.parse(config(baseUrl)), { retries: 0 });
    const rows: NormalizedRevenueRow[] = [];
    for await (const page of sedoConnector.pull(context, feedDaysWindow(day, day, 'Europe/Berlin', 'estimate'))) rows.push(...page);
    expect(rows).toHaveLength(SEDO_PAGE_SIZE + 1);
    expect(rows[SEDO_PAGE_SIZE]).toMatchObject({ sub_id: 'last', amount: '1.5', final: false, currency: 'USD' });
    expect(scope.isDone()).toBe(true);
  });
});
