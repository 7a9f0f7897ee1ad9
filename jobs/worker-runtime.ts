import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Metrics } from '../src/observability/metrics';
import { markBackfillFailed, runBackfill, type BackfillJobData } from './backfill-job';
import type { JobDeps } from './job-deps';
import { applyJobPolicy, cappedBackoff, type JobRunResult } from './job-policy';
import { runPull, type PullJobData, type PullResult } from './pull-job';
import type { PullService } from './pull-service';
import { restoreLostJobs } from './queue-recovery';
import { BACKFILL_QUEUE, MAINTENANCE_QUEUE, PULL_QUEUE, type MaintenanceJobData } from './queues';
import { extendMonthlyPartitions } from './partition-maintenance';
import { runRetention } from './retention-job';

export interface WorkerOptions {
  readonly pullConcurrency?: number;
  readonly backfillConcurrency?: number;
  /** How long a job's lock lasts without renewal; a killed worker's job is retried after this. */
  readonly lockDurationMs?: number;
  readonly stalledIntervalMs?: number;
  /** Which queues this process works (default both). */
  readonly queues?: ReadonlyArray<'pull' | 'backfill'>;
  /** Reconcile job schedulers at start (default true; a CLI backfill process skips it). */
  readonly reconcile?: boolean;
  /** LOG_RETENTION_DAYS for the daily retention job (default 180). */
  readonly logRetentionDays?: number;
  /** First retry wait of a transiently failing job (TALLY_JOB_BACKOFF_MS; default 30 s), doubling up to 15 minutes. */
  readonly backoffMs?: number;
  /** How often to check that Redis still has the schedulers and backfill jobs (default 60 s; also on every reconnect). */
  readonly recoverEveryMs?: number;
  /** Counts pull and backfill runs by result. */
  readonly metrics?: Metrics;
}

export interface WorkerRuntime {
  readonly pullWorker: Worker<PullJobData, PullResult> | undefined;
  readonly backfillWorker: Worker<BackfillJobData> | undefined;
  readonly maintenanceWorker: Worker<MaintenanceJobData> | undefined;
  /**
   * Stops taking jobs and waits for the active ones. With `force`, active jobs are aborted
   * instead: they stop at their next request and are retried elsewhere (their stored pages and
   * chunks stay stored).
   */
  close(force?: boolean): Promise<void>;
}

/**
 * Starts the pull and backfill workers (any number of processes may run them against the same
 * Redis and Postgres) and reconciles the job schedulers with the connections.
 */
