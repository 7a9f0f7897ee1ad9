import { loadConnection } from '../src/connections/connection-store';
import type { PreparedStatement } from '../src/db/sql';
import { query, type Queryable } from '../src/db/sql';
import { connectorContextFor, type JobDeps } from './job-deps';
import { pullChunk } from './pull-chunk';
import { classifyFailure } from './failures';
import { recordFailure } from './pull-job';
import { pullRevenueChunk } from './revenue-pull';
import { backfillWindow, splitWindow } from './windows';

export interface BackfillJobData {
  readonly backfillId: string;
  /** Id of the HTTP request that started the backfill. */
  readonly requestId?: string;
}

/** `waiting`: rate-limited or retrying after a transient failure; the job resumes by itself. */
export type BackfillStatus = 'queued' | 'running' | 'waiting' | 'completed' | 'failed' | 'cancelled';

export interface BackfillRow {
  id: string;
  connection_id: string;
  from_date: string;
  to_date: string;
  status: BackfillStatus;
  chunks_total: number;
  chunks_done: number;
  fetched: string;
  inserted: string;
  updated: string;
  unchanged: string;
  unmatched: string;
  rejected: string;
  error: string | null;
  job_id: string | null;
  created_at: Date;
  finished_at: Date | null;
}

const COUNT_PAGE: PreparedStatement = {
  name: 'tally_count_backfill_page_v1',
  text: `UPDATE backfills SET fetched = fetched + $2, inserted = inserted + $3, updated = updated + $4, unchanged = unchanged + $5,
                             unmatched = unmatched + $6, rejected = rejected + $7, updated_at = now() WHERE id = $1`,
};

const CHUNK_DONE: PreparedStatement = {
  name: 'tally_backfill_chunk_done_v1',
  text: `WITH marked AS (UPDATE backfill_chunks SET done_at = now() WHERE backfill_id = $1 AND chunk_index = $2 AND done_at IS NULL RETURNING 1)
         UPDATE backfills SET chunks_done = chunks_done + (SELECT count(*) FROM marked), updated_at = now() WHERE id = $1`,
};

/** Creates a backfill over the UTC days from..to (inclusive) with one chunk per max window. */
export async function createBackfill(db: Queryable, connection: { id: string; maxWindowDays: number }, fromDay: string, toDay: string): Promise<BackfillRow> {
  const chunks = splitWindow(backfillWindow(fromDay, toDay), connection.maxWindowDays);
  const [row] = await query<BackfillRow>(db, `WITH created AS (
       INSERT INTO backfills (connection_id, from_date, to_date, chunks_total) VALUES ($1, $2, $3, $4) RETURNING *
     ), chunks AS (
       INSERT INTO backfill_chunks (backfill_id, chunk_index, window_from, window_to)
       SELECT created.id, c.ord - 1, c.window_from, c.window_to
         FROM created, unnest($5::timestamptz[], $6::timestamptz[]) WITH ORDINALITY AS c(window_from, window_to, ord)
     )
     SELECT * FROM created`,
    [connection.id, fromDay, toDay, chunks.length, chunks.map((chunk) => chunk.from.toISOString()), chunks.map((chunk) => chunk.to.toISOString())],
  );
  return row as BackfillRow;
}

export async function findBackfill(db: Queryable, id: string): Promise<BackfillRow | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
  const [row] = await query<BackfillRow>(db, 'SELECT * FROM backfills WHERE id = $1', [id]);
  return row;
}

/** A cancellation seen between pages: the backfill stops before fetching more. */
export class BackfillCancelledError extends Error {
  constructor(id: string) {
    super(`backfill ${id} was cancelled`);
    this.name = 'BackfillCancelledError';
  }
}

const CANCELLED: PreparedStatement = { name: 'tally_backfill_cancelled_v1', text: "SELECT status = 'cancelled' AS cancelled FROM backfills WHERE id = $1" };

/**
 * Runs (or resumes) a backfill: every chunk without `done_at`, in order. A chunk is marked done in
 * the transaction that stores its last page, so a worker killed at any point resumes at the first
 * unfinished chunk; pages it re-reads come back as unchanged duplicates. A cancellation takes
 * effect between pages: the page being stored is kept, nothing further is fetched. A failure the
 * job will retry (a rate limit, a 5xx) leaves the backfill `waiting`; only the worker, once
 * retrying is over, marks it `failed` ({@link markBackfillFailed}).
 */
