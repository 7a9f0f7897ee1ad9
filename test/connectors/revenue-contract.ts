import nock from 'nock';
import { createConnectorContext, type ContextOptions } from '../../connectors/kit/context';
import type { ResolvedKind } from '../../connectors/kit/classification';
import { ConnectorAuthError, ConnectorConfigError, ConnectorRateLimitError, ConnectorTransientError, type ConnectorError } from '../../connectors/kit/errors';
import type { Connector, NormalizedRevenueRow, RevenuePhase } from '../../connectors/kit/types';
import { isTimeZone } from '../../connectors/kit/zoned-time';
import { pullRevenueDays } from '../../jobs/revenue-pull';
import type { RevenueDayReport } from '../../jobs/revenue-day-store';
import { feedDaysWindow, feedNoon } from '../../jobs/revenue-schedule';
import { createConnection, loadConnection } from '../../src/connections/connection-store';
import { Registrar } from '../../src/pipeline/registrar';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createClicks, createFunnel } from '../support/fixtures';
import { SECRET_KEY } from '../support/pulls';
import { countRequests } from './contract';

/**
 * What every revenue feed must do, whatever its API: the HTTP behaviour of the shared connector
 * contract (documented requests, Retry-After, 5xx, no credentials to other hosts, check(), every
 * classification example), and the revenue contract through the real revenue job, pipeline and
 * Postgres: estimated → restated → final → a later pull changes nothing; an unknown sub-id is
 * logged once and never a conversion; summary rows are never conversions; expired credentials.
 */

/** One row of a feed day as a test describes it; the fixture writes it in the feed's documented shape. */
export interface FeedRow {
  readonly subId: string | null;
  readonly amount: string;
  readonly stage: 'estimated' | 'final';
}

export interface RevenueFeedFixture {
  readonly connector: Connector<Record<string, unknown>, 'revenue'>;
  /** A config (credentials the interceptors expect) pointing at `baseUrl`. */
  config(baseUrl: string): Record<string, unknown>;
  /** The feed's token exchange, `times` times (a no-op for feeds with a static key). */
  serveAuth(scope: nock.Scope, times?: number): void;
  /**
   * Answers one pull of `day` as `phase` with `pages` of rows in the feed's documented shapes (a
   * feed without paging answers them in one body); with `summary`, the feed's own totals or
   * summary row is added the way the feed sends it.
   */
  serveDay(scope: nock.Scope, day: string, phase: RevenuePhase, pages: readonly (readonly FeedRow[])[], options?: { summary?: boolean }): void;
  /** The first request of a pull of `day` as `phase`, for the suite to answer as it likes. */
  firstRequest(scope: nock.Scope, day: string, phase: RevenuePhase): nock.Interceptor;
  checkRequest(scope: nock.Scope): nock.Interceptor;
  /** A documented body check() gets for valid credentials. */
  readonly checkBody: string;
  /** The feed's word the conversion keeps as network_status. */
  networkStatusOf(stage: FeedRow['stage'], phase: RevenuePhase): string | null;
  readonly currency: string;
  /** How the feed sends a summary row (docs or client code), or null with why it has none. */
  readonly summary: { readonly documented: true; readonly source: string } | { readonly documented: false; readonly why: string };
  /**
   * The feed's answer when its credentials expire in the middle of a pull of `day`: `renewed`
   * (a token feed exchanges a new one and goes on; serve the rest) or `refused` (a static key:
   * the pull fails as an auth failure).
   */
  expireCredentials(scope: nock.Scope, day: string, rows: readonly FeedRow[]): 'renewed' | 'refused';
}

const ERROR_OF: Readonly<Record<ResolvedKind, new (...args: never[]) => ConnectorError>> = {
  rate_limited: ConnectorRateLimitError,
  transient: ConnectorTransientError,
  auth: ConnectorAuthError,
  bad_request: ConnectorConfigError,
  reauthenticate: ConnectorAuthError,
};
const RETRIES = 3;
const REQUESTS_OF: Readonly<Record<ResolvedKind, number>> = { rate_limited: 1, transient: RETRIES + 1, auth: 1, bad_request: 1, reauthenticate: 2 };
const DAY = '2024-11-05';

function contentType(body: string): Record<string, string> {
  try {
    JSON.parse(body);
    return { 'content-type': 'application/json' };
  } catch {
    return { 'content-type': body.trim().startsWith('<') ? 'text/xml' : 'text/plain' };
  }
}

