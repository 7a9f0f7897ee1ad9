import type { FastifyInstance } from 'fastify';
import { buildApp, type BuildAppOptions } from '../../src/http/app';
import type { AppContext } from '../../src/http/context';
import type Redis from 'ioredis';
import { FloodGuard } from '../../src/intake/flood-guard';
import { GroupCommitIntake } from '../../src/intake/group-commit-intake';
import { silentLogger } from '../../src/log/logger';
import { Metrics } from '../../src/observability/metrics';
import { createRegistrar } from '../../src/runtime/services';
import type { TallyConfig } from '../../src/config/config';
import { createTestDatabase, type TestDatabase } from './database';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export function testConfig(overrides: Partial<TallyConfig> = {}): TallyConfig {
  return {
    nodeEnv: 'test',
    databaseUrl: 'postgres://unused',
    redisUrl: 'redis://127.0.0.1:6379',
    queuePrefix: `tally-test-${process.pid}`,
    port: 0,
    host: '127.0.0.1',
    adminToken: ADMIN_TOKEN,
    adminTokenGenerated: false,
    secretKey: Buffer.alloc(32, 1),
    displayCurrency: 'USD',
    defaultCurrency: 'USD',
    postbackToken: undefined,
    publicUrl: undefined,
    trustProxy: false,
    stateDir: '/tmp/tally-test-state',
    logLevel: 'silent',
    intake: { maxInFlight: 2, maxWaitMs: 2, maxPending: 10_000 },
    rejectLimitPerMinute: 0,
    clickRateLimitPerMinute: 0,
    logRetentionDays: 180,
    uploadMaxBytes: 100 * 1024 * 1024,
    metricsPublic: false,
    metricsToken: undefined,
    metricsPort: undefined,
    workerLockMs: 60_000,
    jobBackoffMs: 30_000,
    spool: { enabled: false, dir: '/tmp/tally-test-spool', maxBytes: 64 * 1024 * 1024, afterMs: 2000 },
    ...overrides,
  };
}

export interface TestApp {
  app: FastifyInstance;
  ctx: AppContext;
}

/** The real app on a test database, with the real group-commit intake. */
export async function createTestApp(testDb: TestDatabase, overrides: Partial<TallyConfig> = {}, options: BuildAppOptions & { redis?: Redis } = {}): Promise<TestApp> {
  const config = testConfig({ ...overrides, databaseUrl: testDb.url });
  const metrics = new Metrics({ defaultMetrics: false });
  const registrar = createRegistrar(testDb.db, config, metrics);
  const intake = new GroupCommitIntake(registrar, config.intake, (size) => metrics.intakeBatchSize.observe(size));
  // With a Redis client the flood limits are live (counters under the config's QUEUE_PREFIX).
  const flood = options.redis
    ? new FloodGuard(options.redis, testDb.db, config.queuePrefix, { rejectsPerMinute: config.rejectLimitPerMinute, clicksPerMinute: config.clickRateLimitPerMinute })
    : undefined;
  const ctx: AppContext = { config, db: testDb.db, registrar, intake, metrics, logger: silentLogger(), ...(options.redis ? { redis: options.redis } : {}), ...(flood ? { flood } : {}) };
  const app = await buildApp(ctx, options);
  await app.ready();
  return { app, ctx };
}

export const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

/**
 * A test file's own database and the app on it: created before its tests, closed and dropped
 * after them. `ready` receives both once they exist.
 */
export function useTestApp(ready: (testDb: TestDatabase, app: TestApp) => void, overrides: Partial<TallyConfig> = {}): void {
  let created: { testDb: TestDatabase; app: TestApp } | undefined;
  beforeAll(async () => {
    const testDb = await createTestDatabase();
    const app = await createTestApp(testDb, overrides);
    created = { testDb, app };
    ready(testDb, app);
  });
  afterAll(async () => {
    await created?.app.app.close();
    await created?.testDb.drop();
  });
}
