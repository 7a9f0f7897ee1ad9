import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BackfillJobData } from './backfill-job';
import { CAPPED_BACKOFF } from './job-policy';
import type { PullJobData } from './pull-job';

export const PULL_QUEUE = 'pull';
export const BACKFILL_QUEUE = 'backfill';
export const MAINTENANCE_QUEUE = 'maintenance';
/** The retention job's scheduler: one per install, daily. */
export const RETENTION_SCHEDULER = 'retention:daily';

/** Data of a maintenance job. */
export interface MaintenanceJobData {
  readonly task: 'retention';
}

export interface Queues {
  readonly pull: Queue<PullJobData>;
  readonly backfill: Queue<BackfillJobData>;
  /** Housekeeping: the daily registration-log retention. */
  readonly maintenance: Queue<MaintenanceJobData>;
  close(): Promise<void>;
}

/** The pull and backfill queues under QUEUE_PREFIX. */
export function createQueues(connection: Redis, prefix: string): Queues {
  const defaultJobOptions = {
    // Transient failures (5xx, network, a truncated answer) are retried on the workers' capped
    // backoff (job-policy.ts); rate limits delay a job without using an attempt.
    attempts: 8,
    backoff: { type: CAPPED_BACKOFF, delay: 30_000 },
    removeOnComplete: { count: 1000, age: 7 * 24 * 3600 },
    removeOnFail: { count: 5000, age: 30 * 24 * 3600 },
  };
  const pull = new Queue<PullJobData>(PULL_QUEUE, { connection, prefix, defaultJobOptions });
  const backfill = new Queue<BackfillJobData>(BACKFILL_QUEUE, { connection, prefix, defaultJobOptions: { ...defaultJobOptions, attempts: 10 } });
  const maintenance = new Queue<MaintenanceJobData>(MAINTENANCE_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 60_000 }, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
  });
  return {
    pull,
    backfill,
    maintenance,
    async close() {
      await Promise.all([pull.close(), backfill.close(), maintenance.close()]);
    },
  };
}

/** Id of a connection's job scheduler: one per connection, derived from its id. */
export const schedulerId = (connectionId: string): string => `pull:${connectionId}`;
