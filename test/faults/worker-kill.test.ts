import { startSandboxNetwork, type SandboxNetwork } from '../../src/demo/sandbox-network';
import { report } from './support/figures';
import { waitFor } from './support/ports';
import { openPullDriver, type PullDriver } from './support/pull-driver';
import { seedClicks, spreadRecords, startFaultCase, type FaultCase } from './support/fault-case';
import { TallyProcess } from './support/tally-process';

/**
 * `kill -9` of the worker in the middle of a pull and in the middle of a backfill. Another worker
 * resumes the job (after the 2 s job lock; the pull's connection lock is renewed, so it expires
 * as fast): nothing lost, nothing twice.
 */
const NAME = 'worker-kill';
const PULLED = 16_000;
const BACKFILLED = 9_000;
const BACKFILL_START = Math.floor(Date.UTC(2026, 6, 1) / 1000);

let fault: FaultCase;
let driver: PullDriver;
let recent: SandboxNetwork;
let history: SandboxNetwork;
const workers: TallyProcess[] = [];

const worker = async (label: string): Promise<TallyProcess> => {
  const started = await TallyProcess.worker(fault.env, label);
  workers.push(started);
  return started;
};

beforeAll(async () => {
  fault = await startFaultCase(NAME);
  await seedClicks(fault.env, 500);
  driver = await openPullDriver(fault.env);
  // Slow pages (400 ms each) so that a kill lands mid-pull: eight 2,000-record pages in the last 40 hours…
  const now = Math.floor(Date.now() / 1000);
  recent = await startSandboxNetwork(spreadRecords('WK-PULL', PULLED, now - 40 * 3600, 39 * 3600, '2.50'), { apiKey: 'sandbox-key', delayMs: 400 });
  // …and 90 days of history: three 30-day chunks of two pages.
  history = await startSandboxNetwork(spreadRecords('WK-BF', BACKFILLED, BACKFILL_START, 90 * 86400, '3.75'), { apiKey: 'sandbox-key', delayMs: 400 });
});

afterAll(async () => {
  for (const process of workers) await process.kill9();
  await recent?.close();
  await history?.close();
  await driver?.close();
  await fault?.stop();
});

test('kill -9 of the worker during a pull: another worker resumes it, every record stored once, the checkpoint at the window end', async () => {
  const connectionId = await driver.createEverflowConnection(recent.url, { name: 'pull' });
  const first = await worker('pull-1');
  const jobId = await driver.service.enqueuePull(connectionId);
  const atKill = await waitFor(() => driver.db('pull_runs').where({ connection_id: connectionId }).first(), (run) => run !== undefined && run.fetched >= 4000, 'two pages to be stored', 60_000, 20);
  await first.kill9();
  expect(atKill.fetched).toBeLessThan(PULLED);
  expect(await driver.db('sync_checkpoints').where({ connection_id: connectionId })).toEqual([]);

  await worker('pull-2');
  const job = await waitFor(() => driver.queues.pull.getJob(jobId), (found) => found?.finishedOn !== undefined, 'the pull job to finish', 120_000, 250);
  expect(await job?.getState()).toBe('completed');
  expect(job?.returnvalue).toMatchObject({ status: 'completed', stats: { fetched: PULLED } });
  const stored = await driver.stored(connectionId);
  const [checkpoint] = await driver.db('sync_checkpoints').where({ connection_id: connectionId });
  const runs = await driver.db('pull_runs').where({ connection_id: connectionId }).orderBy('id');
  // The killed run is closed by the one that took over.
  expect(runs.map((run) => run.status)).toEqual(['failed', 'completed']);
  expect(runs[0].error).toMatch(/worker running this pull stopped/);
  expect(checkpoint.stored_until.toISOString()).toBe(runs[1].window_to.toISOString());
  report(`${NAME} during a pull`, { sent: PULLED, acknowledged: PULLED, stored: stored.txids, duplicates: stored.rows - stored.txids, lost: PULLED - stored.txids }, `killed after ${atKill.fetched} records`);
  expect(stored).toEqual({ rows: PULLED, txids: PULLED });
});

test('kill -9 of the worker during a backfill: another worker resumes at the first unfinished chunk, every record stored once', async () => {
  const connectionId = await driver.createEverflowConnection(history.url, { name: 'backfill' });
  const first = await worker('backfill-1');
  const backfill = await driver.service.startBackfill(connectionId, '2026-07-01', '2026-09-28');
  const view = () => driver.db('backfills').where({ id: backfill.id }).first();
  const atKill = await waitFor(view, (row) => row.chunks_done >= 1 && Number(row.fetched) > 3000, 'the first chunk and a page of the second to be stored', 60_000, 20);
  await first.kill9();
  expect(atKill.chunks_done).toBeLessThan(3);

  await worker('backfill-2');
  const done = await waitFor(view, (row) => row.status === 'completed' || row.status === 'failed', 'the backfill to finish', 120_000, 250);
  expect(done).toMatchObject({ status: 'completed', chunks_done: 3, chunks_total: 3 });
  const stored = await driver.stored(connectionId);
  report(`${NAME} during a backfill`, { sent: BACKFILLED, acknowledged: BACKFILLED, stored: stored.txids, duplicates: stored.rows - stored.txids, lost: BACKFILLED - stored.txids }, `killed with ${atKill.chunks_done} of 3 chunks done`);
  expect(stored).toEqual({ rows: BACKFILLED, txids: BACKFILLED });
});
