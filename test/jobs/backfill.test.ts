import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { insertClicks } from '../../src/catalog/catalog';
import { generatedData, startSandboxNetwork, type SandboxNetwork } from '../../src/demo/sandbox-network';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { auth, createTestApp, type TestApp } from '../support/app';
import { createFunnel } from '../support/fixtures';
import { REPO_ROOT } from '../support/cli';
import { createPullHarness, createSandboxConnection, SANDBOX_KEY, SECRET_KEY, type PullHarness } from '../support/pulls';

jest.setTimeout(120_000);

/** 9,000 conversions over 90 days (three 30-day chunks of two pages each) for 300 clicks. */
const TOTAL = 9000;
const START = Math.floor(Date.UTC(2026, 6, 1) / 1000);
const STEP = Math.floor((90 * 86400) / TOTAL);

let testDb: TestDatabase;
let harness: PullHarness;
let tally: TestApp;
let sandbox: SandboxNetwork;
let slow: SandboxNetwork;

beforeAll(async () => {
  testDb = await createTestDatabase();
  harness = await createPullHarness(testDb);
  tally = await createTestApp(testDb, { secretKey: SECRET_KEY });
  (tally.ctx as { pulls?: unknown }).pulls = harness.service;
  const funnel = await createFunnel(testDb.db);
  await insertClicks(testDb.db, Array.from({ length: 300 }, (_, index) => ({ click_id: `bf-${index}`, campaign_id: funnel.campaignId, visited_at: new Date((START - 86400) * 1000) })));
  // Each sandbox has txids of its own, so tests do not see each other's conversions as duplicates.
  const data = (prefix: string) =>
    generatedData(TOTAL, START, STEP, (index) => ({
      conversion_id: `${prefix}-${index}`, conversion_unix_timestamp: START + index * STEP, sub1: `bf-${index % 300}`, revenue: `${index % 50}.25`, currency_id: 'USD', status: 'approved',
    }));
  sandbox = await startSandboxNetwork(data('FAST'), { apiKey: SANDBOX_KEY });
  slow = await startSandboxNetwork(data('SLOW'), { apiKey: SANDBOX_KEY, delayMs: 400 });
});

afterAll(async () => {
  await Promise.all([sandbox.close(), slow.close()]);
  await tally.app.close();
  await harness.close();
  await testDb.drop();
});

async function waitForBackfill(id: string, done: (body: { status: string; progress: { done: number; total: number } }) => boolean, timeoutMs = 60_000) {
  for (let waited = 0; waited < timeoutMs; waited += 200) {
    const body = (await tally.app.inject({ method: 'GET', url: `/api/v1/backfills/${id}`, headers: auth })).json();
    if (done(body)) return body;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`backfill ${id} did not reach the expected state in ${timeoutMs} ms`);
}

async function conversionCounts(connectionId: string) {
  const [row] = await testDb.db('conversions').where({ connection_id: connectionId }).select(testDb.db.raw('count(*)::int AS rows'), testDb.db.raw('count(DISTINCT txid)::int AS txids'));
  return row as { rows: number; txids: number };
}

test('a backfill through the API is chunked, shows progress and stats, and repeating it is idempotent', async () => {
  await harness.startWorkers();
  const connection = await createSandboxConnection(testDb, sandbox.url, { name: 'api backfill' });
  const created = await tally.app.inject({ method: 'POST', url: '/api/v1/backfills', headers: auth, payload: { connection_id: connection.id, from: '2026-07-01', to: '2026-09-28' } });
  expect(created.statusCode).toBe(202);
  const first = await waitForBackfill(created.json().id, (body) => body.status === 'completed');
  expect(first).toMatchObject({ status: 'completed', progress: { done: 3, total: 3 }, stats: { fetched: TOTAL, inserted: TOTAL, unchanged: 0, unmatched: 0 } });
  expect(await conversionCounts(connection.id)).toEqual({ rows: TOTAL, txids: TOTAL });

  const again = await tally.app.inject({ method: 'POST', url: '/api/v1/backfills', headers: auth, payload: { connection_id: connection.id, from: '2026-07-01', to: '2026-09-28' } });
  const second = await waitForBackfill(again.json().id, (body) => body.status === 'completed');
  expect(second).toMatchObject({ stats: { fetched: TOTAL, inserted: 0, unchanged: TOTAL } });
  expect(await conversionCounts(connection.id)).toEqual({ rows: TOTAL, txids: TOTAL });
  // Backfills leave the scheduled pulls' checkpoint alone.
  expect(await testDb.db('sync_checkpoints').where({ connection_id: connection.id })).toHaveLength(0);
  await harness.workers?.close(true);
  harness.workers = undefined;
});

