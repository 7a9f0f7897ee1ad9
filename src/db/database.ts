import knexFactory, { type Knex } from 'knex';
import pg from 'pg';

export type Db = Knex;

// pg returns NUMERIC (1700) as a string already; keep it that way. BIGINT (20) also stays a
// string, which is what the API exposes for conversion ids. DATE (1082) is kept as 'YYYY-MM-DD'
// rather than a Date at local midnight.
pg.types.setTypeParser(1082, (value) => value);

/** Opens a knex handle on Postgres. Pool size defaults to 10. */
export function createDb(databaseUrl: string, options: { poolMax?: number; applicationName?: string } = {}): Db {
  return knexFactory({
    client: 'pg',
    connection: {
      connectionString: databaseUrl,
      application_name: options.applicationName ?? 'tally',
      // A 10,000-conversion batch materializes ~6 MB of CTE rows; at the default 4 MB they spill
      // to temporary files. Per-connection, so it does not touch the server's configuration.
      options: '-c work_mem=64MB',
      // A Postgres that vanishes without a reset (a black-holed network, a failover) must not
      // hold a connection attempt or an idle pooled socket for the OS's two-hour default: connects
      // give up after 10 s, and TCP keepalive probes an idle socket after 10 s.
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    },
    pool: { min: 0, max: options.poolMax ?? 10 },
    acquireConnectionTimeout: 10_000,
    // knex prints every failed connection attempt to the console; the callers see the same error
    // and log it once (a spool draining while Postgres is away would otherwise print one per retry).
    log: { warn: () => undefined, error: () => undefined, deprecate: () => undefined, debug: () => undefined },
  });
}

/** Database name and a URL for the `postgres` maintenance database on the same server. */
export function describeDatabaseUrl(databaseUrl: string): { name: string; maintenanceUrl: string } {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) throw new Error(`DATABASE_URL has no database name: add one after the host, e.g. ${url.origin}/tally`);
  const maintenance = new URL(databaseUrl);
  maintenance.pathname = '/postgres';
  return { name, maintenanceUrl: maintenance.toString() };
}

/**
 * Creates the database named in `databaseUrl` when it does not exist. Safe when several
 * processes race to create it.
 */
export async function ensureDatabaseExists(databaseUrl: string): Promise<boolean> {
  const { name, maintenanceUrl } = describeDatabaseUrl(databaseUrl);
  const client = new pg.Client({ connectionString: maintenanceUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (existing.rowCount) return false;
    try {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      return true;
    } catch (error) {
      // 42P04 duplicate_database: another process created it first.
      if ((error as { code?: string }).code === '42P04') return false;
      throw error;
    }
  } finally {
    await client.end();
  }
}
