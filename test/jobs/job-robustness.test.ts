import type { Job } from 'bullmq';
import { insertClicks } from '../../src/catalog/catalog';
import { generatedData, startSandboxNetwork, type SandboxFault, type SandboxNetwork } from '../../src/demo/sandbox-network';
import { backfillView, findBackfill } from '../../jobs/backfill-job';
import { restoreLostJobs } from '../../jobs/queue-recovery';
import { RETENTION_SCHEDULER, schedulerId } from '../../jobs/queues';
import { LockLostError, RenewedLock } from '../../jobs/renewed-lock';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createFunnel } from '../support/fixtures';
import { createPullHarness, createSandboxConnection, SANDBOX_KEY, type PullHarness } from '../support/pulls';

jest.setTimeout(90_000);

/** 10,000 conversions in the first 20 days of July: one 30-day chunk of five 2,000-record pages. */
const TOTAL = 10_000;
const START = Math.floor(Date.UTC(2026, 6, 1) / 1000);
const STEP = Math.floor((20 * 86400) / TOTAL);

let testDb: TestDatabase;
let harness: PullHarness;
let sandbox: SandboxNetwork;
let fault: ((request: { path: string; page: number }) => SandboxFault | undefined) | undefined;

beforeAll(async () => {
  testDb = await createTestDatabase();
  harness = await createPullHarness(testDb);
  const funnel = await createFunnel(testDb.db);
  await insertClicks(testDb.db, Array.from({ length: 200 }, (_, index) => ({ click_id: `jr-${index}`, campaign_id: funnel.campaignId, visited_at: new Date((START - 86400) * 1000) })));
  const data = generatedData(TOTAL, START, STEP, (index) => ({
    conversion_id: `JR-${index}`, conversion_unix_timestamp: START + index * STEP, sub1: `jr-${index % 200}`, revenue: '1.25', currency_id: 'USD', status: 'approved',
  }));
  sandbox = await startSandboxNetwork(data, { apiKey: SANDBOX_KEY, delayMs: 300, fault: (request) => fault?.(request) });
});

afterEach(async () => {
  fault = undefined;
  await harness.workers?.close(true);
  harness.workers = undefined;
});

afterAll(async () => {
  await sandbox.close();
  await harness.close();
  await testDb.drop();
});

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  for (const started = Date.now(); Date.now() - started < timeoutMs; ) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const view = async (id: string) => backfillView((await findBackfill(testDb.db, id))!);
const stored = async (connectionId: string) => Number((await testDb.db('conversions').where({ connection_id: connectionId }).count<{ count: string }[]>('* as count'))[0]?.count);
/** Every sandbox record is one conversion, whichever test's backfill stored it. */
async function expectEveryRecordOnce(): Promise<void> {
  const [row] = await testDb.db('conversions').where('txid', 'like', 'JR-%').select(testDb.db.raw('count(*)::int AS rows'), testDb.db.raw('count(DISTINCT txid)::int AS txids'));
  expect(row).toEqual({ rows: TOTAL, txids: TOTAL });
}
const jobOf = async (id: string) => (await harness.queues.backfill.getJob(`backfill-${id}`)) as Job;

test('cancelling a running backfill takes effect between pages: the chunk stops part-way, what was stored stays, the job is not failed', async () => {
  const connection = await createSandboxConnection(testDb, sandbox.url, { name: 'cancel mid-chunk' });
  await harness.startWorkers();
  const backfill = await harness.service.startBackfill(connection.id, '2026-07-01', '2026-07-30');
  await until(() => view(backfill.id), (row) => row.stats.fetched >= 2000, 'the first page to be stored');
  expect((await harness.service.cancelBackfill(backfill.id)).status).toBe('cancelled');
  await until(async () => (await jobOf(backfill.id)).getState(), (state) => state === 'completed' || state === 'failed', 'the job to end');
  expect(await (await jobOf(backfill.id)).getState()).toBe('completed');
  const final = await view(backfill.id);
  expect(final).toMatchObject({ status: 'cancelled', progress: { done: 0, total: 1 } });
  expect(final.stats.fetched).toBeLessThan(TOTAL);
  expect(await stored(connection.id)).toBe(final.stats.inserted);
  expect(final.stats.inserted).toBe(final.stats.fetched);
});

