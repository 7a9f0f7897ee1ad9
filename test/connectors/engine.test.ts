import nock from 'nock';
import { z } from 'zod';
import { baseUrlField, secretField } from '../../connectors/kit/config-fields';
import { createConnectorContext } from '../../connectors/kit/context';
import { defineSpecConnector } from '../../connectors/kit/engine';
import { ConnectorAuthError } from '../../connectors/kit/errors';
import { requestWindows } from '../../connectors/kit/request-windows';
import type { ConnectorSpec, DateParamsSpec } from '../../connectors/kit/spec';
import type { NormalizedRevenueRow, PullWindow } from '../../connectors/kit/types';

/**
 * The engine with specs written for these tests (not a network's: the networks' fixtures follow
 * their documentation in their own files): spec validation at load, request windows, revenue
 * rows, parse/fetch/custom-pagination hooks and token exchange.
 */

const BASE = 'https://feed.api.test';
const DAY = 86_400_000;
beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

const configSchema = z.object({ api_key: secretField('api_key', 'from the feed'), base_url: baseUrlField(BASE), click_id_field: z.enum(['subid1', 'subid4']).default('subid4') });
type FeedConfig = z.infer<typeof configSchema>;

const dates: DateParamsSpec = { in: 'query', from: 'start', to: 'end', format: 'date', timeZone: 'UTC', end: 'inclusive', wholeDays: true, maxDays: 31 };

/** A revenue feed answering arrays of arrays with a header row and a totals row. */
function feedSpec(overrides: Partial<ConnectorSpec<'revenue', FeedConfig>> = {}): ConnectorSpec<'revenue', FeedConfig> {
  return {
    id: 'feed',
    name: 'Test feed',
    kind: 'revenue',
    documentationUrl: 'https://feed.example/docs',
    maturity: { level: 'experimental', unconfirmed: ['everything: a test spec'] },
    config: { schema: configSchema, secretFields: ['api_key'], defaultBaseUrl: BASE },
    auth: {
      type: 'token_exchange',
      exchange: async (send, config) => {
        const response = await send({ method: 'POST', url: 'token', data: { key: config.api_key } });
        const body = response.data as { token: string; expires_in: number };
        return { token: body.token, expiresAt: new Date(Date.now() + body.expires_in * 1000) };
      },
      placement: { type: 'bearer' },
    },
    rateLimit: { requests: 10, intervalMs: 1000 },
    window: { defaultLookbackDays: 3 },
    streams: [
      {
        name: 'daily',
        documentationUrl: 'https://feed.example/docs/daily',
        role: 'window',
        request: { method: 'GET', path: 'report', dates },
        pagination: { type: 'custom', next: ({ response, request }) => ((response.data as { more?: string }).more ? { ...request, params: { ...request.params, after: (response.data as { more: string }).more } } : undefined) },
        records: {
          path: [],
          schema: z.looseObject({ day: z.string(), amount: z.string() }),
          // Header row, data rows, then a totals row whose first cell is "Total".
          parse: (body) => {
            const [header, ...rows] = (body as { rows: string[][] }).rows;
            return rows.filter((row) => row[0] !== 'Total').map((row) => Object.fromEntries(header!.map((name, index) => [name, row[index]])));
          },
        },
        fields: { subId: { configField: 'click_id_field' }, day: { get: ['day'], format: 'date' }, amount: ['amount'], currency: null, final: (record) => record.status === 'final' },
      },
    ],
    check: { documentationUrl: 'https://feed.example/docs/me', request: { method: 'GET', path: 'me' } },
    classification: [
      {
        name: '401 token expired',
        status: 401,
        body: (body) => /expired/.test(JSON.stringify(body)),
        then: { kind: 'reauthenticate' },
        source: 'test',
        examples: [{ status: 401, body: '{"error":"token expired"}', expect: 'reauthenticate' }],
      },
    ],
    ...overrides,
  };
}

