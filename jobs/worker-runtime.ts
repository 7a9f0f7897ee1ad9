import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { ConnectorRateLimitError } from '../connectors/kit/errors';
import { runBackfill, type BackfillJobData } from './backfill-job';
import { classifyFailure } from './failures';
import type { JobDeps } from './job-deps';
import { runPull, type PullJobData, type PullResult } from './pull-job';
import type { PullService } from './pull-service';
import { BACKFILL_QUEUE, MAINTENANCE_QUEUE, PULL_QUEUE, type MaintenanceJobData } from './queues';
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

/** Turns a job error into BullMQ's policy: delay on rate limits, no retries when retrying cannot help. */
async function applyPolicy(error: unknown, job: Job, token: string | undefined): Promise<never> {
  const kind = classifyFailure(error);
  if (kind === 'rate_limited') {
    const wait = (error as ConnectorRateLimitError).retryAfterMs;
    await job.moveToDelayed(Date.now() + Math.max(1000, wait), token);
    throw new DelayedError(`rate limited; resuming in ${Math.round(wait / 1000)} s`);
  }
  if (kind === 'permanent') throw new UnrecoverableError((error as Error).message);
  throw error;
}

/**
 * Starts the pull and backfill workers (any number of processes may run them against the same
 * Redis and Postgres) and reconciles the job schedulers with the connections.
 */
export async function startWorkers(deps: JobDeps, service: PullService, connection: Redis, options: WorkerOptions = {}): Promise<WorkerRuntime> {
  const common = {
    connection,
    prefix: deps.queuePrefix,
    lockDuration: options.lockDurationMs ?? 60_000,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: 5,
  };
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
          return await runPull(deps, job.data, job.id, signal);
        } catch (error) {
          return applyPolicy(error, job, token);
        }
      }),
    { ...common, concurrency: options.pullConcurrency ?? 4 },
  );
  const backfillWorker = !wanted.has('backfill') ? undefined : new Worker<BackfillJobData>(
    BACKFILL_QUEUE,
    (job, token) =>
      track(async (signal) => {
        try {
          const row = await runBackfill(deps, job.data, signal, (done, total) => job.updateProgress({ done, total }));
          return { status: row.status, chunks: row.chunks_done };
        } catch (error) {
          return applyPolicy(error, job, token);
        }
      }),
    { ...common, concurrency: options.backfillConcurrency ?? 2 },
  );
  // Housekeeping runs wherever pulls run.
  const maintenanceWorker = !wanted.has('pull') ? undefined : new Worker<MaintenanceJobData>(
    MAINTENANCE_QUEUE,
    async (job) => {
      const result = await runRetention(deps.db, options.logRetentionDays ?? 180);
      deps.logger.info({ job: job.id, ...result }, 'registration log retention');
      return result;
    },
    { ...common, concurrency: 1 },
  );
  const workers = [pullWorker, backfillWorker, maintenanceWorker].filter((worker): worker is Worker => worker !== undefined);
  for (const worker of workers) {
    worker.on('error', (error) => deps.logger.error({ err: error.message }, 'worker error'));
    worker.on('failed', (job, error) => deps.logger.warn({ job: job?.id, err: error.message }, 'job failed'));
  }
  if (options.reconcile ?? true) await service.reconcileSchedulers();
  return {
    pullWorker,
    backfillWorker,
    maintenanceWorker,
    async close(force = false) {
      if (force) for (const controller of running) controller.abort(new Error('worker shutting down'));
      await Promise.all(workers.map((worker) => worker.close(force)));
    },
  };
}
