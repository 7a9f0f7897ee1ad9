import { Job, QueueEvents } from 'bullmq';
import { everflowConnector } from '../../connectors/everflow';
import { runPull } from '../../jobs/pull-job';
import { schedulerId } from '../../jobs/queues';
import { listData, startSandboxNetwork, type SandboxConversion, type SandboxFault, type SandboxNetwork } from '../../src/demo/sandbox-network';
import { Registrar } from '../../src/pipeline/registrar';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createClicks, createFunnel, type Funnel } from '../support/fixtures';
import { createPullHarness, createSandboxConnection, SANDBOX_KEY, type PullHarness } from '../support/pulls';

let testDb: TestDatabase;
let harness: PullHarness;
let funnel: Funnel;
let records: SandboxConversion[] = [];
let fault: ((request: { path: string; page: number }) => SandboxFault | undefined) | undefined;
let sandbox: SandboxNetwork;

beforeAll(async () => {
  testDb = await createTestDatabase();
  harness = await createPullHarness(testDb);
  funnel = await createFunnel(testDb.db);
  sandbox = await startSandboxNetwork(listData(() => records), { apiKey: SANDBOX_KEY, fault: (request) => fault?.(request) });
});

afterAll(async () => {
  await sandbox.close();
  await harness.close();
  await testDb.drop();
});

beforeEach(() => {
  records = [];
  fault = undefined;
});

const minutesAgo = (minutes: number) => Math.floor(Date.now() / 1000) - minutes * 60;
const record = (clickId: string, id: string, overrides: Partial<SandboxConversion> = {}): SandboxConversion => ({
  conversion_id: id, conversion_unix_timestamp: minutesAgo(30), sub1: clickId, revenue: '12.50', currency_id: 'USD', status: 'approved', ...overrides,
});
const pull = (connectionId: string) => runPull(harness.deps, { connectionId, trigger: 'manual' }, undefined, new AbortController().signal);

test('pulls conversions through the pipeline, records the run and moves the checkpoint to the window end', async () => {
  const [a, b] = await createClicks(testDb.db, funnel.campaignId, 2);
  records = [record(a!, 'EF-1', { revenue: '12.345678' }), record(b!.toUpperCase(), 'EF-2', { status: 'pending' }), record('unknown-click', 'EF-3')];
  const connection = await createSandboxConnection(testDb, sandbox.url);
  const result = await pull(connection.id);
  expect(result).toMatchObject({ status: 'completed', stats: { fetched: 3, inserted: 2, updated: 0, unchanged: 0, unmatched: 1, rejected: 0 } });
  const rows = await testDb.db('conversions').where({ connection_id: connection.id }).orderBy('txid');
  expect(rows.map((row) => [row.click_id, row.txid, row.payout, row.status, row.network_status, row.source])).toEqual([
    [a, 'EF-1', '12.345678', 'approved', 'approved', 'api'],
    [b, 'EF-2', '12.500000', 'pending', 'pending', 'api'],
  ]);
  const [run] = await testDb.db('pull_runs').where({ connection_id: connection.id });
  expect(run).toMatchObject({ status: 'completed', trigger: 'manual', fetched: 3, inserted: 2, unmatched: 1 });
  const [checkpoint] = await testDb.db('sync_checkpoints').where({ connection_id: connection.id });
  expect(checkpoint.stored_until.toISOString()).toBe(run.window_to.toISOString());
  const unmatched = await testDb.db('registration_log').where({ connection_id: connection.id, reason: 'unknown_click_id' });
  expect(unmatched[0].request).toMatchObject({ conversion_id: 'EF-3', sub1: 'unknown-click' });
  expect((await testDb.db('connections').where({ id: connection.id }).first()).healthy).toBe(true);
});

