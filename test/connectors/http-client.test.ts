import nock from 'nock';
import { HttpClient, retryAfterMs } from '../../connectors/kit/http-client';
import type { RateLimiter } from '../../connectors/kit/rate-limiter';

const base = 'https://api.kit.test';
beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

test('Retry-After as seconds or an HTTP date; X-RateLimit-Reset as seconds from now or a unix time', () => {
  const now = Date.parse('2026-11-24T10:00:00Z');
  expect(retryAfterMs({ 'retry-after': '7' }, now)).toBe(7000);
  expect(retryAfterMs({ 'retry-after': 'Tue, 24 Nov 2026 10:00:30 GMT' }, now)).toBe(30_000);
  expect(retryAfterMs({ 'x-ratelimit-reset': '12' }, now)).toBe(12_000);
  expect(retryAfterMs({ 'ratelimit-reset': String(now / 1000 + 45) }, now)).toBe(45_000);
  expect(retryAfterMs({}, now)).toBeUndefined();
});

test('an exhausted per-period limit header pauses every process until the reset', async () => {
  const pauses: number[] = [];
  const limiter: RateLimiter = { acquire: async () => undefined, pauseFor: async (ms) => void pauses.push(ms) };
  nock(base).get('/actions').reply(200, '{"ok":true}', { 'content-type': 'application/json', 'x-ratelimit-remaining-hour': '0', 'ratelimit-reset': '90' });
  nock(base).get('/actions').reply(200, '{"ok":true}', { 'content-type': 'application/json', 'x-ratelimit-remaining-hour': '10' });
  const client = new HttpClient({ baseUrl: base, rateLimiter: limiter });
  await client.request({ url: 'actions' });
  await client.request({ url: 'actions' });
  expect(pauses).toEqual([90_000]);
});

test('money in a JSON body never becomes a binary float', async () => {
  nock(base).get('/money').reply(200, '{"a": 0.1, "b": 12.345678901234567, "c": 9007199254740993, "d": 42}', { 'content-type': 'application/json' });
  const response = await new HttpClient({ baseUrl: base }).request<Record<string, unknown>>({ url: 'money' });
  expect(response.data).toEqual({ a: '0.1', b: '12.345678901234567', c: '9007199254740993', d: 42 });
});
