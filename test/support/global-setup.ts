import pg from 'pg';
import Redis from 'ioredis';
import { createDb } from '../../src/db/database';
import { migrateLatest } from '../../src/db/migrate';
import { adminUrl, dropRunDatabases, templateName, testRunId } from './names';

/**
 * Once per `jest` run: check that the machine's Postgres and Redis answer, then build a migrated
 * template database that every test file clones (CREATE DATABASE … TEMPLATE) for isolation.
 */
export default async function globalSetup(): Promise<void> {
  const runId = testRunId();
  process.env.TALLY_TEST_RUN_ID = runId;

  const admin = new pg.Client({ connectionString: adminUrl() });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(`Tests need Postgres at ${adminUrl()} (${(error as Error).message}); start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`);
  }
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`Tests need Redis at ${process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'} (${(error as Error).message}); start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no`);
  } finally {
    redis.disconnect();
  }

  try {
    await dropRunDatabases(admin, { staleOnly: true });
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(templateName(runId))}`);
  } finally {
    await admin.end();
  }
  const base = new URL(adminUrl());
  base.pathname = `/${templateName(runId)}`;
  const db = createDb(base.toString(), { poolMax: 1 });
  try {
    await migrateLatest(db);
  } finally {
    await db.destroy();
  }
}