test('a late status or payout change inside the lookback updates the conversion, never a second row', async () => {
  const [clickId] = await createClicks(testDb.db, funnel.campaignId);
  records = [record(clickId!, 'LATE-1', { status: 'pending' })];
  const connection = await createSandboxConnection(testDb, sandbox.url);
  await pull(connection.id);
  records = [record(clickId!, 'LATE-1', { status: 'approved', revenue: '15.00' })];
  expect((await pull(connection.id)) as { stats: unknown }).toMatchObject({ stats: { fetched: 1, updated: 1, inserted: 0 } });
  expect((await pull(connection.id)) as { stats: unknown }).toMatchObject({ stats: { fetched: 1, unchanged: 1 } });
  records = [record(clickId!, 'LATE-1', { status: 'rejected', revenue: '15.00' })];
  await pull(connection.id);
  const rows = await testDb.db('conversions').where({ click_id: clickId });
  expect(rows).toHaveLength(1);
  // The network's own word is kept beside ours, for reconciling against its dashboard.
  expect(rows[0]).toMatchObject({ status: 'declined', network_status: 'rejected', payout: '15.000000', revision: 3 });
  // Unchanged re-reads are not logged; the changes are.
  const log = await testDb.db('registration_log').where({ connection_id: connection.id, txid: 'LATE-1' }).orderBy('id');
  expect(log.map((row) => [row.outcome, row.reason])).toEqual([['accepted', null], ['updated', 'changed'], ['updated', 'changed']]);
});

test('a postback without txid followed by a pull with txid is one conversion (adoption)', async () => {
  const [clickId] = await createClicks(testDb.db, funnel.campaignId);
  const registrar = new Registrar(testDb.db, { displayCurrency: 'USD', defaultCurrency: 'USD' });
  const [postback] = await registrar.register([{ fields: { click_id: clickId, payout: '12.50' } }], { source: 'postback' });
  records = [record(clickId!, 'ADOPT-1')];
  const connection = await createSandboxConnection(testDb, sandbox.url);
  expect(await pull(connection.id)).toMatchObject({ stats: { updated: 1, inserted: 0 } });
  const rows = await testDb.db('conversions').where({ click_id: clickId });
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ id: postback?.conversionId, txid: 'ADOPT-1', source: 'postback', connection_id: connection.id });
});

test('the checkpoint moves only when a chunk is fully stored; stored pages stay', async () => {
  const clicks = await createClicks(testDb.db, funnel.campaignId, 2);
  const connection = await createSandboxConnection(testDb, sandbox.url);
  // A 2-day lookback in 1-day chunks: the first chunk's report succeeds, every later request fails.
  let reports = 0;
  fault = ({ path }) => (path.endsWith('/conversions') && (reports += 1) > 1 ? { status: 503, body: '{"error":"maintenance"}' } : undefined);
  const everflow = everflowConnector as { maxWindowDays: number };
  const original = everflow.maxWindowDays;
  everflow.maxWindowDays = 1;
  records = [record(clicks[0]!, 'CP-old', { conversion_unix_timestamp: minutesAgo(36 * 60) }), record(clicks[1]!, 'CP-new', { conversion_unix_timestamp: minutesAgo(10) })];
  try {
    await expect(pull(connection.id)).rejects.toThrow(/maintenance|server error 503/);
  } finally {
    everflow.maxWindowDays = original;
  }
  // The first chunk (older day) was stored and checkpointed; the failed second one was not.
  expect(await testDb.db('conversions').where({ txid: 'CP-old' })).toHaveLength(1);
  expect(await testDb.db('conversions').where({ txid: 'CP-new' })).toHaveLength(0);
  const [run] = await testDb.db('pull_runs').where({ connection_id: connection.id });
  const [checkpoint] = await testDb.db('sync_checkpoints').where({ connection_id: connection.id });
  expect(run.status).toBe('failed');
  expect(checkpoint.stored_until.getTime()).toBeLessThan(run.window_to.getTime());
  expect(checkpoint.stored_until.getTime()).toBe(run.window_from.getTime() + 24 * 3600 * 1000);
  // The next pull starts from that checkpoint minus the lookback and picks up the rest.
  fault = undefined;
  await pull(connection.id);
  expect(await testDb.db('conversions').where({ txid: 'CP-new' })).toHaveLength(1);
});

