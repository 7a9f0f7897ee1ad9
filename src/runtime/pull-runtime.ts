import Redis from 'ioredis';
import type { JobDeps } from '../../jobs/job-deps';
import { PullService } from '../../jobs/pull-service';
import { createQueues, type Queues } from '../../jobs/queues';
import { startWorkers, type WorkerOptions, type WorkerRuntime } from '../../jobs/worker-runtime';
import type { TallyConfig } from '../config/config';
import type { Logger } from '../log/logger';
import type { Metrics } from '../observability/metrics';
import { explainConnectionError } from '../util/connection-errors';
import type { Services } from './services';

export interface PullRuntime {
  readonly redis: Redis;
  readonly queues: Queues;
  readonly service: PullService;
  readonly deps: JobDeps;
  workers?: WorkerRuntime;
  startWorkers(options?: WorkerOptions): Promise<WorkerRuntime>;
  /** Stops workers (with `force`, aborting active jobs: they resume on another worker), queues and Redis. */
  close(force?: boolean): Promise<void>;
}

/** Connects to Redis (checking it answers) and sets up the queues and the pull service. */
export async function openPullRuntime(config: TallyConfig, services: Services, logger: Logger, metrics?: Metrics): Promise<PullRuntime> {
  // The pipeline (and its metrics) comes with the services; `metrics` here counts pulled records.
  // BullMQ workers need maxRetriesPerRequest: null (blocking commands must wait, not fail).
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
  redis.on('error', (error) => logger.warn({ err: error.message }, 'redis connection error'));
  try {
    await redis.connect();
    const policy = (await redis.config('GET', 'maxmemory-policy')) as string[];
    if (policy[1] && policy[1] !== 'noeviction') logger.warn({ policy: policy[1] }, 'Redis maxmemory-policy should be noeviction for BullMQ: evicted job keys lose work');
  } catch (error) {
    redis.disconnect();
    throw explainConnectionError(error, 'Redis', config.redisUrl);
  }
  const queues = createQueues(redis, config.queuePrefix);
  const service = new PullService(services.db, queues, config.secretKey, logger);
  const deps: JobDeps = { db: services.db, registrar: services.registrar, redis, secretKey: config.secretKey, queuePrefix: config.queuePrefix, logger, lockMs: config.workerLockMs, ...(metrics ? { metrics } : {}) };
  const runtime: PullRuntime = {
    redis,
    queues,
    service,
    deps,
    async startWorkers(options = {}) {
      runtime.workers = await startWorkers(deps, service, redis, {
        lockDurationMs: config.workerLockMs,
        logRetentionDays: config.logRetentionDays,
        stalledIntervalMs: config.workerLockMs / 2,
        backoffMs: config.jobBackoffMs,
        ...(metrics ? { metrics } : {}),
        ...options,
      });
      return runtime.workers;
    },
    async close(force = false) {
      await runtime.workers?.close(force);
      await queues.close();
      redis.disconnect();
    },
  };
  return runtime;
}
