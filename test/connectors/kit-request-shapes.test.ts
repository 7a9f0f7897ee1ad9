import nock from 'nock';
import { z } from 'zod';
import { staticAuth } from '../../connectors/kit/auth';
import { createConnectorContext } from '../../connectors/kit/context';
import { defineSpecConnector } from '../../connectors/kit/engine';
import { HttpClient } from '../../connectors/kit/http-client';
import type { RequestWindow } from '../../connectors/kit/request-windows';
import { instantOfZonedDateTime } from '../../connectors/kit/zoned-time';

/** The kit additions the HasOffers and CAKE specs rest on, on their own. */
const base = 'https://api.kit-shapes.test';
beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

test('a list parameter goes out PHP-style, name[]=a&name[]=b, brackets of the name kept', async () => {
  const paths: string[] = [];
  const scope = nock(base).get('/report').query(true).reply(200, '{}', { 'content-type': 'application/json' });
  scope.on('request', (request: { path: string }) => paths.push(decodeURIComponent(request.path)));
  await new HttpClient({ baseUrl: base }).request({ url: 'report', params: { 'fields': ['Stat.id', 'Stat.payout'], 'filters[Stat.date][values]': ['2024-11-01', '2024-11-02'], one: 1 } });
  expect(paths).toEqual(['/report?fields[]=Stat.id&fields[]=Stat.payout&filters[Stat.date][values][]=2024-11-01&filters[Stat.date][values][]=2024-11-02&one=1']);
});

test('body credentials join a POST JSON body on the configured origin, never a GET, never another origin', async () => {
  const auth = staticAuth({ body: { api_key: 'body-secret' } });
  const client = new HttpClient({ baseUrl: base, auth });
  const bodies: unknown[] = [];
  nock(base).post('/report', (body: unknown) => bodies.push(body) > 0).reply(200, '{}', { 'content-type': 'application/json' });
  await client.request({ method: 'POST', url: 'report', data: { row_limit: 1 } });
  expect(bodies).toEqual([{ row_limit: 1, api_key: 'body-secret' }]);
  const queries: unknown[] = [];
  nock(base).get('/report').query((query) => queries.push(query) > 0).reply(200, '{}', { 'content-type': 'application/json' });
  await client.request({ url: 'report' });
  expect(JSON.stringify(queries)).not.toContain('body-secret');
  const elsewhere = nock('https://elsewhere.test').post(/.*/).reply(200, '{}');
  await expect(client.request({ method: 'POST', url: 'https://elsewhere.test/steal', data: {} })).rejects.toThrow(/refusing to send credentials/);
  expect(elsewhere.isDone()).toBe(false);
});

test("a window-aware parameter gets the request window's date values, and undefined on the check request", async () => {
  const windows: (RequestWindow | undefined)[] = [];
  const connector = defineSpecConnector({
    id: 'shapes',
    name: 'Shapes',
    kind: 'conversion',
    documentationUrl: 'https://docs.kit-shapes.test/report',
    maturity: { level: 'experimental', unconfirmed: ['a test spec'] },
    config: { schema: z.object({ key: z.string(), base_url: z.string().optional() }), secretFields: ['key'], defaultBaseUrl: base },
    auth: { type: 'body', param: 'key', field: 'key' },
    rateLimit: { requests: 100, intervalMs: 1000 },
    window: { defaultLookbackDays: 1 },
    streams: [
      {
        name: 'report',
        documentationUrl: 'https://docs.kit-shapes.test/report',
        role: 'window',
        request: {
          method: 'GET',
          path: 'report',
          query: { range: (_config, window) => (windows.push(window), window ? [window.fromValue, window.toValue] : undefined) },
          dates: { in: 'query', from: 'from', to: 'to', format: 'date', timeZone: 'UTC', end: 'inclusive', wholeDays: true, maxDays: 10 },
        },
        pagination: { type: 'none' },
        records: { path: ['rows'], schema: z.looseObject({ id: z.string() }) },
        fields: { clickId: ['c'], txid: ['id'], payout: ['p'], currency: null, occurredAt: { get: ['t'], format: 'unix_seconds' }, type: ['kind'], status: { get: ['s'], map: {}, unknown: 'pending', missing: 'pending' } },
      },
    ],
    check: { documentationUrl: 'https://docs.kit-shapes.test/report', request: { method: 'GET', path: 'report', query: { range: (_config, window) => (windows.push(window), 'none') } } },
    classification: [],
  });
  const t = Date.parse('2024-11-01T10:00:00Z') / 1000;
  nock(base)
    .get('/report')
    .query({ 'range[]': ['2024-11-01', '2024-11-01'], from: '2024-11-01', to: '2024-11-01' })
    // A conversion and its event share an id and differ by type: both are yielded; a repeat is not.
    .reply(200, { rows: [{ id: '7', t, kind: null }, { id: '7', t, kind: 'upsell' }, { id: '7', t, kind: null }] });
  const context = createConnectorContext(connector, connector.configSchema.parse({ key: 'k' }));
  const pulled: { txid: string; type: string | null }[] = [];
  for await (const page of connector.pull(context, { from: new Date('2024-11-01T00:00:00Z'), to: new Date('2024-11-02T00:00:00Z') })) pulled.push(...page);
  expect(pulled.map((c) => [c.txid, c.type])).toEqual([
    ['7', null],
    ['7', 'upsell'],
  ]);
  nock(base).get('/report').query({ range: 'none' }).reply(200, { rows: [] });
  await connector.check(context);
  expect(windows.map((window) => window?.fromValue)).toEqual(['2024-11-01', undefined]);
});

test('a wall-clock time in a zone: summer and winter offsets, the repeated hour taken once, nonsense refused', () => {
  expect(instantOfZonedDateTime('2024-07-01 12:00:00', 'America/New_York')?.toISOString()).toBe('2024-07-01T16:00:00.000Z');
  expect(instantOfZonedDateTime('2024-12-01T12:00:00', 'America/New_York')?.toISOString()).toBe('2024-12-01T17:00:00.000Z');
  expect(instantOfZonedDateTime('2024-11-03 01:30:00', 'America/New_York')?.toISOString()).toBe('2024-11-03T05:30:00.000Z');
  for (const bad of ['2024-02-30 10:00:00', '2024-11-03', '2024-11-03 24:00:00', 'yesterday']) expect(instantOfZonedDateTime(bad, 'UTC')).toBeUndefined();
});
