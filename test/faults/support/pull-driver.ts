import Redis from 'ioredis';
import { createQueues, type Queues } from '../../../jobs/queues';
import { PullService } from '../../../jobs/pull-service';
import { createConnection } from '../../../src/connections/connection-store';
import { createDb, type Db } from '../../../src/db/database';
import { silentLogger } from '../../../src/log/logger';
import { SECRET_KEY, type CaseEnvironment } from './tally-process';

/**
 * The operator's side of pulls in a fault case: creates connections and queues pulls and
 * backfills against the case's Postgres and Redis (as the admin API of `tally start` would), and
 * reads what happened. The work itself runs in `tally worker` processes.
 */
export interface PullDriver {
  readonly db: Db;
  readonly redis: Redis;
  readonly queues: Queues;
  readonly service: PullService;
  createEverflowConnection(baseUrl: string, options?: { name?: string; enabled?: boolean; everyMinutes?: number; lookbackDays?: number }): Promise<string>;
  /** count(*) and count(DISTINCT txid) of a connection's conversions. */
  stored(connectionId: string): Promise<{ rows: number; txids: number }>;
  close(): Promise<void>;
}

export async function openPullDriver(env: CaseEnvironment): Promise<PullDriver> {
  const db = createDb(env.databaseUrl, { poolMax: 4 });
  const redis = new Redis(env.redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined);
  const queues = createQueues(redis, `fault-${env.name}`);
  const service = new PullService(db, queues, Buffer.from(SECRET_KEY, 'hex'), silentLogger());
  return {
    db, redis, queues, service,
    async createEverflowConnection(baseUrl, options = {}) {
      const row = await createConnection(db, Buffer.from(SECRET_KEY, 'hex'), {
        connector: 'everflow',
        name: options.name ?? 'fault sandbox',
        config: { api_key: 'sandbox-key', base_url: baseUrl, click_id_field: 'sub1' },
        every_minutes: options.everyMinutes ?? 60,
        lookback_days: options.lookbackDays ?? 2,
        enabled: options.enabled ?? false,
      });
      return row.id;
    },
    async stored(connectionId) {
      const [row] = await db('conversions').where({ connection_id: connectionId }).select(db.raw('count(*)::int AS rows'), db.raw('count(DISTINCT txid)::int AS txids'));
      return row as { rows: number; txids: number };
    },
    async close() {
      await queues.close();
      redis.disconnect();
      await db.destroy();
    },
  };
}