test('a rate-limited backfill shows as waiting, not failed, and finishes once the limit lifts', async () => {
  const connection = await createSandboxConnection(testDb, sandbox.url, { name: 'rate limited' });
  // Longer than the HTTP client waits in place (2 s here), so the job itself is delayed.
  fault = ({ path }) => (path.endsWith('/conversions') ? { status: 429, body: '{"error":"Too many requests"}', headers: { 'retry-after': '4' } } : undefined);
  await harness.startWorkers();
  const backfill = await harness.service.startBackfill(connection.id, '2026-07-01', '2026-07-30');
  await until(() => view(backfill.id), (row) => row.status === 'waiting', 'the backfill to wait');
  const job = await jobOf(backfill.id);
  expect(await job.getState()).toBe('delayed');
  expect(job.attemptsMade).toBe(0);
  expect((await view(backfill.id)).error).toMatch(/rate limited/);

  fault = undefined;
  const done = await until(() => view(backfill.id), (row) => row.status !== 'waiting' && row.status !== 'running' && row.status !== 'queued', 'the backfill to finish');
  expect(done).toMatchObject({ status: 'completed', progress: { done: 1, total: 1 }, stats: { fetched: TOTAL } });
  expect(await (await jobOf(backfill.id)).getState()).toBe('completed');
  await expectEveryRecordOnce();
});

test('transient failures are retried on the capped backoff; the backfill completes without loss or duplicates', async () => {
  const connection = await createSandboxConnection(testDb, sandbox.url, { name: 'transient' });
  let failures = 0;
  // Every request fails until eight have: more than the HTTP client's own retries, so the job retries.
  fault = ({ path }) => (path.endsWith('/conversions') && failures++ < 8 ? { status: 502, body: '<html>Bad gateway</html>' } : undefined);
  await harness.startWorkers({ backoffMs: 200 });
  const backfill = await harness.service.startBackfill(connection.id, '2026-07-01', '2026-07-30');
  const done = await until(() => view(backfill.id), (row) => row.status === 'completed' || row.status === 'failed', 'the backfill to finish');
  expect(done).toMatchObject({ status: 'completed', stats: { fetched: TOTAL } });
  expect((await jobOf(backfill.id)).attemptsMade).toBeGreaterThan(0);
  await expectEveryRecordOnce();
});

test('wrong credentials fail a backfill at once, with the reason', async () => {
  const connection = await createSandboxConnection(testDb, sandbox.url, { name: 'bad key', config: { api_key: 'wrong', base_url: sandbox.url, click_id_field: 'sub1' } });
  await harness.startWorkers();
  const backfill = await harness.service.startBackfill(connection.id, '2026-07-01', '2026-07-30');
  const done = await until(() => view(backfill.id), (row) => row.status === 'failed' || row.status === 'completed', 'the backfill to fail');
  expect(done.status).toBe('failed');
  expect(done.error).toMatch(/credentials/);
  expect(await (await jobOf(backfill.id)).getState()).toBe('failed');
});