describe('spec validation at load', () => {
  test.each([
    ['no base_url in the config schema', { config: { schema: z.object({ api_key: z.string() }) as never, secretFields: ['api_key'], defaultBaseUrl: BASE } }, /must accept base_url/],
    ['a secret the schema lacks', { config: { schema: configSchema, secretFields: ['password'], defaultBaseUrl: BASE } }, /secretFields names "password"/],
    ['a rule without examples', { classification: [{ name: 'x', status: 418, then: { kind: 'transient' }, source: 's', examples: [] }] }, /at least one example/],
    ['an unknown time zone', { streams: [{ ...feedSpec().streams[0]!, request: { method: 'GET', path: 'report', dates: { ...dates, timeZone: 'Mars/Olympus' } } }] }, /IANA time zone/],
    ['a path placeholder not in config', { check: { documentationUrl: 'https://feed.example', request: { method: 'GET', path: 'accounts/{account_id}' } } }, /uses \{account_id\}/],
    ['a quota_or_auth rule without a quota', { classification: [{ name: '403', status: 403, then: { kind: 'quota_or_auth' }, source: 's', examples: [{ status: 403, body: '', expect: 'auth' }] }] }, /needs a quota/],
    ['experimental without saying what', { maturity: { level: 'experimental', unconfirmed: [] } }, /say what is unconfirmed/],
  ] as const)('%s fails at definition with a message naming it', (_name, overrides, message) => {
    expect(() => defineSpecConnector(feedSpec(overrides as Partial<ConnectorSpec<'revenue', FeedConfig>>))).toThrow(message);
    expect(() => defineSpecConnector(feedSpec(overrides as Partial<ConnectorSpec<'revenue', FeedConfig>>))).toThrow(/connector spec "feed" is invalid/);
  });

  test('a valid spec defines a connector; base_url must be https except on loopback', () => {
    const connector = defineSpecConnector(feedSpec());
    expect(connector.kind).toBe('revenue');
    // Revenue feeds are pulled by whole days of the feed's zone: the request's whole maxDays is one step.
    expect(connector.maxWindowDays).toBe(31);
    expect(connector.hostFields).toEqual(['base_url']);
    expect(configSchema.safeParse({ api_key: 'k', base_url: 'http://feed.example' }).error?.issues[0]?.message).toMatch(/must use https/);
    for (const url of ['http://127.0.0.1:8080', 'http://localhost:9', 'http://[::1]:80', 'https://feed.example']) expect(configSchema.safeParse({ api_key: 'k', base_url: url }).success).toBe(true);
  });
});

describe('request windows', () => {
  const window = (from: string, to: string): PullWindow => ({ from: new Date(from), to: new Date(to) });

  test('whole UTC days, inclusive date-time end: the last second of the last day, never over maxDays', () => {
    const iso: DateParamsSpec = { ...dates, format: 'iso8601', maxDays: 45 };
    const windows = requestWindows(window('2024-09-01T13:20:00Z', '2024-10-16T13:20:00Z'), iso);
    expect(windows.map((w) => [w.fromValue, w.toValue])).toEqual([
      ['2024-09-01T00:00:00Z', '2024-10-15T23:59:59Z'],
      ['2024-10-16T00:00:00Z', '2024-10-16T23:59:59Z'],
    ]);
    for (const w of windows) expect(w.to.getTime() - w.from.getTime()).toBeLessThanOrEqual(45 * DAY);
  });

  test('dates in a zone of their own, padded a day each side; an exclusive end names the first day left out', () => {
    const la: DateParamsSpec = { ...dates, timeZone: 'America/Los_Angeles', padDays: 1 };
    expect(requestWindows(window('2024-11-01T00:00:00Z', '2024-11-08T00:00:00Z'), la).map((w) => [w.fromValue, w.toValue])).toEqual([['2024-10-30', '2024-11-08']]);
    const exclusive: DateParamsSpec = { ...dates, end: 'exclusive' };
    expect(requestWindows(window('2024-11-01T00:00:00Z', '2024-11-08T00:00:00Z'), exclusive).map((w) => [w.fromValue, w.toValue])).toEqual([['2024-11-01', '2024-11-08']]);
  });

  test('instants: seconds, inclusive end one second before the window end', () => {
    const datetime: DateParamsSpec = { ...dates, format: 'datetime', wholeDays: false, maxDays: 365 };
    expect(requestWindows(window('2024-11-01T06:30:00.400Z', '2024-11-02T06:30:00Z'), datetime).map((w) => [w.fromValue, w.toValue])).toEqual([['2024-11-01 06:30:00', '2024-11-02 06:29:59']]);
  });
});

