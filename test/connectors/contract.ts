import nock from 'nock';
import { createConnectorContext, type ContextOptions } from '../../connectors/kit/context';
import type { ResolvedKind } from '../../connectors/kit/classification';
import { ConnectorAuthError, ConnectorConfigError, ConnectorRateLimitError, ConnectorTransientError, type ConnectorError } from '../../connectors/kit/errors';
import { MemoryQuotaBudget } from '../../connectors/kit/quota';
import type { Connector, ConnectorContext, NormalizedConversion, PullWindow } from '../../connectors/kit/types';

/**
 * The behaviour every connector must show, whatever its network. A network's test file calls
 * {@link describeConnectorContract} with a fixture that speaks the network's documented request
 * and response shapes; the suite drives the connector through the real HTTP client against nock,
 * and replays every example of every entry of the connector's classification table.
 */

/** A conversion as a test describes it; `record()` turns it into the network's raw record. */
export interface RecordInput {
  readonly clickId: string | null;
  readonly txid: string;
  readonly payout: string | null;
  readonly currency: string | null;
  readonly status: NormalizedConversion['status'];
  readonly occurredAt: Date;
  /** The normalized type; omitted for the network's plain conversion. */
  readonly type?: string;
}

/** Two pulls of one window: the network's later state of the same conversion(s). */
export interface LateChange {
  readonly name: string;
  readonly before: readonly RecordInput[];
  readonly after: readonly RecordInput[];
}

export interface ConnectorFixture<Config> {
  readonly connector: Connector<Config>;
  /** A config (credentials the fixture's interceptors expect) pointing at `baseUrl`, before defaults. */
  config(baseUrl: string): Record<string, unknown>;
  /** A raw record in the network's shape. */
  record(input: RecordInput): unknown;
  /** The txid the connector reports for `input` (the network's id, or one derived from it). */
  txidOf(input: RecordInput): string;
  /** The status string the network reports for `input`, as the connector must keep it. */
  networkStatusOf(input: RecordInput): string | null;
  /**
   * The currency the connector reports for `input` when the network cannot say it exactly (CAKE
   * writes "$", which could be USD, CAD or AUD: null, so the offer's or network's applies); default: `input.currency`.
   */
  currencyOf?(input: RecordInput): string | null;
  /** The type the connector reports for a record built without `type`. */
  readonly defaultType: string | null;
  /** The status the connector reports for `input` when the network reports none (Rakuten's Events API: always pending); default: `input.status`. */
  statusOf?(input: RecordInput): NormalizedConversion['status'];
  /** Late changes as this network reports them (a status change, or a reversal row). */
  readonly lateChanges: readonly LateChange[];
  /**
   * Serves `pages` of raw records for `window`, one documented request per page, in order; the
   * connector's other streams (sweeps, on-hold reports) answer empty.
   */
  servePages(scope: nock.Scope, window: PullWindow, pages: readonly (readonly unknown[])[]): void;
  /** The first request a pull of `window` sends, for the suite to answer as it likes. */
  firstRequest(scope: nock.Scope, window: PullWindow): nock.Interceptor;
  /** check()'s request. */
  checkRequest(scope: nock.Scope): nock.Interceptor;
  /** A documented body check() gets for valid credentials. */
  readonly checkBody: string;
}

const RETRIES = 3;
const T0 = Date.parse('2024-11-01T00:00:00Z');
/** A week-long window; the records below fall inside it. */
export const CONTRACT_WINDOW: PullWindow = { from: new Date(T0), to: new Date(T0 + 7 * 86_400_000) };
const at = (offsetSeconds: number): Date => new Date(T0 + offsetSeconds * 1000);

export function input(overrides: Partial<RecordInput> & Pick<RecordInput, 'txid'>): RecordInput {
  return { clickId: 'cfc3x9k2m8q7w', payout: '12.50', currency: 'USD', status: 'approved', occurredAt: at(3600), ...overrides };
}