export async function runBackfill(deps: JobDeps, data: BackfillJobData, jobSignal: AbortSignal, onProgress: (done: number, total: number) => Promise<void>): Promise<BackfillRow> {
  const backfill = await findBackfill(deps.db, data.backfillId);
  if (!backfill) throw new Error(`backfill ${data.backfillId} does not exist`);
  if (backfill.status === 'cancelled' || backfill.status === 'completed') return backfill;
  await query(deps.db, "UPDATE backfills SET status = 'running', error = NULL, updated_at = now() WHERE id = $1 AND status <> 'cancelled'", [backfill.id]);
  const cancel = new AbortController();
  const signal = AbortSignal.any([jobSignal, cancel.signal]);
  try {
    const connection = await loadConnection(deps.db, deps.secretKey, backfill.connection_id);
    const context = connectorContextFor(deps, connection, signal);
    // A revenue feed's chunk is its feed days, each summed per sub-id (see jobs/revenue-pull.ts).
    const pullDays = connection.connector.kind === 'revenue' ? pullRevenueChunk : pullChunk;
    const pending = await query<{ chunk_index: number; window_from: Date; window_to: Date }>(deps.db, 'SELECT chunk_index, window_from, window_to FROM backfill_chunks WHERE backfill_id = $1 AND done_at IS NULL ORDER BY chunk_index',
      [backfill.id],
    );
    let done = backfill.chunks_total - pending.length;
    await onProgress(done, backfill.chunks_total);
    for (const chunk of pending) {
      if (await isCancelled(deps.db, backfill.id)) break;
      await pullDays(deps, connection, context, { from: chunk.window_from, to: chunk.window_to }, async (transaction, page, last) => {
        await transaction.query(COUNT_PAGE, [backfill.id, page.fetched, page.inserted, page.updated, page.unchanged, page.unmatched, page.rejected]);
        if (last) await transaction.query(CHUNK_DONE, [backfill.id, chunk.chunk_index]);
        // Checked with every page: the page commits, and the next request is aborted.
        if (!last && (await isCancelled(transaction, backfill.id))) cancel.abort(new BackfillCancelledError(backfill.id));
      });
      done += 1;
      await onProgress(done, backfill.chunks_total);
    }
    await query(deps.db, `UPDATE backfills SET status = CASE WHEN status = 'cancelled' THEN 'cancelled' ELSE 'completed' END, finished_at = now(), updated_at = now() WHERE id = $1`,
      [backfill.id],
    );
  } catch (error) {
    if (cancel.signal.aborted || (await isCancelled(deps.db, backfill.id).catch(() => false))) return (await findBackfill(deps.db, backfill.id)) as BackfillRow;
    const permanent = classifyFailure(error) === 'permanent';
    await query(deps.db, `UPDATE backfills SET status = $1, error = $2, updated_at = now() WHERE id = $3 AND status <> 'cancelled'`,
      [permanent ? 'failed' : 'waiting', (error as Error).message.slice(0, 2000), backfill.id]);
    await recordFailure(deps, backfill.connection_id, undefined, error);
    throw error;
  }
  return (await findBackfill(deps.db, backfill.id)) as BackfillRow;
}

/** The job gave up (permanent error, or retries used up): the backfill is `failed` with the reason. */
export async function markBackfillFailed(db: Queryable, id: string, message: string): Promise<void> {
  await query(db, "UPDATE backfills SET status = 'failed', error = $1, updated_at = now() WHERE id = $2 AND status NOT IN ('cancelled', 'completed')", [message.slice(0, 2000), id]);
}

async function isCancelled(db: Queryable, id: string): Promise<boolean> {
  const [row] = await query<{ cancelled: boolean }>(db, CANCELLED, [id]);
  return row?.cancelled === true;
}

/** A backfill as the API shows it. */
export function backfillView(row: BackfillRow) {
  return {
    id: row.id,
    connection_id: row.connection_id,
    from: row.from_date,
    to: row.to_date,
    status: row.status,
    progress: { done: row.chunks_done, total: row.chunks_total },
    stats: {
      fetched: Number(row.fetched),
      inserted: Number(row.inserted),
      updated: Number(row.updated),
      unchanged: Number(row.unchanged),
      unmatched: Number(row.unmatched),
      rejected: Number(row.rejected),
    },
    error: row.error,
    created_at: row.created_at.toISOString(),
    finished_at: row.finished_at?.toISOString() ?? null,
  };
}
