import { schedulerId } from '../../jobs/queues';
import { startSandboxNetwork, type SandboxFault, type SandboxNetwork } from '../../src/demo/sandbox-network';
import { report } from './support/figures';
import { sleep, waitFor } from './support/ports';
import { openPullDriver, type PullDriver } from './support/pull-driver';
import { seedClicks, spreadRecords, startFaultCase, type FaultCase } from './support/fault-case';
import { metricValue, TallyProcess } from './support/tally-process';

/**
 * A network API that answers 429 for two minutes (every other answer with Retry-After, the rest
 * without), then 5xx for 20 s, then truncated JSON for 20 s, while a scheduled connection pulls
 * and a backfill runs. Afterwards the backlog drains, no job ends failed, and — sampled every
 * half second throughout — the checkpoint never stands past a window that is not fully stored.
 */
const NAME = 'network-faults';
const RECENT = 6_000;
const HISTORY = 9_000;
const HISTORY_START = Math.floor(Date.UTC(2026, 6, 1) / 1000);
const HISTORY_STEP = Math.floor((90 * 86400) / HISTORY);
const PHASES = { rateLimitedMs: 120_000, serverErrorsMs: 20_000, truncatedMs: 20_000 };

let faultCase: FaultCase;
let driver: PullDriver;
let network: SandboxNetwork;
let worker: TallyProcess;
let faultsFrom = Number.POSITIVE_INFINITY;
const answered = { rateLimited: 0, withRetryAfter: 0, serverErrors: 0, truncated: 0 };

/** What the network answers at this moment of the fault schedule. */
function fault(): SandboxFault | undefined {
  const elapsed = Date.now() - faultsFrom;
  if (elapsed < 0) return undefined;
  if (elapsed < PHASES.rateLimitedMs) {
    answered.rateLimited += 1;
    if (answered.rateLimited % 2 === 0) return { status: 429, body: '{"error":"Too many requests"}' };
    answered.withRetryAfter += 1;
    return { status: 429, body: '{"error":"Too many requests"}', headers: { 'retry-after': '7' } };
  }
  if (elapsed < PHASES.rateLimitedMs + PHASES.serverErrorsMs) {
    answered.serverErrors += 1;
    return { status: [500, 502, 503][answered.serverErrors % 3] as number, body: '<html><body>upstream error</body></html>' };
  }
  if (elapsed < PHASES.rateLimitedMs + PHASES.serverErrorsMs + PHASES.truncatedMs) {
    answered.truncated += 1;
    return { status: 200, body: '{"conversions":[{"conversion_id":"CUT-1","conversion_unix_timestamp":17', headers: { 'content-type': 'application/json' } };
  }
  return undefined;
}

beforeAll(async () => {
  faultCase = await startFaultCase(NAME);
  await seedClicks(faultCase.env, 500);
  driver = await openPullDriver(faultCase.env);
  const now = Math.floor(Date.now() / 1000);
  // One sandbox answers for both: recent conversions (the scheduled pull's lookback) and history (the backfill).
  const recent = spreadRecords('NF-RECENT', RECENT, now - 36 * 3600, 36 * 3600, '4.00');
  const history = spreadRecords('NF-HIST', HISTORY, HISTORY_START, HISTORY * HISTORY_STEP, '5.00');
  network = await startSandboxNetwork(
    {
      count: (from, to) => recent.count(from, to) + history.count(from, to),
      page: (from, to, offset, limit) => {
        const fromHistory = history.page(from, to, offset, limit);
        const historyCount = history.count(from, to);
        return [...fromHistory, ...recent.page(from, to, Math.max(0, offset - historyCount), limit - fromHistory.length)];
      },
    },
    { apiKey: 'sandbox-key', fault: ({ path }) => (path === '/v1/affiliates' ? undefined : fault()) },
  );
});

afterAll(async () => {
  await worker?.kill9();
  await network?.close();
  await driver?.close();
  await faultCase?.stop();
});

/** Conversions of a connection with occurred_at in [from, to). */
async function storedBetween(connectionId: string, from: Date, to: Date): Promise<number> {
  const [row] = await driver.db('conversions').where({ connection_id: connectionId }).where('occurred_at', '>=', from).where('occurred_at', '<', to).count<{ count: string }[]>('* as count');
  return Number(row?.count);
}

/** Records of the history the sandbox has in [from, to). */
function historyBetween(from: Date, to: Date): number {
  const first = Math.max(0, Math.ceil((from.getTime() / 1000 - HISTORY_START) / HISTORY_STEP));
  const last = Math.min(HISTORY - 1, Math.ceil((to.getTime() / 1000 - HISTORY_START) / HISTORY_STEP) - 1);
  return Math.max(0, last - first + 1);
}

