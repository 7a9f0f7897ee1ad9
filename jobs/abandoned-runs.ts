import { query, type Queryable } from '../src/db/sql';

/**
 * Marks a connection's other runs still `running` as failed. Called by a pull that holds the
 * connection's lock: any such run lost its worker (killed, or its lock lapsed) and will never
 * finish on its own.
 */
export async function closeAbandonedRuns(db: Queryable, connectionId: string, currentRunId: string): Promise<void> {
  await query(db, "UPDATE pull_runs SET status = 'failed', error = $3, finished_at = now() WHERE connection_id = $1 AND status = 'running' AND id <> $2",
    [connectionId, currentRunId, 'the worker running this pull stopped (killed or lost its lock); a later run took the pull over'],
  );
}
