import type { Db } from '../src/db/database';
import { query } from '../src/db/sql';

/** Rows deleted per statement: keeps each transaction and its WAL short. */
export const RETENTION_BATCH = 10_000;

export interface RetentionResult {
  readonly deleted: number;
  readonly cutoff: string;
}

/**
 * Deletes registration-log attempts whose last sighting is older than `days` and which created
 * or changed nothing (rejected, duplicate). Accepted and updated attempts are the conversions'
 * history and stay. Works in batches, oldest first, through the partial index on last_seen_at,
 * so a large first run never holds one long transaction.
 */
export async function runRetention(db: Db, days: number, now = new Date()): Promise<RetentionResult> {
  const cutoff = new Date(now.getTime() - days * 24 * 3600 * 1000);
  let deleted = 0;
  for (;;) {
    const rows = await query<{ n: string }>(
      db,
      `WITH doomed AS (
         SELECT id FROM registration_log
          WHERE outcome IN ('rejected', 'duplicate') AND last_seen_at < $1
          ORDER BY last_seen_at
          LIMIT $2
       ), gone AS (
         DELETE FROM registration_log l USING doomed WHERE l.id = doomed.id RETURNING 1
       )
       SELECT count(*)::text AS n FROM gone`,
      [cutoff.toISOString(), RETENTION_BATCH],
    );
    const count = Number(rows[0]?.n ?? 0);
    deleted += count;
    if (count < RETENTION_BATCH) break;
  }
  return { deleted, cutoff: cutoff.toISOString() };
}
