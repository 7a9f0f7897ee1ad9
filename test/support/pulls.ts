import Redis from 'ioredis';
import type { JobDeps } from '../../jobs/job-deps';
import { PullService } from '../../jobs/pull-service';
import { createQueues, type Queues } from '../../jobs/queues';
import { startWorkers, type WorkerOptions, type WorkerRuntime } from '../../jobs/worker-runtime';
import { createConnection } from '../../src/connections/connection-store';
import { silentLogger } from '../../src/log/logger';
import { Registrar } from '../../src/pipeline/registrar';
import type { TestDatabase } from './database';

export const SECRET_KEY = Buffer.alloc(32, 7);
export const SANDBOX_KEY = 'sandbox-key';

export interface PullHarness {
  readonly deps: JobDeps;
  readonly queues: Queues;
  readonly service: PullService;
  readonly redis: Redis;
  readonly prefix: string;
  workers?: WorkerRuntime;
  startWorkers(options?: WorkerOptions): Promise<WorkerRuntime>;
  close(): Promise<void>;
}

/** Real Redis with a queue prefix of its own, real Postgres; HTTP waits shortened. */
export async function createPullHarness(testDb: TestDatabase): Promise<PullHarness> {
  const prefix = `tally-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  const registrar = new Registrar(testDb.db, { displayCurrency: 'USD', defaultCurrency: 'USD' });
  const deps: JobDeps = {
    db: testDb.db, registrar, redis, secretKey: SECRET_KEY, queuePrefix: prefix, logger: silentLogger(),
    http: { retries: 2, baseDelayMs: 10, maxRetryAfterMs: 2_000 },
  };
  const queues = createQueues(redis, prefix);
  const service = new PullService(testDb.db, queues, SECRET_KEY, silentLogger());
  const harness: PullHarness = {
    deps, queues, service, redis, prefix,
    async startWorkers(options = {}) {
      harness.workers = await startWorkers(deps, service, redis, { lockDurationMs: 5_000, stalledIntervalMs: 2_500, ...options });
      return harness.workers;
    },
    async close() {
      await harness.workers?.close(true);
      await queues.pull.obliterate({ force: true }).catch(() => undefined);
      await queues.backfill.obliterate({ force: true }).catch(() => undefined);
      await queues.maintenance.obliterate({ force: true }).catch(() => undefined);
      await queues.close();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    },
  };
  return harness;
}

/** An Everflow connection pointing at a sandbox. */
export async function createSandboxConnection(testDb: TestDatabase, baseUrl: string, overrides: Record<string, unknown> = {}) {
  return createConnection(testDb.db, SECRET_KEY, {
    connector: 'everflow',
    name: 'sandbox',
    config: { api_key: SANDBOX_KEY, base_url: baseUrl, click_id_field: 'sub1' },
    lookback_days: 2,
    ...overrides,
  });
}