export function describeRevenueFeedContract(fixture: RevenueFeedFixture): void {
  const { connector } = fixture;
  const baseUrl = `https://${connector.id}.api.test`;
  const parsedConfig = () => connector.configSchema.parse(fixture.config(baseUrl));
  const context = (options: ContextOptions = {}) => createConnectorContext(connector, parsedConfig(), { retries: RETRIES, baseDelayMs: 1, ...options });
  const rowsOf = async (day: string, phase: RevenuePhase, options: ContextOptions = {}): Promise<NormalizedRevenueRow[]> => {
    const rows: NormalizedRevenueRow[] = [];
    for await (const page of connector.pull(context(options), feedDaysWindow(day, day, connector.feed!.timeZone, phase))) rows.push(...page);
    return rows;
  };
  const final = (phase: RevenuePhase, stage: FeedRow['stage']) => (connector.feed?.finalBy === 'age' ? null : stage === 'final');

  describe(`${connector.name}: revenue feed contract (HTTP)`, () => {
    let scope: nock.Scope;
    beforeAll(() => nock.disableNetConnect());
    beforeEach(() => {
      scope = nock(baseUrl);
    });
    afterEach(() => nock.cleanAll());
    afterAll(() => nock.enableNetConnect());

    test('declares maturity, documentation, a classification table and its days and schedule', () => {
      expect(connector.kind).toBe('revenue');
      expect(connector.documentationUrl).toMatch(/^https:\/\//);
      if (connector.maturity.level === 'experimental') expect(connector.maturity.unconfirmed.length).toBeGreaterThan(0);
      expect(connector.classification.length).toBeGreaterThan(0);
      expect(connector.hostFields).toContain('base_url');
      expect(isTimeZone(connector.feed!.timeZone)).toBe(true);
      expect(connector.feed!.estimateDays).toBeLessThanOrEqual(connector.feed!.finalAfterDays);
      expect(connector.feed!.source.length).toBeGreaterThan(10);
    });

    test.each([['estimate'], ['final']] as const)('a %s pull yields every row of the day as the exact decimal, with the feed word', async (phase) => {
      const stage = phase === 'final' ? 'final' : 'estimated';
      const rows: FeedRow[] = [
        { subId: 'cfc3x9k2m8q7w', amount: '10.5500', stage },
        { subId: 'AbC_123xYz', amount: '9007199254740993.25', stage },
        { subId: null, amount: '0.01', stage },
      ];
      fixture.serveAuth(scope);
      fixture.serveDay(scope, DAY, phase, [rows.slice(0, 2), rows.slice(2)]);
      const pulled = await rowsOf(DAY, phase);
      expect(pulled.map(({ raw: _raw, ...row }) => row)).toEqual(
        rows.map((row) => ({ sub_id: row.subId, day: DAY, amount: row.amount, currency: fixture.currency, final: final(phase, row.stage), network_status: fixture.networkStatusOf(row.stage, phase) })),
      );
      expect(scope.isDone()).toBe(true);
    });

    test('waits out a 429 for its Retry-After, then succeeds', async () => {
      const waits: number[] = [];
      fixture.serveAuth(scope);
      fixture.firstRequest(scope, DAY, 'estimate').reply(429, '', { 'Retry-After': '1' });
      fixture.serveDay(scope, DAY, 'estimate', [[{ subId: 'after-429', amount: '1.5', stage: 'estimated' }]]);
      const pulled = await rowsOf(DAY, 'estimate', { sleep: async (ms) => void waits.push(ms) });
      expect(waits).toEqual([1000]);
      expect(pulled.map((row) => row.sub_id)).toEqual(['after-429']);
      expect(scope.isDone()).toBe(true);
    });

    test('retries a 5xx, then succeeds', async () => {
      fixture.serveAuth(scope);
      fixture.firstRequest(scope, DAY, 'estimate').reply(503, '');
      fixture.serveDay(scope, DAY, 'estimate', [[{ subId: 'after-503', amount: '2', stage: 'estimated' }]]);
      expect((await rowsOf(DAY, 'estimate')).map((row) => row.sub_id)).toEqual(['after-503']);
      expect(scope.isDone()).toBe(true);
    });

    test('a redirect to another host is refused: credentials never leave the configured host', async () => {
      const elsewhere = nock('https://elsewhere.test').get(/.*/).reply(200, '[]').post(/.*/).reply(200, '[]');
      fixture.serveAuth(scope);
      fixture.firstRequest(scope, DAY, 'estimate').reply(302, '', { Location: 'https://elsewhere.test/steal' });
      await expect(rowsOf(DAY, 'estimate')).rejects.toThrow(/another host \(https:\/\/elsewhere\.test\)/);
      expect(elsewhere.isDone()).toBe(false);
    });

    test('check() succeeds with valid credentials and throws ConnectorAuthError when they are refused', async () => {
      fixture.serveAuth(scope);
      fixture.checkRequest(scope).reply(200, fixture.checkBody, contentType(fixture.checkBody));
      await expect(connector.check(context())).resolves.toBeUndefined();
      expect(scope.isDone()).toBe(true);
      fixture.serveAuth(scope, 2);
      fixture.checkRequest(scope).times(2).reply(403, '');
      await expect(connector.check(context())).rejects.toBeInstanceOf(ConnectorAuthError);
    });

    const examples = connector.classification.flatMap((rule) => rule.examples.map((example, index) => [`${rule.name} #${index + 1} → ${example.expect}`, example] as const));
    test.each(examples)('classification: %s', async (_name, example) => {
      const times = REQUESTS_OF[example.expect];
      fixture.serveAuth(scope, example.expect === 'reauthenticate' ? 2 : 1);
      fixture.firstRequest(scope, DAY, 'estimate').times(times).reply(example.status, example.body, { ...contentType(example.body), ...example.headers });
      const requests = countRequests(scope);
      await expect(rowsOf(DAY, 'estimate', { maxRetryAfterMs: 0 })).rejects.toBeInstanceOf(ERROR_OF[example.expect]);
      expect(requests.count).toBeGreaterThanOrEqual(times);
    });
  });

  describe(`${connector.name}: revenue contract (job, pipeline, Postgres)`, () => {
    let testDb: TestDatabase;
    let registrar: Registrar;
    let clicks: string[];
    let scope: nock.Scope;
    beforeAll(async () => {
      nock.disableNetConnect();
      testDb = await createTestDatabase();
      registrar = new Registrar(testDb.db, { displayCurrency: 'USD', defaultCurrency: 'USD' });
      const funnel = await createFunnel(testDb.db);
      clicks = await createClicks(testDb.db, funnel.campaignId, 3, new Date('2024-11-05T08:00:00Z'));
    });
    afterAll(async () => {
      nock.enableNetConnect();
      await testDb.drop();
    });
    beforeEach(() => {
      scope = nock(baseUrl);
    });
    afterEach(() => nock.cleanAll());

    const newConnection = async () => (await createConnection(testDb.db, SECRET_KEY, { connector: connector.id, name: `contract ${Math.random()}`, config: fixture.config(baseUrl) })).id;
    const pullDay = async (connectionId: string, day: string, phase: RevenuePhase, options: ContextOptions = {}): Promise<RevenueDayReport> => {
      const connection = await loadConnection(testDb.db, SECRET_KEY, connectionId);
      const reports: RevenueDayReport[] = [];
      await pullRevenueDays({ db: testDb.db, registrar }, connection, createConnectorContext(connector, connection.config, { retries: RETRIES, baseDelayMs: 1, ...options }), [{ day, phase }], async (_trx, _stats, _last, report) => {
        if (report) reports.push(report);
      });
      return reports[0]!;
    };
    // Conversions are identified by (click, txid, type), whatever the connection: each test pulls a day of its own.
    const conversions = (connectionId: string) =>
      testDb.db('conversions').where({ connection_id: connectionId }).orderBy('click_id').select('id', 'click_id', 'txid', 'type', 'status', 'payout', 'currency', 'network_status', 'occurred_at', 'revision');

    test('estimated → restated → final → a later estimate changes nothing; one revenue conversion per (click, day), summed exactly', async () => {
      const connectionId = await newConnection();
      const [a, b] = clicks as [string, string];
      // Two report lines (and pages) of one sub-id are summed before registering: 0.1 + 0.2 is exactly 0.3.
      fixture.serveAuth(scope);
      fixture.serveDay(scope, DAY, 'estimate', [[{ subId: a, amount: '0.1', stage: 'estimated' }, { subId: b, amount: '2.00', stage: 'estimated' }], [{ subId: a.toUpperCase(), amount: '0.2', stage: 'estimated' }]]);
      const first = await pullDay(connectionId, DAY, 'estimate');
      expect(first).toMatchObject({ day: DAY, state: 'estimated', amount: '2.3', unmatched_amount: '0', sub_ids: 2, ignored: false });
      const estimated = await conversions(connectionId);
      expect(estimated.map((row) => [row.click_id, row.txid, row.type, row.status, row.payout, row.currency, row.network_status])).toEqual([
        [a, `${connector.id}:${DAY}`, 'revenue', 'pending', '0.300000', fixture.currency, fixture.networkStatusOf('estimated', 'estimate')],
        [b, `${connector.id}:${DAY}`, 'revenue', 'pending', '2.000000', fixture.currency, fixture.networkStatusOf('estimated', 'estimate')],
      ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))));
      expect(estimated.every((row) => row.occurred_at.getTime() === feedNoon(DAY, connector.feed!.timeZone).getTime())).toBe(true);

      fixture.serveAuth(scope);
      fixture.serveDay(scope, DAY, 'estimate', [[{ subId: a, amount: '0.45', stage: 'estimated' }, { subId: b, amount: '2.00', stage: 'estimated' }]]);
      await pullDay(connectionId, DAY, 'estimate');
      const restated = await conversions(connectionId);
      expect(restated.map((row) => row.id)).toEqual(estimated.map((row) => row.id));
      expect(restated.find((row) => row.click_id === a)).toMatchObject({ payout: '0.450000', status: 'pending', revision: 2 });

      fixture.serveAuth(scope);
      fixture.serveDay(scope, DAY, 'final', [[{ subId: a, amount: '0.40', stage: 'final' }, { subId: b, amount: '1.95', stage: 'final' }]]);
      expect(await pullDay(connectionId, DAY, 'final')).toMatchObject({ state: 'final', amount: '2.35' });
      const finalRows = await conversions(connectionId);
      expect(finalRows.map((row) => [row.id, row.status, row.payout, row.network_status])).toEqual(
        estimated.map((row) => [row.id, 'approved', row.click_id === a ? '0.400000' : '1.950000', fixture.networkStatusOf('final', 'final')]),
      );
      expect(await testDb.db('revenue_days').where({ connection_id: connectionId }).first()).toMatchObject({ state: 'final' });

      // The feed re-estimates the day later (a backfill, a late schedule): nothing turns it back.
      fixture.serveAuth(scope);
      fixture.serveDay(scope, DAY, 'estimate', [[{ subId: a, amount: '9.99', stage: 'estimated' }, { subId: b, amount: '0', stage: 'estimated' }]]);
      expect(await pullDay(connectionId, DAY, 'estimate')).toMatchObject({ ignored: true, state: 'final' });
      expect(await conversions(connectionId)).toEqual(finalRows);
      expect(scope.isDone()).toBe(true);
    });

    test('an unknown sub-id is logged once (then counted), never a conversion; its revenue is reported unmatched for the day', async () => {
      const connectionId = await newConnection();
      const day = '2024-11-06';
      const rows: FeedRow[] = [{ subId: 'not-a-tally-click', amount: '3.25', stage: 'estimated' }, { subId: clicks[2]!, amount: '1', stage: 'estimated' }, { subId: null, amount: '0.75', stage: 'estimated' }];
      for (let pull = 0; pull < 2; pull += 1) {
        fixture.serveAuth(scope);
        fixture.serveDay(scope, day, 'estimate', [rows]);
        expect(await pullDay(connectionId, day, 'estimate')).toMatchObject({ amount: '5', unmatched_amount: '4', sub_ids: 3, unmatched_sub_ids: 2 });
      }
      expect((await conversions(connectionId)).map((row) => row.click_id)).toEqual([clicks[2]]);
      const log = await testDb.db('registration_log').where({ connection_id: connectionId, reason: 'unknown_click_id' });
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({ click_id: 'not-a-tally-click', txid: `${connector.id}:${day}`, times_seen: 2 });
      expect(await testDb.db('revenue_days').where({ connection_id: connectionId }).first()).toMatchObject({ amount: '5', unmatched_amount: '4', unmatched_sub_ids: 2 });
    });

    test(`summary rows are never conversions (${fixture.summary.documented ? fixture.summary.source : fixture.summary.why})`, async () => {
      const connectionId = await newConnection();
      fixture.serveAuth(scope);
      fixture.serveDay(scope, '2024-11-07', 'estimate', [[{ subId: clicks[0]!, amount: '1.10', stage: 'estimated' }, { subId: clicks[1]!, amount: '2.20', stage: 'estimated' }]], { summary: true });
      expect(await pullDay(connectionId, '2024-11-07', 'estimate')).toMatchObject({ amount: '3.3', unmatched_amount: '0', sub_ids: 2 });
      expect(await conversions(connectionId)).toHaveLength(2);
      expect(await testDb.db('registration_log').where({ connection_id: connectionId, outcome: 'rejected' })).toEqual([]);
    });

    test('credentials that expire mid-pull: a token feed renews and stores the day; a key feed fails as auth and stores nothing', async () => {
      const connectionId = await newConnection();
      const rows: FeedRow[] = [{ subId: clicks[0]!, amount: '4.20', stage: 'estimated' }];
      const day = '2024-11-08';
      const outcome = fixture.expireCredentials(scope, day, rows);
      if (outcome === 'renewed') {
        expect(await pullDay(connectionId, day, 'estimate')).toMatchObject({ amount: '4.2', sub_ids: 1 });
        expect((await conversions(connectionId)).map((row) => row.payout)).toEqual(['4.200000']);
      } else {
        await expect(pullDay(connectionId, day, 'estimate')).rejects.toBeInstanceOf(ConnectorAuthError);
        expect(await conversions(connectionId)).toEqual([]);
        expect(await testDb.db('revenue_days').where({ connection_id: connectionId })).toEqual([]);
      }
      expect(scope.isDone()).toBe(true);
    });
  });
}
