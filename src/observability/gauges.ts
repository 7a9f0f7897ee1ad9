import { Gauge } from 'prom-client';
import type { Queue } from 'bullmq';
import type { Db } from '../db/database';
import { query } from '../db/sql';
import type { Spool } from '../spool/spool';
import type { Metrics } from './metrics';

/** A scrape must not hang on a dependency that is away: collectors give up after this. */
const COLLECT_TIMEOUT_MS = 2000;
/** Delayed jobs looked at for the oldest one (their set is ordered by run time, not age). */
const DELAYED_SAMPLE = 200;

/** Gauges of a `serve` process: its spool, and the size of the ledger and conversions tables. */
export function registerServeGauges(metrics: Metrics, sources: { db: Db; spool?: Spool }): void {
  if (sources.spool) registerSpoolGauges(metrics, sources.spool);
  registerTableGauges(metrics, sources.db);
}

/** Gauges of a `worker` process: queue depth and oldest job per queue, and the table sizes (unless `serve` in the same process has them). */
export function registerWorkerGauges(metrics: Metrics, sources: { db: Db; queues: readonly Queue[]; tables?: boolean }): void {
  registerQueueGauges(metrics, sources.queues);
  if (sources.tables ?? true) registerTableGauges(metrics, sources.db);
}

function registerSpoolGauges(metrics: Metrics, spool: Spool): void {
  const registers = [metrics.registry];
  new Gauge({
    name: 'tally_spool_entries',
    help: 'Postbacks in the local spool waiting to be registered (this process, including spools it adopted)',
    registers,
    collect() {
      this.set(spool.stats().entries);
    },
  });
  new Gauge({
    name: 'tally_spool_bytes',
    help: 'Bytes of postbacks in the local spool (SPOOL_MAX_MB applies to the process\'s own part)',
    registers,
    collect() {
      this.set(spool.stats().bytes);
    },
  });
  new Gauge({
    name: 'tally_spool_oldest_entry_age_seconds',
    help: 'Age of the oldest spooled postback not yet registered; 0 when the spool is empty',
    registers,
    collect() {
      const oldest = spool.stats().oldestAt;
      this.set(oldest ? Math.max(0, (Date.now() - oldest.getTime()) / 1000) : 0);
    },
  });
  new Gauge({
    name: 'tally_spool_accepting',
    help: '1 while the spool can take postbacks (not full, disk writable)',
    registers,
    collect() {
      this.set(spool.acceptsPostbacks ? 1 : 0);
    },
  });
}

function registerQueueGauges(metrics: Metrics, queues: readonly Queue[]): void {
  const registers = [metrics.registry];
  const states = ['waiting', 'prioritized', 'active', 'delayed', 'failed'] as const;
  new Gauge({
    name: 'tally_queue_jobs',
    help: 'Jobs per queue and state (BullMQ)',
    labelNames: ['queue', 'state'],
    registers,
    async collect() {
      for (const queue of queues) {
        const counts = await withTimeout(queue.getJobCounts(...states));
        if (!counts) continue;
        for (const state of states) this.set({ queue: queue.name, state }, counts[state] ?? 0);
      }
    },
  });
  new Gauge({
    name: 'tally_queue_oldest_job_age_seconds',
    help: 'Age of the oldest job per queue that is waiting to run (waiting) or waiting for its time (delayed: rate limits, retries); 0 when none',
    labelNames: ['queue', 'state'],
    registers,
    async collect() {
      const now = Date.now();
      for (const queue of queues) {
        const waiting = await withTimeout(queue.getJobs(['wait', 'prioritized'], 0, 0, true));
        const delayed = await withTimeout(queue.getJobs(['delayed'], 0, DELAYED_SAMPLE - 1, true));
        if (waiting) this.set({ queue: queue.name, state: 'waiting' }, ageSeconds(now, waiting.map((job) => (job?.timestamp ?? now) + (job?.delay ?? 0))));
        if (delayed) this.set({ queue: queue.name, state: 'delayed' }, ageSeconds(now, delayed.map((job) => job?.timestamp ?? now)));
      }
    },
  });
}

function registerTableGauges(metrics: Metrics, db: Db): void {
  const registers = [metrics.registry];
  // Estimates from the planner statistics (a count(*) of a large ledger would cost a scan per
  // scrape); partitions are summed. Sizes include indexes and TOAST.
  const sizes = () =>
    withTimeout(
      query<{ name: string; rows: string; bytes: string }>(db, `
        SELECT t.name, coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint::text AS rows, coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint::text AS bytes
          FROM (VALUES ('registration_log'), ('conversions')) AS t(name)
          JOIN pg_class p ON p.oid = to_regclass(t.name)
          JOIN pg_class c ON c.oid = p.oid OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = p.oid)
         GROUP BY t.name`),
    );
  let last: Promise<{ name: string; rows: string; bytes: string }[] | undefined> | undefined;
  const once = () => {
    // Both gauges of one scrape share one query.
    last ??= sizes().finally(() => setTimeout(() => (last = undefined), 1000).unref());
    return last;
  };
  const tableName = (name: string) => (name === 'registration_log' ? 'ledger' : name);
  new Gauge({
    name: 'tally_table_rows_estimate',
    help: 'Rows of the ledger (registration_log) and conversions tables, from planner statistics',
    labelNames: ['table'],
    registers,
    async collect() {
      for (const row of (await once()) ?? []) this.set({ table: tableName(row.name) }, Number(row.rows));
    },
  });
  new Gauge({
    name: 'tally_table_bytes',
    help: 'On-disk size of the ledger (registration_log) and conversions tables, indexes included',
    labelNames: ['table'],
    registers,
    async collect() {
      for (const row of (await once()) ?? []) this.set({ table: tableName(row.name) }, Number(row.bytes));
    },
  });
}

function ageSeconds(now: number, times: readonly number[]): number {
  if (times.length === 0) return 0;
  return Math.max(0, (now - Math.min(...times)) / 1000);
}

/** The value, or undefined when it failed or took longer than a scrape may wait. */
async function withTimeout<T>(promise: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), COLLECT_TIMEOUT_MS)))]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
