import Redis from 'ioredis';
import { lastQuotaReset, nextQuotaReset, type QuotaSpec } from '../../connectors/kit/quota';
import { RedisQuotaBudget } from '../../jobs/redis-quota-budget';

const spec: QuotaSpec = { requestsPerDay: 3, resetTimeZone: 'America/Los_Angeles', source: 'test' };
const prefix = `tally-test-quota-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
let redis: Redis;

beforeAll(() => {
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

test("the quota day is the reset zone's calendar day, across DST", () => {
  // 2024-11-03 is the day Los Angeles leaves daylight time: that day lasts 25 hours.
  const at = new Date('2024-11-03T12:00:00Z');
  expect(lastQuotaReset(spec, at).toISOString()).toBe('2024-11-03T07:00:00.000Z');
  expect(nextQuotaReset(spec, at).toISOString()).toBe('2024-11-04T08:00:00.000Z');
});

test('every worker counts against one budget; past the day\'s requests it refuses until the reset', async () => {
  const now = () => new Date('2024-11-05T18:00:00Z');
  const one = new RedisQuotaBudget(redis, `${prefix}:a`, spec, { now });
  const two = new RedisQuotaBudget(redis, `${prefix}:a`, spec, { now });
  expect(await one.take()).toEqual({ ok: true });
  expect(await two.take()).toEqual({ ok: true });
  expect(await one.take()).toEqual({ ok: true });
  expect(await two.take()).toEqual({ ok: false, resetAt: new Date('2024-11-06T08:00:00Z') });
  // The next quota day starts afresh.
  expect(await new RedisQuotaBudget(redis, `${prefix}:a`, spec, { now: () => new Date('2024-11-06T08:00:01Z') }).take()).toEqual({ ok: true });
});

test('a budget the API says is spent refuses until the reset; the last success is shared, with the database value as fallback', async () => {
  const now = () => new Date('2024-11-05T18:00:00Z');
  const fallback = new Date('2024-11-05T09:00:00Z');
  const budget = new RedisQuotaBudget(redis, `${prefix}:b`, spec, { now, lastSuccessFallback: fallback });
  expect(await budget.lastSuccessAt()).toEqual(fallback);
  await budget.noteSuccess();
  expect(await new RedisQuotaBudget(redis, `${prefix}:b`, spec, { now }).lastSuccessAt()).toEqual(now());
  await budget.exhaust(new Date('2024-11-06T08:00:00Z'));
  // Spent-until is judged by the Redis key's lifetime and the stored instant: still spent now.
  expect(await budget.take()).toEqual({ ok: false, resetAt: new Date('2024-11-06T08:00:00Z') });
});