export async function startWorkers(deps: JobDeps, service: PullService, connection: Redis, options: WorkerOptions = {}): Promise<WorkerRuntime> {
  const lockDuration = options.lockDurationMs ?? 60_000;
  const common = {
    connection,
    prefix: deps.queuePrefix,
    lockDuration,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: 5,
    settings: { backoffStrategy: cappedBackoff(options.backoffMs ?? 30_000) },
  };
  const counted = (kind: 'pull' | 'backfill') => (result: JobRunResult) => options.metrics?.pullRuns.inc({ kind, result });
  // Every line a job logs names the job and the request that queued it (scheduled jobs: the job).
  const forJob = (job: Job<{ requestId?: string }>): JobDeps => ({ ...deps, logger: deps.logger.child({ job: job.id, reqId: job.data.requestId ?? job.id }) });
  const wanted = new Set(options.queues ?? ['pull', 'backfill']);
  const running = new Set<AbortController>();
  const track = async <T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    const controller = new AbortController();
    running.add(controller);
    try {
      return await work(controller.signal);
    } finally {
      running.delete(controller);
    }
  };
  const pullWorker = !wanted.has('pull') ? undefined : new Worker<PullJobData, PullResult>(
    PULL_QUEUE,
    (job, token) =>
      track(async (signal) => {
        try {
          const result = await runPull(forJob(job), job.data, job.id, signal);
          counted('pull')(result.status);
          return result;
        } catch (error) {
          return applyJobPolicy(error, job, token, { onResult: counted('pull') });
        }
      }),
    { ...common, concurrency: options.pullConcurrency ?? 4 },
  );
  const backfillWorker = !wanted.has('backfill') ? undefined : new Worker<BackfillJobData>(
    BACKFILL_QUEUE,
    (job, token) =>
      track(async (signal) => {
        try {
          // Progress in Redis is for Bull Board; Postgres has the record, so a Redis hiccup must not stop the backfill.
          const row = await runBackfill(forJob(job), job.data, signal, (done, total) => job.updateProgress({ done, total }).catch(() => undefined));
          counted('backfill')(row.status === 'cancelled' ? 'cancelled' : 'completed');
          return { status: row.status, chunks: row.chunks_done };
        } catch (error) {
          return applyJobPolicy(error, job, token, { onResult: counted('backfill'), onGiveUp: (message) => markBackfillFailed(deps.db, job.data.backfillId, message) });
        }
      }),
    { ...common, concurrency: options.backfillConcurrency ?? 2 },
  );
  // Housekeeping runs wherever pulls run.
  const maintenanceWorker = !wanted.has('pull') ? undefined : new Worker<MaintenanceJobData>(
    MAINTENANCE_QUEUE,
    async (job) => {
      const result = await runRetention(deps.db, options.logRetentionDays ?? 180);
      const partitions = await extendMonthlyPartitions(deps.db);
      deps.logger.info({ job: job.id, ...result, partitions }, 'registration log retention');
      return { ...result, partitions };
    },
    { ...common, concurrency: 1 },
  );
  const workers = [pullWorker, backfillWorker, maintenanceWorker].filter((worker): worker is Worker => worker !== undefined);
  for (const worker of workers) {
    worker.on('error', (error) => deps.logger.error({ err: error.message }, 'worker error'));
    worker.on('failed', (job, error) => {
      const retried = job !== undefined && job.attemptsMade < (job.opts.attempts ?? 1) && !(error instanceof UnrecoverableError);
      deps.logger.warn({ job: job?.id, reqId: job?.data.requestId ?? job?.id, attempt: job?.attemptsMade, err: error.message }, retried ? 'job attempt failed; it will be retried' : 'job failed');
    });
  }
  const reconcile = options.reconcile ?? true;
  if (reconcile) await service.reconcileSchedulers();
  // Redis restarted without persistence loses the schedulers and queued jobs; Postgres knows what
  // they were. Checked after every reconnect and periodically.
  let recovering: Promise<void> | undefined;
  const quietMs = lockDuration * 2;
  const recover = (): void => {
    recovering ??= restoreLostJobs(deps.db, service, { quietMs })
      .then((restored) => {
        if (restored.schedulers || restored.backfills.length > 0) deps.logger.warn(restored, 'restored job schedulers or backfill jobs that Redis had lost');
      })
      .catch((error: unknown) => deps.logger.warn({ err: (error as Error).message }, 'could not check Redis for lost jobs; trying again later'))
      .finally(() => (recovering = undefined));
  };
  // Once at once (schedulers), once when a backfill whose job vanished has been quiet long enough to tell.
  const onReady = (): void => {
    setTimeout(recover, 500).unref();
    setTimeout(recover, quietMs + 1000).unref();
  };
  const timer = reconcile ? setInterval(recover, options.recoverEveryMs ?? 60_000) : undefined;
  timer?.unref();
  if (reconcile) connection.on('ready', onReady);
  return {
    pullWorker,
    backfillWorker,
    maintenanceWorker,
    async close(force = false) {
      if (timer) clearInterval(timer);
      connection.off('ready', onReady);
      if (force) for (const controller of running) controller.abort(new Error('worker shutting down'));
      await Promise.all(workers.map((worker) => worker.close(force)));
      await recovering;
    },
  };
}
