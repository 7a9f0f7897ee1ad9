import type { Queue } from 'bullmq';
import { listConnections } from '../src/connections/connection-store';
import type { Db } from '../src/db/database';
import { query } from '../src/db/sql';
import type { BackfillJobData } from './backfill-job';
import type { PullService } from './pull-service';
import { RETENTION_SCHEDULER } from './queues';

/**
 * Puts back what Redis lost (a restart without persistence, a flush): the job schedulers of the
 * enabled connections and the retention job, and the jobs of backfills that Postgres says are
 * unfinished. Postgres is the record; Redis only carries work, so everything here is derived.
 * Returns what it restored.
 */
export async function restoreLostJobs(db: Db, service: PullService, options: { quietMs: number }): Promise<{ schedulers: boolean; backfills: string[] }> {
  const schedulers = await schedulersMissing(db, service);
  if (schedulers) await service.reconcileSchedulers();
  return { schedulers, backfills: await requeueLostBackfills(db, service.queues.backfill, options.quietMs) };
}

/** Whether Redis holds fewer pull schedulers than there are enabled connections, or no retention scheduler. */
async function schedulersMissing(db: Db, service: PullService): Promise<boolean> {
  const enabled = (await listConnections(db, { enabledOnly: true })).length;
  const [pulls, retention] = await Promise.all([service.queues.pull.getJobSchedulersCount(), service.queues.maintenance.getJobScheduler(RETENTION_SCHEDULER)]);
  return pulls < enabled || !retention;
}

/**
 * Backfills that are queued, running or waiting, have not moved for `quietMs` (longer than a job
 * lock, so no live worker is on them) and whose job Redis no longer has, get a new job. Running
 * one twice would be harmless: chunks are marked done atomically and the pipeline is idempotent.
 */
export async function requeueLostBackfills(db: Db, queue: Queue<BackfillJobData>, quietMs: number): Promise<string[]> {
  const candidates = await query<{ id: string; job_id: string | null }>(db,
    "SELECT id, job_id FROM backfills WHERE status IN ('queued', 'running', 'waiting') AND updated_at < now() - make_interval(secs => $1::double precision)",
    [quietMs / 1000],
  );
  const requeued: string[] = [];
  for (const candidate of candidates) {
    if (candidate.job_id && (await queue.getJob(candidate.job_id))) continue;
    const job = await queue.add('backfill', { backfillId: candidate.id }, { jobId: `backfill-${candidate.id}` });
    await query(db, 'UPDATE backfills SET job_id = $1 WHERE id = $2', [job.id, candidate.id]);
    requeued.push(candidate.id);
  }
  return requeued;
}