test('bad backfill requests get a reason', async () => {
  const connection = await createSandboxConnection(testDb, sandbox.url, { name: 'bad requests' });
  const post = (payload: unknown) => tally.app.inject({ method: 'POST', url: '/api/v1/backfills', headers: auth, payload: payload as string });
  expect((await post({ connection_id: connection.id, from: '2026-09-02', to: '2026-09-01' })).json().error.message).toMatch(/must not be after/);
  expect((await post({ connection_id: connection.id, from: '2026-02-30', to: '2026-03-01' })).json().error.message).toBe('body.from: must be a real calendar date');
  expect((await post({ connection_id: '00000000-0000-4000-8000-000000000000', from: '2026-09-01', to: '2026-09-02' })).statusCode).toBe(404);
  expect((await tally.app.inject({ method: 'GET', url: '/api/v1/backfills/nope', headers: auth })).statusCode).toBe(404);
});

test('a cancelled backfill stops', async () => {
  const connection = await createSandboxConnection(testDb, slow.url, { name: 'cancel' });
  const created = await tally.app.inject({ method: 'POST', url: '/api/v1/backfills', headers: auth, payload: { connection_id: connection.id, from: '2026-07-01', to: '2026-09-28' } });
  const cancelled = await tally.app.inject({ method: 'POST', url: `/api/v1/backfills/${created.json().id}/cancel`, headers: auth });
  expect(cancelled.json()).toMatchObject({ status: 'cancelled' });
  await harness.startWorkers();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect((await tally.app.inject({ method: 'GET', url: `/api/v1/backfills/${created.json().id}`, headers: auth })).json()).toMatchObject({ status: 'cancelled', progress: { done: 0 } });
  expect(await conversionCounts(connection.id)).toEqual({ rows: 0, txids: 0 });
  await harness.workers?.close(true);
  harness.workers = undefined;
});

test('a worker process killed with SIGKILL mid-backfill: another one resumes without loss or duplicates', async () => {
  const connection = await createSandboxConnection(testDb, slow.url, { name: 'sigkill' });
  const startWorker = (): ChildProcess =>
    spawn(process.execPath, [join(REPO_ROOT, 'bin', 'tally.js'), 'worker'], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '', DATABASE_URL: testDb.url, QUEUE_PREFIX: harness.prefix, SECRET_KEY: SECRET_KEY.toString('hex'),
        ADMIN_TOKEN: 'unused-admin-token-0123456789', LOG_LEVEL: 'warn', TALLY_STATE_DIR: '/tmp/tally-test-worker-state', TALLY_WORKER_LOCK_MS: '2000',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  const first = startWorker();
  const created = await tally.app.inject({ method: 'POST', url: '/api/v1/backfills', headers: auth, payload: { connection_id: connection.id, from: '2026-07-01', to: '2026-09-28' } });
  const id = created.json().id as string;
  // Kill once the first chunk is stored and the second one is under way.
  await waitForBackfill(id, (body) => body.progress.done >= 1);
  await new Promise((resolve) => setTimeout(resolve, 500));
  first.kill('SIGKILL');
  await once(first, 'exit');
  const atKill = (await tally.app.inject({ method: 'GET', url: `/api/v1/backfills/${id}`, headers: auth })).json();
  expect(atKill.status).toBe('running');
  expect(atKill.progress.done).toBeLessThan(3);

  const second = startWorker();
  try {
    const finished = await waitForBackfill(id, (body) => body.status === 'completed' || body.status === 'failed', 90_000);
    expect(finished).toMatchObject({ status: 'completed', progress: { done: 3, total: 3 } });
    expect(await conversionCounts(connection.id)).toEqual({ rows: TOTAL, txids: TOTAL });
    const chunks = await testDb.db('backfill_chunks').where({ backfill_id: id }).whereNull('done_at');
    expect(chunks).toEqual([]);
  } finally {
    second.kill('SIGTERM');
    await once(second, 'exit');
  }
});