test('429s for two minutes, then 5xx, then truncated JSON: the backlog drains, no job fails, the checkpoint never skips a window', async () => {
  const scheduled = await driver.createEverflowConnection(network.url, { name: 'scheduled', enabled: true, everyMinutes: 1, lookbackDays: 2 });
  const backfilled = await driver.createEverflowConnection(network.url, { name: 'backfill' });
  faultsFrom = Date.now();
  worker = await TallyProcess.worker(faultCase.env);
  await driver.service.enqueuePull(scheduled);
  const backfill = await driver.service.startBackfill(backfilled, '2026-07-01', '2026-09-28');

  const violations: string[] = [];
  const statuses = new Set<string>();
  let samples = 0;
  const faultsEnd = faultsFrom + PHASES.rateLimitedMs + PHASES.serverErrorsMs + PHASES.truncatedMs;
  let settled = false;
  while (!settled) {
    samples += 1;
    // The scheduled pull's window covers every recent record, so a checkpoint at all means all of them are stored.
    const checkpoint = await driver.db('sync_checkpoints').where({ connection_id: scheduled }).first();
    if (checkpoint) {
      const stored = await driver.stored(scheduled);
      if (stored.txids !== RECENT) violations.push(`checkpoint at ${checkpoint.stored_until.toISOString()} with ${stored.txids} of ${RECENT} records stored`);
    }
    // A backfill chunk is done only when every record of its window is stored.
    for (const chunk of await driver.db('backfill_chunks').where({ backfill_id: backfill.id }).whereNotNull('done_at')) {
      const expected = historyBetween(chunk.window_from, chunk.window_to);
      const stored = await storedBetween(backfilled, chunk.window_from, chunk.window_to);
      if (stored !== expected) violations.push(`chunk ${chunk.chunk_index} done with ${stored} of ${expected} records stored`);
    }
    const failed = (await driver.queues.pull.getJobCounts('failed')).failed ?? 0;
    const backfillFailed = (await driver.queues.backfill.getJobCounts('failed')).failed ?? 0;
    if (failed + backfillFailed > 0) violations.push(`${failed} pull and ${backfillFailed} backfill jobs failed`);
    const row = await driver.db('backfills').where({ id: backfill.id }).first();
    statuses.add(row.status);
    if (row.status === 'failed') violations.push(`the backfill failed: ${row.error}`);
    const recentStored = (await driver.stored(scheduled)).txids;
    settled = Date.now() > faultsEnd && row.status === 'completed' && recentStored === RECENT && checkpoint !== undefined;
    if (Date.now() > faultsEnd + 300_000) throw new Error(`the backlog did not drain within 5 minutes of the faults ending (backfill ${row.status}, ${recentStored} of ${RECENT} recent records)`);
    if (!settled) await sleep(500);
  }

  const history = await driver.stored(backfilled);
  const recent = await driver.stored(scheduled);
  const runs = await driver.db('pull_runs').where({ connection_id: scheduled }).select('status');
  const metrics = await worker.metrics();
  report(`${NAME} scheduled pulls`, { sent: RECENT, acknowledged: RECENT, stored: recent.txids, duplicates: recent.rows - recent.txids, lost: RECENT - recent.txids },
    `${answered.rateLimited} 429s (${answered.withRetryAfter} with Retry-After), ${answered.serverErrors} 5xx, ${answered.truncated} truncated; runs: ${[...new Set(runs.map((run) => run.status))].join('/')}`);
  report(`${NAME} backfill`, { sent: HISTORY, acknowledged: HISTORY, stored: history.txids, duplicates: history.rows - history.txids, lost: HISTORY - history.txids }, `statuses seen: ${[...statuses].join('/')}; ${samples} invariant samples`);

  expect(violations).toEqual([]);
  expect(answered.rateLimited).toBeGreaterThan(10);
  expect(answered.serverErrors).toBeGreaterThan(0);
  expect(answered.truncated).toBeGreaterThan(0);
  expect(statuses).toContain('waiting');
  expect(runs.map((run) => run.status)).toContain('rate_limited');
  expect(recent).toEqual({ rows: RECENT, txids: RECENT });
  expect(history).toEqual({ rows: HISTORY, txids: HISTORY });
  expect(metricValue(metrics, 'tally_pull_runs_total', 'kind="pull",result="rate_limited"')).toBeGreaterThan(0);
  expect(metricValue(metrics, 'tally_pull_runs_total', 'kind="pull",result="failed"') + metricValue(metrics, 'tally_pull_runs_total', 'kind="backfill",result="failed"')).toBe(0);
  expect(await driver.queues.pull.getJobScheduler(schedulerId(scheduled))).toBeDefined();
  await waitFor(async () => (await driver.db('pull_runs').where({ connection_id: scheduled, status: 'completed' }).where('started_at', '>', new Date(faultsEnd))).length, (count) => count > 0, 'a scheduled pull to complete after the faults', 120_000, 500);
});
