import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BackfillJobData } from './backfill-job';
import type { PullJobData } from './pull-job';

export const PULL_QUEUE = 'pull';
export const BACKFILL_QUEUE = 'backfill';

export interface Queues {
  readonly pull: Queue<PullJobData>;
  readonly backfill: Queue<BackfillJobData>;
  close(): Promise<void>;
}

/** The pull and backfill queues under QUEUE_PREFIX. */
export function createQueues(connection: Redis, prefix: string): Queues {
  const defaultJobOptions = {
    attempts: 5,
    backoff: { type: 'exponential', delay: 30_000 },
    removeOnComplete: { count: 1000, age: 7 * 24 * 3600 },
    removeOnFail: { count: 5000, age: 30 * 24 * 3600 },
  };
  const pull = new Queue<PullJobData>(PULL_QUEUE, { connection, prefix, defaultJobOptions });
  const backfill = new Queue<BackfillJobData>(BACKFILL_QUEUE, { connection, prefix, defaultJobOptions: { ...defaultJobOptions, attempts: 10 } });
  return {
    pull,
    backfill,
    async close() {
      await Promise.all([pull.close(), backfill.close()]);
    },
  };
}

/** Id of a connection's job scheduler: one per connection, derived from its id. */
export const schedulerId = (connectionId: string): string => `pull:${connectionId}`;