/** Runs a pull to the end; one array per page, as the connector yielded them. */
export async function collect<Config>(connector: Connector<Config>, context: ConnectorContext<Config>, window: PullWindow): Promise<NormalizedConversion[][]> {
  const pages: NormalizedConversion[][] = [];
  for await (const page of connector.pull(context, window)) pages.push(page);
  return pages;
}

/**
 * A nock scope on `baseUrl`, fresh for each test of the calling describe block, with the real
 * network refused meanwhile; call the returned getter inside a test.
 */
export function useNockScope(baseUrl: string): () => nock.Scope {
  let scope: nock.Scope | undefined;
  beforeAll(() => nock.disableNetConnect());
  beforeEach(() => {
    scope = nock(baseUrl);
  });
  afterEach(() => nock.cleanAll());
  afterAll(() => nock.enableNetConnect());
  return () => {
    if (!scope) throw new Error('useNockScope: the scope exists inside tests only');
    return scope;
  };
}

/** Counts the requests that reached the scope's interceptors. */
export function countRequests(scope: nock.Scope): { readonly count: number } {
  const counter = { count: 0 };
  scope.on('request', () => counter.count++);
  return counter;
}

/** The error class each classification ends a pull in. */
const ERROR_OF: Readonly<Record<ResolvedKind, new (...args: never[]) => ConnectorError>> = {
  rate_limited: ConnectorRateLimitError,
  transient: ConnectorTransientError,
  auth: ConnectorAuthError,
  bad_request: ConnectorConfigError,
  reauthenticate: ConnectorAuthError,
};

/** Requests a pull makes before it gives up on an answer of this kind. */
const REQUESTS_OF: Readonly<Record<ResolvedKind, number>> = { rate_limited: 1, transient: RETRIES + 1, auth: 1, bad_request: 1, reauthenticate: 2 };

function contentType(body: string): Record<string, string> {
  try {
    JSON.parse(body);
    return { 'content-type': 'application/json' };
  } catch {
    return { 'content-type': 'text/plain' };
  }
}

/** Drops the nulls a fixture spreads for a non-page (empty answers are a page with no records). */
function nonEmpty(pages: NormalizedConversion[][]): NormalizedConversion[][] {
  return pages.filter((page) => page.length > 0);
}