describe('through BullMQ', () => {
  let events: QueueEvents;
  const eventsConnection = () => harness.redis.duplicate();
  let connection: ReturnType<typeof eventsConnection>;
  beforeAll(async () => {
    connection = eventsConnection();
    events = new QueueEvents('pull', { connection, prefix: harness.prefix });
    await events.waitUntilReady();
    await harness.startWorkers();
  });
  afterAll(async () => {
    await events.close();
    connection.disconnect();
  });

  test('an auth failure fails the job at once (no retries) and marks the connection unhealthy with the reason', async () => {
    const connection = await createSandboxConnection(testDb, sandbox.url, { config: { api_key: 'wrong-key', base_url: sandbox.url } });
    const jobId = await harness.service.enqueuePull(connection.id);
    const job = (await Job.fromId(harness.queues.pull, jobId)) as Job;
    await expect(job.waitUntilFinished(events, 15_000)).rejects.toThrow(/refused the credentials \(401/);
    const failed = (await Job.fromId(harness.queues.pull, jobId)) as Job;
    expect(failed.attemptsMade).toBe(1);
    expect(await failed.getState()).toBe('failed');
    const row = await testDb.db('connections').where({ id: connection.id }).first();
    expect(row).toMatchObject({ healthy: false });
    expect(row.last_error).toMatch(/refused the credentials \(401 on v1\/affiliates\/reporting\/onhold: \{"error":"Invalid API key"\}\)/);
  });

  test('a 429 asking for a long wait delays the job instead of failing it', async () => {
    const connection = await createSandboxConnection(testDb, sandbox.url);
    fault = ({ path }) => (path.endsWith('/conversions') ? { status: 429, body: '{"error":"Too many requests"}', headers: { 'retry-after': '600' } } : undefined);
    const jobId = await harness.service.enqueuePull(connection.id);
    for (let waited = 0; waited < 15_000; waited += 100) {
      const job = await Job.fromId(harness.queues.pull, jobId);
      if (job && (await job.getState()) === 'delayed' && job.attemptsMade === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const job = (await Job.fromId(harness.queues.pull, jobId)) as Job;
    expect(await job.getState()).toBe('delayed');
    expect(job.delay).toBeGreaterThan(500_000);
    const [run] = await testDb.db('pull_runs').where({ connection_id: connection.id });
    expect(run).toMatchObject({ status: 'rate_limited' });
    expect((await testDb.db('connections').where({ id: connection.id }).first()).healthy).toBe(true);
    await job.remove();
  });

  test('job data carries only ids: credentials never reach Redis', async () => {
    const connection = await createSandboxConnection(testDb, sandbox.url, { config: { api_key: 'very-secret-api-key', base_url: sandbox.url } });
    await harness.service.reconcileSchedulers();
    await harness.service.enqueuePull(connection.id);
    const keys = await harness.redis.keys(`${harness.prefix}:*`);
    for (const key of keys) {
      const type = await harness.redis.type(key);
      const dump = type === 'hash' ? JSON.stringify(await harness.redis.hgetall(key)) : type === 'string' ? String(await harness.redis.get(key)) : '';
      expect(dump).not.toContain('very-secret-api-key');
    }
  });

  test('a disabled connection stops pulling: its scheduler is removed and a leftover scheduled job is skipped', async () => {
    const connection = await createSandboxConnection(testDb, sandbox.url, { every_minutes: 1 });
    await harness.service.reconcileSchedulers();
    expect(await harness.queues.pull.getJobScheduler(schedulerId(connection.id))).toBeDefined();
    // A scheduler fires its first job at once; let it finish before disabling.
    for (let waited = 0; waited < 10_000 && (await harness.queues.pull.getActiveCount()) + (await harness.queues.pull.getWaitingCount()) > 0; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await testDb.db('connections').where({ id: connection.id }).update({ enabled: false });
    await harness.service.reconcileSchedulers();
    expect(await harness.queues.pull.getJobScheduler(schedulerId(connection.id))).toBeUndefined();
    const runsBefore = (await testDb.db('pull_runs').where({ connection_id: connection.id })).length;
    const result = await runPull(harness.deps, { connectionId: connection.id, trigger: 'schedule' }, undefined, new AbortController().signal);
    expect(result).toEqual({ status: 'skipped', reason: 'the connection is disabled' });
    expect(await testDb.db('pull_runs').where({ connection_id: connection.id })).toHaveLength(runsBefore);
    const delayed = await harness.queues.pull.getDelayed();
    expect(delayed.filter((job) => job.data.connectionId === connection.id)).toEqual([]);
  });
});