test('what Redis loses (a restart without persistence) is restored from Postgres: schedulers and unfinished backfills', async () => {
  const connection = await createSandboxConnection(testDb, sandbox.url, { name: 'redis lost' });
  await harness.service.reconcileSchedulers();
  const backfill = await harness.service.startBackfill(connection.id, '2026-07-01', '2026-07-30');
  expect(await harness.queues.pull.getJobScheduler(schedulerId(connection.id))).toBeDefined();
  // Redis comes back empty.
  const keys = await harness.redis.keys(`${harness.prefix}:*`);
  await harness.redis.del(...keys);
  expect(await harness.queues.pull.getJobScheduler(schedulerId(connection.id))).toBeUndefined();
  expect(await harness.queues.backfill.getJob(`backfill-${backfill.id}`)).toBeUndefined();
  await testDb.db('backfills').where({ id: backfill.id }).update({ updated_at: testDb.db.raw("now() - interval '1 hour'") });

  const restored = await restoreLostJobs(testDb.db, harness.service, { quietMs: 60_000 });
  expect(restored).toEqual({ schedulers: true, backfills: [backfill.id] });
  expect(await harness.queues.pull.getJobScheduler(schedulerId(connection.id))).toBeDefined();
  expect(await harness.queues.maintenance.getJobScheduler(RETENTION_SCHEDULER)).toBeDefined();
  expect(await harness.queues.backfill.getJob(`backfill-${backfill.id}`)).toBeDefined();
  // Nothing is lost a second time, so nothing more is restored.
  expect(await restoreLostJobs(testDb.db, harness.service, { quietMs: 60_000 })).toEqual({ schedulers: false, backfills: [] });

  await harness.startWorkers();
  expect(await until(() => view(backfill.id), (row) => row.status === 'completed' || row.status === 'failed', 'the restored backfill to finish')).toMatchObject({ status: 'completed' });
  await harness.service.queues.pull.removeJobScheduler(schedulerId(connection.id));
});

describe('renewed lock', () => {
  const key = () => `${harness.prefix}:test-lock:${Math.random().toString(36).slice(2)}`;

  test('held while its holder lives, past its TTL; free for others once released', async () => {
    const name = key();
    const lock = await RenewedLock.acquire(harness.redis, name, 1000);
    expect(lock).toBeDefined();
    // Three TTLs: without its renewals (every third of the TTL) the lock would have lapsed.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await RenewedLock.acquire(harness.redis, name, 1000)).toBeUndefined();
    expect(lock?.signal.aborted).toBe(false);
    await lock?.release();
    const next = await RenewedLock.acquire(harness.redis, name, 1000);
    expect(next).toBeDefined();
    await next?.release();
  });

  test('a retried job takes over the lock its own dead attempt held; other jobs are refused', async () => {
    const name = key();
    const dead = await RenewedLock.acquire(harness.redis, name, 10_000, 'job-1');
    expect(dead).toBeDefined();
    expect(await RenewedLock.acquire(harness.redis, name, 10_000, 'job-2')).toBeUndefined();
    expect(await RenewedLock.acquire(harness.redis, name, 10_000)).toBeUndefined();
    const retried = await RenewedLock.acquire(harness.redis, name, 10_000, 'job-1');
    expect(retried).toBeDefined();
    // The earlier attempt, were it only stalled, notices at its next renewal and stops.
    await until(async () => dead?.signal.aborted, (aborted) => aborted === true, 'the earlier attempt to lose the lock', 10_000);
    await dead?.release();
    expect(await RenewedLock.acquire(harness.redis, name, 10_000, 'job-2')).toBeUndefined();
    await retried?.release();
    expect(await RenewedLock.acquire(harness.redis, name, 10_000, 'job-2')).toBeDefined();
  });

  test('a lock Redis lost is taken again; one another process took aborts its holder', async () => {
    const name = key();
    const lock = (await RenewedLock.acquire(harness.redis, name, 300)) as RenewedLock;
    await harness.redis.del(name);
    await until(async () => harness.redis.exists(name), (exists) => exists === 1, 'the lock to be taken again', 5000);
    expect(lock.signal.aborted).toBe(false);
    await harness.redis.set(name, 'someone-else', 'PX', 10_000);
    await until(async () => lock.signal.aborted, (aborted) => aborted, 'the holder to notice', 5000);
    expect(lock.signal.reason).toBeInstanceOf(LockLostError);
    await lock.release();
    expect(await harness.redis.get(name)).toBe('someone-else');
  });
});
