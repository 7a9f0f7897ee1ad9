import Redis from 'ioredis';
import pg from 'pg';
import { auth, createTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createClicks, createFunnel } from '../support/fixtures';

let testDb: TestDatabase;
let redis: Redis;
const prefix = `tally-test-flood-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

beforeAll(async () => {
  testDb = await createTestDatabase();
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  await testDb.drop();
});

async function app(overrides: Parameters<typeof createTestApp>[1], queuePrefix = `${prefix}-${Math.random().toString(36).slice(2, 6)}`): Promise<TestApp> {
  return createTestApp(testDb, { queuePrefix, ...overrides }, { redis });
}

describe('rejected-attempt limit on /cf/cv', () => {
  test('past the limit, rejected attempts get 429 with Retry-After and are not logged; valid conversions from the same address still register', async () => {
    const t = await app({ rejectLimitPerMinute: 5 });
    try {
      const funnel = await createFunnel(testDb.db);
      const [clickId] = await createClicks(testDb.db, funnel.campaignId);
      const ip = '198.51.100.77';
      const statuses: number[] = [];
      for (let index = 0; index < 8; index += 1) {
        statuses.push((await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=nosuch${index}&txid=F${index}`, remoteAddress: ip })).statusCode);
      }
      // Five are over the limit only after the sixth is counted: >5 in the minute.
      expect(statuses).toEqual([404, 404, 404, 404, 404, 404, 429, 429]);
      const limited = await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=nosuch-x&txid=FX`, remoteAddress: ip });
      expect(limited.headers['retry-after']).toBe('60');
      expect(limited.json()).toMatchObject({ status: 'rejected', reason: 'unknown_click_id' });
      const logged = await testDb.db('registration_log').where({ client_ip: ip });
      expect(logged).toHaveLength(6);
      const valid = await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=F-ok`, remoteAddress: ip });
      expect([valid.statusCode, valid.json().status]).toEqual([200, 'accepted']);
      // An image request always gets its GIF, limited or not.
      const pixel = await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=nosuch-img`, remoteAddress: ip, headers: { 'sec-fetch-dest': 'image' } });
      expect([pixel.statusCode, pixel.headers['content-type']]).toEqual([200, 'image/gif']);
      const metrics = await t.app.inject({ method: 'GET', url: '/metrics', headers: auth });
      expect(metrics.body).toMatch(/tally_rejections_suppressed_total\{reason="unknown_click_id"\} [3-9]/);
    } finally {
      await t.app.close();
    }
  });

  test('the counters are shared by every serve process of one install (same QUEUE_PREFIX)', async () => {
    const shared = `${prefix}-shared`;
    const one = await app({ rejectLimitPerMinute: 3 }, shared);
    const two = await app({ rejectLimitPerMinute: 3 }, shared);
    try {
      const ip = '198.51.100.78';
      for (let index = 0; index < 4; index += 1) await one.app.inject({ method: 'GET', url: `/cf/cv?click_id=nope${index}`, remoteAddress: ip });
      // The second process counts into the same counter: its first rejection from the address finds
      // it past the limit (and is still logged: a valid postback never waits on Redis to learn it),
      // every further one is 429 and not logged.
      const first = await two.app.inject({ method: 'GET', url: '/cf/cv?click_id=nope-two', remoteAddress: ip });
      expect(first.statusCode).toBe(404);
      expect((await two.app.inject({ method: 'GET', url: '/cf/cv?click_id=nope-three', remoteAddress: ip })).statusCode).toBe(429);
      const [counter] = await redis.keys(`${shared}:flood:rej:*`);
      expect(Number(await redis.get(counter as string))).toBe(6);
    } finally {
      await one.app.close();
      await two.app.close();
    }
  });

  test("addresses in a network's postback_ips are exempt", async () => {
    const t = await app({ rejectLimitPerMinute: 2 });
    try {
      await t.app.inject({ method: 'POST', url: '/api/v1/networks', headers: auth, payload: { name: 'Exempt', postback_ips: ['192.0.2.0/24'] } });
      const statuses: number[] = [];
      for (let index = 0; index < 6; index += 1) statuses.push((await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=gone${index}`, remoteAddress: '192.0.2.10' })).statusCode);
      expect(statuses).toEqual(Array(6).fill(404));
    } finally {
      await t.app.close();
    }
  });

  test('with Redis unreachable the limits fail open', async () => {
    const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on('error', () => undefined);
    const t = await createTestApp(testDb, { rejectLimitPerMinute: 1, clickRateLimitPerMinute: 1 }, { redis: dead });
    try {
      const funnel = await createFunnel(testDb.db);
      const statuses: number[] = [];
      for (let index = 0; index < 4; index += 1) statuses.push((await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=dead${index}` })).statusCode);
      expect(statuses).toEqual(Array(4).fill(404));
      const clicks = await Promise.all([1, 2, 3].map(() => t.app.inject({ method: 'GET', url: `/cf/click/${funnel.campaignId}` })));
      expect(clicks.map((click) => click.statusCode)).toEqual([302, 302, 302]);
    } finally {
      await t.app.close();
      dead.disconnect();
    }
  });
});

describe('click rate limit', () => {
  test('off by default; when set, clicks over it from one address get 429', async () => {
    const funnel = await createFunnel(testDb.db);
    const unlimited = await app({});
    const limited = await app({ clickRateLimitPerMinute: 3 });
    try {
      const free = [];
      for (let index = 0; index < 5; index += 1) free.push((await unlimited.app.inject({ method: 'GET', url: `/cf/click/${funnel.campaignId}` })).statusCode);
      expect(free).toEqual(Array(5).fill(302));
      const statuses = [];
      for (let index = 0; index < 5; index += 1) statuses.push((await limited.app.inject({ method: 'GET', url: `/cf/click/${funnel.campaignId}`, remoteAddress: '203.0.113.200' })).statusCode);
      expect(statuses).toEqual([302, 302, 302, 429, 429]);
      // Another address is not affected.
      expect((await limited.app.inject({ method: 'GET', url: `/cf/click/${funnel.campaignId}`, remoteAddress: '203.0.113.201' })).statusCode).toBe(302);
    } finally {
      await unlimited.app.close();
      await limited.app.close();
    }
  });
});

describe('bounded intake', () => {
  test('when the in-memory intake is full, postbacks get 503 with Retry-After instead of growing memory; the held ones still register', async () => {
    const t = await createTestApp(testDb, { intake: { maxInFlight: 1, maxWaitMs: 1, maxPending: 3 } });
    const funnel = await createFunnel(testDb.db);
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    // Hold the click's row lock in another session: the pipeline waits on it, so the intake fills.
    const blocker = new pg.Client({ connectionString: testDb.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM clicks WHERE click_id = $1 FOR UPDATE', [clickId]);
      const held = [0, 1, 2].map((index) => t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=B${index}` }));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const refused = await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=B3` });
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBe('5');
      expect(refused.json().error.code).toBe('busy');
      await blocker.query('COMMIT');
      const answers = await Promise.all(held);
      expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200, 200]);
      expect(await testDb.db('conversions').where({ click_id: clickId })).toHaveLength(3);
    } finally {
      await blocker.end();
      await t.app.close();
    }
  });
});
