import { schedulerId, RETENTION_SCHEDULER } from '../../jobs/queues';
import { startSandboxNetwork, type SandboxNetwork } from '../../src/demo/sandbox-network';
import { countConversions, report } from './support/figures';
import { steadyLoad } from './support/load';
import { waitFor } from './support/ports';
import { openPullDriver, type PullDriver } from './support/pull-driver';
import { seedClicks, spreadRecords, startFaultCase, type FaultCase } from './support/fault-case';
import { TallyProcess, type CaseEnvironment } from './support/tally-process';
import type { ThrowawayRedis } from './support/throwaway-redis';

/**
 * Redis killed and restarted empty (no persistence) while postbacks arrive, one backfill runs and
 * another waits out a rate limit (its delayed job lives only in Redis): postbacks do not need
 * Redis; the worker puts back the job schedulers and the waiting backfill's job from Postgres;
 * nothing is lost or doubled.
 */
const NAME = 'redis-restart';
const BACKFILLED = 9_000;
const START = Math.floor(Date.UTC(2026, 6, 1) / 1000);

let fault: FaultCase;
let redis: ThrowawayRedis;
let env: CaseEnvironment;
let driver: PullDriver;
let sandbox: SandboxNetwork;
let limited: SandboxNetwork;
let rateLimited = true;
let serve: TallyProcess;
let worker: TallyProcess;
let clickIds: string[];

beforeAll(async () => {
  fault = await startFaultCase(NAME);
  ({ redis, env } = fault);
  clickIds = await seedClicks(env, 500);
  serve = await TallyProcess.serve(env);
  driver = await openPullDriver(env);
  sandbox = await startSandboxNetwork(spreadRecords('RR', BACKFILLED, START, 90 * 86400, '1.10'), { apiKey: 'sandbox-key', delayMs: 700 });
  // Other records behind an API that answers 429 "come back in 10 minutes" until the restart.
  limited = await startSandboxNetwork(spreadRecords('RL', BACKFILLED, START, 90 * 86400, '1.20'), {
    apiKey: 'sandbox-key',
    fault: ({ path }) => (rateLimited && path.endsWith('/conversions') ? { status: 429, body: '{"error":"Too many requests"}', headers: { 'retry-after': '600' } } : undefined),
  });
});

afterAll(async () => {
  await worker?.kill9();
  await serve?.stop();
  await sandbox?.close();
  await limited?.close();
  await driver?.close();
  await fault?.stop();
});

test('Redis restarted empty under postbacks and a backfill: schedulers and jobs come back, nothing lost or doubled', async () => {
  // A scheduled connection (its scheduler must come back) whose pulls find nothing new, and a backfill over 90 days.
  const scheduled = await driver.createEverflowConnection(sandbox.url, { name: 'scheduled', enabled: true, everyMinutes: 5 });
  const backfilled = await driver.createEverflowConnection(sandbox.url, { name: 'backfill' });
  worker = await TallyProcess.worker(env);
  await waitFor(() => driver.queues.pull.getJobScheduler(schedulerId(scheduled)), (found) => found !== undefined, 'the scheduler');
  const backfill = await driver.service.startBackfill(backfilled, '2026-07-01', '2026-09-28');
  const waitingConnection = await driver.createEverflowConnection(limited.url, { name: 'rate limited' });
  const waiting = await driver.service.startBackfill(waitingConnection, '2026-07-01', '2026-09-28');
  await waitFor(() => driver.db('backfills').where({ id: waiting.id }).first(), (row) => row.status === 'waiting', 'the rate-limited backfill to wait', 60_000, 100);
  expect(await (await driver.queues.backfill.getJob(`backfill-${waiting.id}`))?.getState()).toBe('delayed');

  let restarted: Promise<void> | undefined;
  const results = await steadyLoad({
    target: () => serve.baseUrl,
    perSecond: 100,
    durationMs: 25_000,
    postback: (index) => ({ txid: `redis-${index}`, clickId: clickIds[index % clickIds.length] as string }),
    onTick: (elapsed) => {
      if (elapsed >= 4_000 && !restarted) {
        rateLimited = false;
        restarted = redis.restart();
      }
    },
  });
  await restarted;

  // Everything Redis held is gone; the worker restores it from Postgres.
  await waitFor(() => driver.queues.pull.getJobScheduler(schedulerId(scheduled)), (found) => found !== undefined, 'the pull scheduler to come back', 30_000, 250);
  await waitFor(() => driver.queues.maintenance.getJobScheduler(RETENTION_SCHEDULER), (found) => found !== undefined, 'the retention scheduler to come back', 30_000, 250);
  const done = await waitFor(() => driver.db('backfills').where({ id: backfill.id }).first(), (row) => row.status === 'completed' || row.status === 'failed', 'the backfill to finish', 180_000, 250);
  expect(done).toMatchObject({ status: 'completed', chunks_done: 3 });
  const stored = await driver.stored(backfilled);
  report(`${NAME} running backfill`, { sent: BACKFILLED, acknowledged: BACKFILLED, stored: stored.txids, duplicates: stored.rows - stored.txids, lost: BACKFILLED - stored.txids });
  expect(stored).toEqual({ rows: BACKFILLED, txids: BACKFILLED });
  // The rate-limited backfill's delayed job was only in Redis: restored from Postgres, it finished.
  const resumed = await waitFor(() => driver.db('backfills').where({ id: waiting.id }).first(), (row) => row.status === 'completed' || row.status === 'failed', 'the restored backfill to finish', 180_000, 250);
  expect(resumed).toMatchObject({ status: 'completed', chunks_done: 3 });
  const storedWaiting = await driver.stored(waitingConnection);
  report(`${NAME} restored backfill`, { sent: BACKFILLED, acknowledged: BACKFILLED, stored: storedWaiting.txids, duplicates: storedWaiting.rows - storedWaiting.txids, lost: BACKFILLED - storedWaiting.txids });
  expect(storedWaiting).toEqual({ rows: BACKFILLED, txids: BACKFILLED });

  const acknowledged = results.filter((result) => result.acknowledged).map((result) => result.txid);
  const figures = await countConversions(env.databaseUrl, results.map((result) => result.txid), acknowledged);
  report(`${NAME} postbacks`, figures);
  expect(results.filter((result) => !result.acknowledged)).toEqual([]);
  expect(figures).toMatchObject({ lost: 0, duplicates: 0, stored: results.length });
  expect(await driver.queues.backfill.getJobCounts('failed')).toEqual({ failed: 0 });
});
