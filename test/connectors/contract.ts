import nock from 'nock';
import { createConnectorContext } from '../../connectors/kit/context';
import { ConnectorAuthError, type ConnectorError } from '../../connectors/kit/errors';
import type { Connector, ConnectorContext, NormalizedConversion, PullWindow } from '../../connectors/kit/types';

/**
 * The behaviour every connector must show, whatever its network. A network's test file calls
 * {@link describeConnectorContract} with a fixture that speaks the network's documented request
 * and response shapes; the suite drives the connector through the real HTTP client against nock.
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
  /** A valid config (credentials the fixture's interceptors expect) pointing at `baseUrl`. */
  config(baseUrl: string): Config;
  /** A raw record in the network's shape. */
  record(input: RecordInput): unknown;
  /** The txid the connector reports for `input` (the network's id, or one derived from it). */
  txidOf(input: RecordInput): string;
  /** The type the connector reports for a record built without `type`. */
  readonly defaultType: string | null;
  /** Late changes as this network reports them (a status change, or a reversal row). */
  readonly lateChanges: readonly LateChange[];
  /** Serves `pages` of raw records for `window`, one documented request per page, in order. */
  servePages(scope: nock.Scope, window: PullWindow, pages: readonly (readonly unknown[])[]): void;
  /** Answers the first page request of `window` with 429 and `Retry-After: 1`, once. */
  replyRateLimited(scope: nock.Scope, window: PullWindow): void;
  /** Answers the first page request of `window` with 503, once. */
  replyServerError(scope: nock.Scope, window: PullWindow): void;
  /** Answers the first page request of `window` with HTTP 200 carrying an error, `times` times. */
  replyBodyError(scope: nock.Scope, window: PullWindow, times: number): void;
  /** What a pull that keeps getting that 200 error ends in. */
  readonly bodyErrorClass: new (...args: never[]) => ConnectorError;
  /** Answers the first page request of `window` as the network refuses credentials, once. */
  replyUnauthorized(scope: nock.Scope, window: PullWindow): void;
  /** Answers check()'s request as for valid credentials, once. */
  replyCheck(scope: nock.Scope): void;
  /** Answers check()'s request as the network refuses credentials, once. */
  replyCheckUnauthorized(scope: nock.Scope): void;
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

/** Counts the requests that reached the scope's interceptors. */
export function countRequests(scope: nock.Scope): { readonly count: number } {
  const counter = { count: 0 };
  scope.on('request', () => counter.count++);
  return counter;
}

export function describeConnectorContract<Config>(fixture: ConnectorFixture<Config>): void {
  const { connector } = fixture;
  const baseUrl = `https://${connector.id}.api.test`;
  const context = () => createConnectorContext(connector, connector.configSchema.parse(fixture.config(baseUrl)), { retries: RETRIES, baseDelayMs: 10 });
  const expected = (record: RecordInput): NormalizedConversion =>
    expect.objectContaining({
      click_id: record.clickId,
      txid: fixture.txidOf(record),
      payout: record.payout,
      currency: record.currency,
      status: record.status,
      type: record.type ?? fixture.defaultType,
      occurred_at: record.occurredAt,
    }) as NormalizedConversion;
  const pullAll = async (window: PullWindow = CONTRACT_WINDOW) => (await collect(connector, context(), window)).flat();

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

    test('yields every record of three pages, in order, one array per page', async () => {
      const pages = [
        [input({ txid: 'p1a', occurredAt: at(60) }), input({ txid: 'p1b', occurredAt: at(120) })],
        [input({ txid: 'p2a', occurredAt: at(180) }), input({ txid: 'p2b', occurredAt: at(240) })],
        [input({ txid: 'p3a', occurredAt: at(300) })],
      ];
      fixture.servePages(scope, CONTRACT_WINDOW, pages.map((page) => page.map((record) => fixture.record(record))));
      const pulled = await collect(connector, context(), CONTRACT_WINDOW);
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
      fixture.replyRateLimited(scope, CONTRACT_WINDOW);
      fixture.servePages(scope, CONTRACT_WINDOW, [[fixture.record(record)]]);
      const requests = countRequests(scope);
      const started = performance.now();
      const pulled = await pullAll();
      const elapsed = performance.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(1000);
      expect(pulled).toEqual([expected(record)]);
      expect(requests.count).toBe(2);
      expect(scope.isDone()).toBe(true);
    });

    test('retries a 5xx, then succeeds', async () => {
      const record = input({ txid: 'after-503' });
      fixture.replyServerError(scope, CONTRACT_WINDOW);
      fixture.servePages(scope, CONTRACT_WINDOW, [[fixture.record(record)]]);
      const requests = countRequests(scope);
      expect(await pullAll()).toEqual([expected(record)]);
      expect(requests.count).toBe(2);
      expect(scope.isDone()).toBe(true);
    });

    test('an error inside an HTTP 200 fails the pull instead of passing for an empty page', async () => {
      fixture.replyBodyError(scope, CONTRACT_WINDOW, RETRIES + 1);
      const pages: NormalizedConversion[][] = [];
      const pull = (async () => {
        for await (const page of connector.pull(context(), CONTRACT_WINDOW)) pages.push(page);
      })();
      await expect(pull).rejects.toBeInstanceOf(fixture.bodyErrorClass);
      expect(pages).toEqual([]);
      expect(scope.isDone()).toBe(true);
    });

    test('refused credentials end the pull with ConnectorAuthError after exactly one request', async () => {
      fixture.replyUnauthorized(scope, CONTRACT_WINDOW);
      const requests = countRequests(scope);
      await expect(pullAll()).rejects.toBeInstanceOf(ConnectorAuthError);
      expect(requests.count).toBe(1);
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
      const records = [
        input({ txid: 'no-click', clickId: null }),
        input({ txid: 'odd-case', clickId: 'AbC_123xYz' }),
        input({ txid: 'plain', clickId: 'cfc3x9k2m8q7w' }),
      ];
      fixture.servePages(scope, CONTRACT_WINDOW, [records.map((record) => fixture.record(record))]);
      expect((await pullAll()).map((c) => c.click_id)).toEqual([null, 'AbC_123xYz', 'cfc3x9k2m8q7w']);
      expect(scope.isDone()).toBe(true);
    });

    test('check() succeeds with valid credentials', async () => {
      fixture.replyCheck(scope);
      await expect(connector.check(context())).resolves.toBeUndefined();
      expect(scope.isDone()).toBe(true);
    });

    test('check() throws ConnectorAuthError when the network refuses the credentials', async () => {
      fixture.replyCheckUnauthorized(scope);
      const requests = countRequests(scope);
      await expect(connector.check(context())).rejects.toBeInstanceOf(ConnectorAuthError);
      expect(requests.count).toBe(1);
      expect(scope.isDone()).toBe(true);
    });
  });
}
