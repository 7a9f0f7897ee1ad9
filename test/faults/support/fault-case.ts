import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { generatedData, type SandboxData } from '../../../src/demo/sandbox-network';
import { caseEnvironment, seedFunnel, TallyProcess, type CaseEnvironment } from './tally-process';
import { startThrowawayPostgres, type ThrowawayPostgres } from './throwaway-postgres';
import { startThrowawayRedis, type ThrowawayRedis } from './throwaway-redis';

/** What every fault case starts with: its own Postgres (migrated) and Redis, and their environment. */
export interface FaultCase {
  readonly postgres: ThrowawayPostgres;
  readonly redis: ThrowawayRedis;
  readonly env: CaseEnvironment;
  /** Stops Redis, deletes the Postgres cluster and the spool and state directories (stop the case's Tally processes first). */
  stop(): Promise<void>;
}

export async function startFaultCase(name: string, extra: Record<string, string> = {}): Promise<FaultCase> {
  const postgres = await startThrowawayPostgres();
  const redis = await startThrowawayRedis();
  const env = caseEnvironment(name, postgres.url('tally'), redis.url, extra);
  await TallyProcess.migrate(env);
  return {
    postgres, redis, env,
    async stop() {
      await redis.stop();
      await postgres.destroy();
      rmSync(env.spoolDir, { recursive: true, force: true });
      rmSync(join(env.spoolDir, '..', `${name}-state`), { recursive: true, force: true });
    },
  };
}

/** Creates a network, offer, campaign and `count` clicks (`fc-0` …) through a short-lived `serve`. */
export async function seedClicks(env: CaseEnvironment, count: number): Promise<string[]> {
  const serve = await TallyProcess.serve(env, 'seed');
  try {
    return (await seedFunnel(serve, count)).clickIds;
  } finally {
    await serve.stop();
  }
}

/**
 * `total` network records spread evenly over `spanSeconds` from `fromSeconds`, txids
 * `<prefix>-<n>`, click IDs cycling through the 500 seeded clicks.
 */
export function spreadRecords(prefix: string, total: number, fromSeconds: number, spanSeconds: number, revenue: string): SandboxData {
  const step = Math.floor(spanSeconds / total);
  return generatedData(total, fromSeconds, step, (index) => ({
    conversion_id: `${prefix}-${index}`, conversion_unix_timestamp: fromSeconds + index * step, sub1: `fc-${index % 500}`, revenue, currency_id: 'USD', status: 'approved',
  }));
}
