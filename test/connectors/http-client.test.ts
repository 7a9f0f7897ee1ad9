import nock from 'nock';
import { staticAuth } from '../../connectors/kit/auth';
import { classifyResponse, DEFAULT_CLASSIFICATION, type ClassificationRule } from '../../connectors/kit/classification';
import { ConnectorAuthError, ConnectorConfigError, ConnectorRateLimitError, ConnectorTransientError } from '../../connectors/kit/errors';
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

describe('credentials stay on the configured origin', () => {
  const auth = staticAuth({ headers: { 'X-Api-Key': 'secret' } });

  test('a same-origin redirect is followed with the credentials', async () => {
    nock(base).get('/old').matchHeader('x-api-key', 'secret').reply(307, '', { Location: '/new?x=1' });
    nock(base).get('/new').query({ x: '1' }).matchHeader('x-api-key', 'secret').reply(200, '{"ok":true}', { 'content-type': 'application/json' });
    const response = await new HttpClient({ baseUrl: base, auth }).request({ url: 'old' });
    expect(response.data).toEqual({ ok: true });
  });

  test('a redirect to another origin is refused and that host never hears from us', async () => {
    nock(base).get('/old').reply(302, '', { Location: 'http://api.kit.test:8443/new' });
    const other = nock('http://api.kit.test:8443').get('/new').reply(200, '{}');
    await expect(new HttpClient({ baseUrl: base, auth }).request({ url: 'old' })).rejects.toBeInstanceOf(ConnectorConfigError);
    expect(other.isDone()).toBe(false);
  });

  test('an absolute URL on another origin is refused with credentials and fetched without them when asked', async () => {
    const client = new HttpClient({ baseUrl: base, auth });
    await expect(client.request({ url: 'https://files.example/report.csv' })).rejects.toThrow(/refusing to send credentials to https:\/\/files\.example/);
    nock('https://files.example').get('/report.csv').matchHeader('x-api-key', (value) => value === undefined).reply(200, 'a,b\n1,2');
    expect((await client.request({ url: 'https://files.example/report.csv', credentials: 'omit' })).data).toBe('a,b\n1,2');
  });
});

describe('the kit defaults of the classification table', () => {
  test.each(DEFAULT_CLASSIFICATION.flatMap((rule) => rule.examples.map((example) => [rule.name, example] as const)))('%s', async (_name, example) => {
    const errorOf = { rate_limited: ConnectorRateLimitError, transient: ConnectorTransientError, auth: ConnectorAuthError, bad_request: ConnectorConfigError, reauthenticate: ConnectorAuthError } as const;
    nock(base).get('/x').times(3).reply(example.status, example.body, example.headers);
    await expect(new HttpClient({ baseUrl: base, retries: 2, baseDelayMs: 1, maxRetryAfterMs: 0 }).request({ url: 'x' })).rejects.toBeInstanceOf(errorOf[example.expect]);
  });

  test("a connector's rule is tried before the defaults; a 2xx no rule objects to passes", () => {
    const rules: ClassificationRule[] = [{ name: '403 quota', status: 403, body: (body) => body === 'Quota', then: { kind: 'quota_or_auth' }, source: 't', examples: [] }];
    expect(classifyResponse(rules, { status: 403, headers: {}, body: 'Quota' })?.name).toBe('403 quota');
    expect(classifyResponse(rules, { status: 403, headers: {}, body: 'Nope' })?.then.kind).toBe('auth');
    expect(classifyResponse(rules, { status: 200, headers: {}, body: {} })).toBeUndefined();
    expect(classifyResponse(rules, { status: 302, headers: {}, body: null })?.then.kind).toBe('bad_request');
  });
});