describe('a revenue feed through the engine', () => {
  const connector = defineSpecConnector(feedSpec());
  const context = () => createConnectorContext(connector, connector.configSchema.parse({ api_key: 'secret-key' }), { retries: 2, baseDelayMs: 1 });
  const pull = async (window: PullWindow) => {
    const rows: NormalizedRevenueRow[] = [];
    for await (const page of connector.pull(context(), window)) rows.push(...page);
    return rows;
  };
  const window = { from: new Date('2024-11-01T00:00:00Z'), to: new Date('2024-11-03T00:00:00Z') };

  test('token exchange, header-row arrays without the totals row, custom paging, days outside the window dropped', async () => {
    const scope = nock(BASE)
      .post('/token', { key: 'secret-key' })
      .once()
      .reply(200, { token: 'tok-1', expires_in: 3600 })
      .get('/report')
      .query({ start: '2024-11-01', end: '2024-11-02' })
      .matchHeader('authorization', 'Bearer tok-1')
      .reply(200, { rows: [['day', 'subid4', 'amount', 'status'], ['2024-11-01', 'clk1', '1.25', 'estimated'], ['2024-10-31', 'clk0', '9.99', 'final'], ['Total', '', '11.24', '']], more: 'c2' })
      .get('/report')
      .query({ start: '2024-11-01', end: '2024-11-02', after: 'c2' })
      .matchHeader('authorization', 'Bearer tok-1')
      .reply(200, { rows: [['day', 'subid4', 'amount', 'status'], ['2024-11-02', 'clk2', '0.10', 'final']] });
    const rows = await pull(window);
    expect(rows.map(({ raw: _raw, ...row }) => row)).toEqual([
      { sub_id: 'clk1', day: '2024-11-01', amount: '1.25', currency: null, final: false, network_status: null },
      { sub_id: 'clk2', day: '2024-11-02', amount: '0.10', currency: null, final: true, network_status: null },
    ]);
    expect(scope.isDone()).toBe(true);
  });

  test('a 401 saying the token expired mid-pull exchanges a new token once and goes on; a second one is an auth failure', async () => {
    const scope = nock(BASE)
      .post('/token')
      .reply(200, { token: 'tok-1', expires_in: 3600 })
      .get('/report')
      .query(true)
      .matchHeader('authorization', 'Bearer tok-1')
      .reply(401, { error: 'token expired' })
      .post('/token')
      .reply(200, { token: 'tok-2', expires_in: 3600 })
      .get('/report')
      .query(true)
      .matchHeader('authorization', 'Bearer tok-2')
      .reply(200, { rows: [['day', 'subid4', 'amount'], ['2024-11-01', 'clk1', '2']] });
    expect((await pull(window)).map((row) => row.amount)).toEqual(['2']);
    expect(scope.isDone()).toBe(true);

    nock(BASE).post('/token').times(2).reply(200, { token: 'tok-3', expires_in: 3600 }).get('/report').query(true).times(2).reply(401, { error: 'token expired' });
    await expect(pull(window)).rejects.toBeInstanceOf(ConnectorAuthError);
  });

  test('an async report: request, poll, and a download from another host without credentials', async () => {
    const asyncConnector = defineSpecConnector(
      feedSpec({
        streams: [
          {
            ...feedSpec().streams[0]!,
            pagination: { type: 'none' },
            fetch: async function* ({ http, window: requestWindow }) {
              const started = await http.request<{ id: string }>({ method: 'POST', url: 'reports', data: { start: requestWindow.fromValue, end: requestWindow.toValue } });
              let status = await http.request<{ state: string; url?: string }>({ url: `reports/${started.data.id}` });
              while (status.data.state !== 'done') status = await http.request({ url: `reports/${started.data.id}` });
              yield (await http.request({ url: status.data.url!, credentials: 'omit' })).data;
            },
          },
        ],
      }),
    );
    const storage = nock('https://storage.example')
      .get('/r/77.json')
      .matchHeader('authorization', (value) => value === undefined)
      .reply(200, { rows: [['day', 'subid4', 'amount'], ['2024-11-02', 'clk9', '3.30']] });
    nock(BASE)
      .post('/token')
      .reply(200, { token: 'tok', expires_in: 3600 })
      .post('/reports', { start: '2024-11-01', end: '2024-11-02' })
      .reply(200, { id: '77' })
      .get('/reports/77')
      .reply(200, { state: 'running' })
      .get('/reports/77')
      .reply(200, { state: 'done', url: 'https://storage.example/r/77.json' });
    const rows: NormalizedRevenueRow[] = [];
    for await (const page of asyncConnector.pull(createConnectorContext(asyncConnector, asyncConnector.configSchema.parse({ api_key: 'k' }), { retries: 0 }), window)) rows.push(...page);
    expect(rows.map((row) => [row.sub_id, row.amount])).toEqual([['clk9', '3.30']]);
    expect(storage.isDone()).toBe(true);
  });
});
