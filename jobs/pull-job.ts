import { loadConnection, markConnectionHealth, type LoadedConnection } from '../src/connections/connection-store';
import type { PreparedStatement } from '../src/db/sql';
import { query } from '../src/db/sql';
import { classifyFailure } from './failures';
import { connectorContextFor, type JobDeps } from './job-deps';
import { pullChunk } from './pull-chunk';
import { runRevenuePull } from './revenue-pull';
import { RenewedLock } from './renewed-lock';
import { addStats, emptyStats, type PullStats } from './pull-stats';
import { pullWindow, splitWindow } from './windows';
import { closeAbandonedRuns } from './abandoned-runs';

/** How long a pull's lock outlives a killed worker when JobDeps does not say (TALLY_WORKER_LOCK_MS does). */
const DEFAULT_PULL_LOCK_MS = 30_000;

export type PullTrigger = 'schedule' | 'manual' | 'demo';

/** Data of a pull job. Only the connection id: credentials never travel through Redis. */
export interface PullJobData {
  readonly connectionId: string;
  readonly trigger: PullTrigger;
  /** Id of the HTTP request that queued a manual pull, so its log lines can be found together. */
  readonly requestId?: string;
}

export type PullResult =
  | { status: 'completed'; runId: string; window: { from: string; to: string }; stats: PullStats }
  | { status: 'skipped'; reason: string };

const ADVANCE_CHECKPOINT: PreparedStatement = {
  name: 'tally_advance_checkpoint_v1',
  text: `INSERT INTO sync_checkpoints (connection_id, stream, stored_until) VALUES ($1, 'conversions', $2)
         ON CONFLICT (connection_id, stream) DO UPDATE
            SET stored_until = GREATEST(sync_checkpoints.stored_until, EXCLUDED.stored_until), updated_at = now()`,
};

const COUNT_RUN: PreparedStatement = {
  name: 'tally_count_pull_run_v1',
  text: `UPDATE pull_runs SET fetched = fetched + $2, inserted = inserted + $3, updated = updated + $4, unchanged = unchanged + $5,
                             unmatched = unmatched + $6, rejected = rejected + $7 WHERE id = $1`,
};

/**
 * A scheduled or manual pull of one connection: window = checkpoint − lookback … now, split into
 * the connector's max window; pages go through the pipeline as they arrive; the checkpoint moves
 * to a chunk's end in the transaction that stores the chunk's last page. One pull per connection
 * runs at a time: a Redis lock renewed while the pull runs (see RenewedLock), so a killed
 * worker's pull is resumed within one lock period and a long pull never loses it; a second pull
 * of the connection meanwhile is skipped.
 */
export async function runPull(deps: JobDeps, data: PullJobData, jobId: string | undefined, jobSignal: AbortSignal): Promise<PullResult> {
  const lock = await RenewedLock.acquire(deps.redis, `${deps.queuePrefix}:pull-lock:${data.connectionId}`, deps.lockMs ?? DEFAULT_PULL_LOCK_MS, jobId);
  if (!lock) return { status: 'skipped', reason: 'another pull of this connection is running' };
  const signal = AbortSignal.any([jobSignal, lock.signal]);
  let connection: LoadedConnection | undefined;
  let runId: string | undefined;
  try {
    try {
      connection = await loadConnection(deps.db, deps.secretKey, data.connectionId);
    } catch (error) {
      if ((error as { code?: string }).code === 'connection_not_found') return { status: 'skipped', reason: 'the connection no longer exists' };
      throw error;
    }
    if (!connection.row.enabled && data.trigger === 'schedule') return { status: 'skipped', reason: 'the connection is disabled' };
    // Revenue feeds pull by feed day (estimated, then final), not by checkpoint window.
    if (connection.connector.kind === 'revenue') return await runRevenuePull(deps, connection, data.trigger, jobId, signal, (id) => (runId = id));
    const now = deps.now?.() ?? new Date();
    const [checkpoint] = await query<{ stored_until: Date }>(deps.db, "SELECT stored_until FROM sync_checkpoints WHERE connection_id = $1 AND stream = 'conversions'", [connection.row.id]);
    const lookbackDays = connection.row.lookback_days ?? connection.connector.defaultLookbackDays;
    const window = pullWindow(checkpoint?.stored_until ?? null, lookbackDays, now);
    const [run] = await query<{ id: string }>(deps.db, 'INSERT INTO pull_runs (connection_id, trigger, job_id, window_from, window_to) VALUES ($1, $2, $3, $4, $5) RETURNING id::text AS id',
      [connection.row.id, data.trigger, jobId ?? null, window.from, window.to],
    );
    runId = (run as { id: string }).id;
    await closeAbandonedRuns(deps.db, connection.row.id, runId);
    const context = connectorContextFor(deps, connection, signal);
    const stats = emptyStats();
    for (const chunk of splitWindow(window, connection.connector.maxWindowDays)) {
      const chunkStats = await pullChunk(deps, connection, context, chunk, async (transaction, page, last) => {
        await transaction.query(COUNT_RUN, [runId, page.fetched, page.inserted, page.updated, page.unchanged, page.unmatched, page.rejected]);
        if (last) await transaction.query(ADVANCE_CHECKPOINT, [connection?.row.id, chunk.to.toISOString()]);
      });
      addStats(stats, chunkStats);
      deps.metrics?.pulledRecords.inc({ connector: connection.connector.id, result: 'fetched' }, chunkStats.fetched);
    }
    await query(deps.db, "UPDATE pull_runs SET status = 'completed', finished_at = now() WHERE id = $1", [runId]);
    await markConnectionHealth(deps.db, connection.row.id, { healthy: true, warnings: connection.connector.warnings(connection.config) });
    deps.logger.info({ connection: connection.row.id, ...stats }, 'pull completed');
    return { status: 'completed', runId, window: { from: window.from.toISOString(), to: window.to.toISOString() }, stats };
  } catch (error) {
    await recordFailure(deps, data.connectionId, runId, error);
    throw error;
  } finally {
    await lock.release();
  }
}

/** Records a failed pull on its run and, for permanent failures, on the connection's health. */
export async function recordFailure(deps: JobDeps, connectionId: string, runId: string | undefined, error: unknown): Promise<void> {
  const kind = classifyFailure(error);
  const message = (error as Error).message ?? String(error);
  if (runId) {
    await query(deps.db, 'UPDATE pull_runs SET status = $1, error = $2, finished_at = now() WHERE id = $3', [kind === 'rate_limited' ? 'rate_limited' : 'failed', message.slice(0, 2000), runId]);
  }
  if (kind === 'permanent') await markConnectionHealth(deps.db, connectionId, { healthy: false, error: message });
  deps.logger.warn({ connection: connectionId, kind, err: message }, 'pull failed');
}