export function describeConnectorContract<Config>(fixture: ConnectorFixture<Config>): void {
  const { connector } = fixture;
  const baseUrl = `https://${connector.id}.api.test`;
  const parsedConfig = () => connector.configSchema.parse(fixture.config(baseUrl));
  const context = (options: ContextOptions = {}) => createConnectorContext(connector, parsedConfig(), { retries: RETRIES, baseDelayMs: 10, ...options });
  const expected = (record: RecordInput): NormalizedConversion =>
    expect.objectContaining({
      click_id: record.clickId,
      txid: fixture.txidOf(record),
      payout: record.payout,
      currency: fixture.currencyOf ? fixture.currencyOf(record) : record.currency,
      status: fixture.statusOf ? fixture.statusOf(record) : record.status,
      network_status: fixture.networkStatusOf(record),
      type: record.type ?? fixture.defaultType,
      occurred_at: record.occurredAt,
    }) as NormalizedConversion;
  const pullAll = async (window: PullWindow = CONTRACT_WINDOW, options: ContextOptions = {}) => (await collect(connector, context(options), window)).flat();

  describe(`${connector.name}: connector contract`, () => {
    let scope: nock.Scope;
    beforeAll(() => nock.disableNetConnect());
    beforeEach(() => {
      scope = nock(baseUrl);
    });
    afterEach(() => {
      nock.cleanAll();
    });
    afterAll(() => nock.enableNetConnect());

    test('declares its maturity, documentation and a classification table with examples', () => {
      expect(connector.documentationUrl).toMatch(/^https:\/\//);
      expect(['verified', 'experimental']).toContain(connector.maturity.level);
      if (connector.maturity.level === 'experimental') expect(connector.maturity.unconfirmed.length).toBeGreaterThan(0);
      expect(connector.classification.length).toBeGreaterThan(0);
      expect(connector.hostFields).toContain('base_url');
    });

    test('yields every record of three pages, in order, one array per page', async () => {
      const pages = [
        [input({ txid: 'p1a', occurredAt: at(60) }), input({ txid: 'p1b', occurredAt: at(120) })],
        [input({ txid: 'p2a', occurredAt: at(180) }), input({ txid: 'p2b', occurredAt: at(240) })],
        [input({ txid: 'p3a', occurredAt: at(300) })],
      ];
      fixture.servePages(scope, CONTRACT_WINDOW, pages.map((page) => page.map((record) => fixture.record(record))));
      const pulled = nonEmpty(await collect(connector, context(), CONTRACT_WINDOW));
      expect(pulled).toEqual(pages.map((page) => page.map(expected)));
      expect(scope.isDone()).toBe(true);
    });

    test('yields exactly the records of the half-open window [from, to)', async () => {
      const { from, to } = CONTRACT_WINDOW;
      const records = [
        input({ txid: 'before-from', occurredAt: new Date(from.getTime() - 1000) }),
        input({ txid: 'at-from', occurredAt: from }),
        input({ txid: 'last-second', occurredAt: new Date(to.getTime() - 1000) }),
        input({ txid: 'at-to', occurredAt: to }),
      ];
      fixture.servePages(scope, CONTRACT_WINDOW, [records.map((record) => fixture.record(record))]);
      expect(await pullAll()).toEqual([expected(records[1]!), expected(records[2]!)]);
      expect(scope.isDone()).toBe(true);
    });

    test('waits out a 429 for its Retry-After, then succeeds', async () => {
      const record = input({ txid: 'after-429' });
      const waits: number[] = [];
      fixture.firstRequest(scope, CONTRACT_WINDOW).reply(429, '', { 'Retry-After': '1' });
      fixture.servePages(scope, CONTRACT_WINDOW, [[fixture.record(record)]]);
      const pulled = await pullAll(CONTRACT_WINDOW, { sleep: async (ms) => void waits.push(ms) });
      expect(waits).toEqual([1000]);
      expect(pulled).toEqual([expected(record)]);
      expect(scope.isDone()).toBe(true);
    });

    test('retries a 5xx, then succeeds', async () => {
      const record = input({ txid: 'after-503' });
      fixture.firstRequest(scope, CONTRACT_WINDOW).reply(503, '');
      fixture.servePages(scope, CONTRACT_WINDOW, [[fixture.record(record)]]);
      const requests = countRequests(scope);
      expect(await pullAll()).toEqual([expected(record)]);
      expect(requests.count).toBeGreaterThanOrEqual(2);
      expect(scope.isDone()).toBe(true);
    });

    test.each(fixture.lateChanges.map((change) => [change.name, change] as const))('a later pull reports the later state: %s', async (_name, change) => {
      fixture.servePages(scope, CONTRACT_WINDOW, [change.before.map((record) => fixture.record(record))]);
      expect(await pullAll()).toEqual(change.before.map(expected));
      fixture.servePages(scope, CONTRACT_WINDOW, [change.after.map((record) => fixture.record(record))]);
      const after = await pullAll();
      expect(after).toEqual(change.after.map(expected));
      // The conversion pulled first is still there under the same txid.
      expect(after.map((c) => c.txid)).toEqual(expect.arrayContaining(change.before.map((record) => fixture.txidOf(record))));
      expect(new Set(after.map((c) => c.txid)).size).toBe(after.length);
      expect(scope.isDone()).toBe(true);
    });

    test('money stays the exact decimal string; currency and time to the second are kept', async () => {
      const records = [
        input({ txid: 'six-places', payout: '12.345678', currency: 'USD', occurredAt: at(1) }),
        input({ txid: 'trailing-zero', payout: '0.10', currency: 'EUR', occurredAt: at(86_399) }),
        input({ txid: 'large', payout: '98765432109876.54', currency: 'GBP', occurredAt: at(3 * 86_400 + 7) }),
        input({ txid: 'beyond-float', payout: '9007199254740993', currency: 'USD', occurredAt: at(4 * 86_400 + 59) }),
        input({ txid: 'integer', payout: '25', currency: 'CAD', occurredAt: at(5 * 86_400 + 1) }),
        input({ txid: 'no-payout', payout: null, currency: 'USD', occurredAt: at(6 * 86_400 + 3599) }),
      ];
      fixture.servePages(scope, CONTRACT_WINDOW, [records.map((record) => fixture.record(record))]);
      const pulled = await pullAll();
      expect(pulled).toEqual(records.map(expected));
      for (const conversion of pulled) {
        if (conversion.payout !== null) expect(typeof conversion.payout).toBe('string');
      }
      expect(pulled.map((c) => c.occurred_at.toISOString())).toEqual(records.map((r) => r.occurredAt.toISOString()));
      expect(scope.isDone()).toBe(true);
    });

    test('click IDs: an empty sub-id is null, an odd-case click ID passes through unchanged', async () => {
      const records = [input({ txid: 'no-click', clickId: null }), input({ txid: 'odd-case', clickId: 'AbC_123xYz' }), input({ txid: 'plain', clickId: 'cfc3x9k2m8q7w' })];
      fixture.servePages(scope, CONTRACT_WINDOW, [records.map((record) => fixture.record(record))]);
      expect((await pullAll()).map((c) => c.click_id)).toEqual([null, 'AbC_123xYz', 'cfc3x9k2m8q7w']);
      expect(scope.isDone()).toBe(true);
    });

    test('a redirect to another host is refused: credentials never leave the configured host', async () => {
      const elsewhere = nock('https://elsewhere.test').post(/.*/).reply(200, '{}').get(/.*/).reply(200, '{}');
      fixture.firstRequest(scope, CONTRACT_WINDOW).reply(302, '', { Location: 'https://elsewhere.test/steal' });
      await expect(pullAll()).rejects.toThrow(/another host \(https:\/\/elsewhere\.test\)/);
      expect(elsewhere.isDone()).toBe(false);
      expect(scope.isDone()).toBe(true);
    });

    test('check() succeeds with valid credentials', async () => {
      fixture.checkRequest(scope).reply(200, fixture.checkBody, contentType(fixture.checkBody));
      await expect(connector.check(context())).resolves.toBeUndefined();
      expect(scope.isDone()).toBe(true);
    });

    test('check() throws ConnectorAuthError when the network refuses the credentials', async () => {
      fixture.checkRequest(scope).reply(401, '');
      const requests = countRequests(scope);
      await expect(connector.check(context())).rejects.toBeInstanceOf(ConnectorAuthError);
      expect(requests.count).toBe(1);
      expect(scope.isDone()).toBe(true);
    });

    const examples = connector.classification.flatMap((rule) => rule.examples.map((example, index) => [`${rule.name} #${index + 1} → ${example.expect}`, rule, example] as const));
    test.each(examples)('classification: %s', async (_name, _rule, example) => {
      const quotaSpec = connector.http(parsedConfig()).quota;
      const quota = quotaSpec ? new MemoryQuotaBudget(quotaSpec, { lastSuccessAt: example.workedSinceQuotaReset ? new Date() : null }) : undefined;
      const times = REQUESTS_OF[example.expect];
      fixture.firstRequest(scope, CONTRACT_WINDOW).times(times).reply(example.status, example.body, { ...contentType(example.body), ...example.headers });
      const requests = countRequests(scope);
      // No waiting in this test: a rate limit of any length ends the pull with ConnectorRateLimitError.
      await expect(pullAll(CONTRACT_WINDOW, { quota, maxRetryAfterMs: 0 })).rejects.toBeInstanceOf(ERROR_OF[example.expect]);
      expect(requests.count).toBe(times);
      expect(scope.isDone()).toBe(true);
    });
  });
}
