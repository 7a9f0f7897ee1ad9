import { createConnectorContext } from '../connectors/kit/context';
import { MemoryQuotaBudget } from '../connectors/kit/quota';
import { ConnectorError } from '../connectors/kit/errors';
import { listConnections, loadConnection } from '../src/connections/connection-store';
import type { Db } from '../src/db/database';
import { query } from '../src/db/sql';
import type { Logger } from '../src/log/logger';
import { InputError, NotFoundError } from '../src/util/errors';
import { backfillWindow } from './windows';
import { createBackfill, findBackfill, type BackfillRow } from './backfill-job';
import type { PullTrigger } from './pull-job';
import { RETENTION_SCHEDULER, schedulerId, type Queues } from './queues';

/**
 * Scheduling and enqueueing of pulls and backfills, used by the admin API, the CLI and the worker.
 * Job data never holds credentials: only connection and backfill ids.
 */
export class PullService {
  constructor(
    private readonly db: Db,
    readonly queues: Queues,
    private readonly secretKey: Buffer,
    private readonly logger: Logger,
  ) {}

  /**
   * Makes the job schedulers match the connections: one per enabled connection (upsert, so
   * restarts and repeated calls never duplicate), none for disabled or deleted ones.
   */
  async reconcileSchedulers(): Promise<{ scheduled: string[]; removed: string[] }> {
    const enabled = await listConnections(this.db, { enabledOnly: true });
    const wanted = new Set(enabled.map((connection) => schedulerId(connection.id)));
    for (const connection of enabled) {
      await this.queues.pull.upsertJobScheduler(
        schedulerId(connection.id),
        { every: connection.every_minutes * 60_000 },
        { name: 'pull', data: { connectionId: connection.id, trigger: 'schedule' } },
      );
    }
    const removed: string[] = [];
    for (const scheduler of await this.queues.pull.getJobSchedulers(0, -1)) {
      const id = scheduler.key ?? (scheduler as { id?: string }).id ?? '';
      if (id.startsWith('pull:') && !wanted.has(id)) {
        await this.queues.pull.removeJobScheduler(id);
        removed.push(id);
      }
    }
    // One daily retention job per install (upsert: every worker may call this at start).
    await this.queues.maintenance.upsertJobScheduler(RETENTION_SCHEDULER, { every: 24 * 3600 * 1000 }, { name: 'retention', data: { task: 'retention' } });
    this.logger.debug({ scheduled: wanted.size, removed: removed.length }, 'job schedulers reconciled');
    return { scheduled: [...wanted], removed };
  }

  /** Queues a pull now; returns the job id. `requestId` ties the job's log lines to the request that asked for it. */
  async enqueuePull(connectionId: string, trigger: PullTrigger = 'manual', requestId?: string): Promise<string> {
    await loadConnection(this.db, this.secretKey, connectionId, { validate: false });
    const job = await this.queues.pull.add('pull', { connectionId, trigger, ...(requestId ? { requestId } : {}) }, { jobId: `${trigger}-${connectionId}-${Date.now()}` });
    return job.id as string;
  }

  /** Creates a backfill over whole UTC days and queues it. */
  async startBackfill(connectionId: string, fromDay: string, toDay: string, requestId?: string): Promise<BackfillRow> {
    const connection = await loadConnection(this.db, this.secretKey, connectionId, { validate: false });
    const window = backfillWindow(fromDay, toDay);
    if (window.from >= window.to) throw new InputError(`"from" (${fromDay}) must not be after "to" (${toDay})`, 'invalid_range');
    if (window.from.getTime() > Date.now()) throw new InputError(`"from" (${fromDay}) is in the future`, 'invalid_range');
    const backfill = await createBackfill(this.db, { id: connectionId, maxWindowDays: connection.connector.maxWindowDays }, fromDay, toDay);
    const job = await this.queues.backfill.add('backfill', { backfillId: backfill.id, ...(requestId ? { requestId } : {}) }, { jobId: `backfill-${backfill.id}` });
    await query(this.db, 'UPDATE backfills SET job_id = $1 WHERE id = $2', [job.id, backfill.id]);
    return { ...backfill, job_id: job.id ?? null };
  }

  /** Stops a backfill: a queued or waiting one never runs again, a running one stops after its current page. */
  async cancelBackfill(id: string): Promise<BackfillRow> {
    const backfill = await findBackfill(this.db, id);
    if (!backfill) throw new NotFoundError(`backfill ${id} does not exist`, 'backfill_not_found');
    if (backfill.status === 'queued' || backfill.status === 'running' || backfill.status === 'waiting') {
      await query(this.db, "UPDATE backfills SET status = 'cancelled', finished_at = now(), updated_at = now() WHERE id = $1", [id]);
      const job = backfill.job_id ? await this.queues.backfill.getJob(backfill.job_id) : undefined;
      if (job && (await job.getState()) !== 'active') await job.remove().catch(() => undefined);
    }
    return (await findBackfill(this.db, id)) as BackfillRow;
  }

  /** Proves a connection's credentials with the connector's cheapest authenticated call. */
  async testConnection(connectionId: string): Promise<{ ok: boolean; message: string }> {
    const connection = await loadConnection(this.db, this.secretKey, connectionId, { validate: false });
    try {
      const config = connection.connector.configSchema.parse(connection.config);
      // One call: a budget of its own, seeded with the last success so an ambiguous 403 is judged right.
      const quotaSpec = connection.connector.http(config).quota;
      const quota = quotaSpec ? new MemoryQuotaBudget(quotaSpec, { lastSuccessAt: connection.row.last_success_at }) : undefined;
      await connection.connector.check(createConnectorContext(connection.connector, config, { retries: 1, maxRetryAfterMs: 5_000, logger: this.logger, quota }));
      return { ok: true, message: `${connection.connector.name} accepted the credentials` };
    } catch (error) {
      if (error instanceof ConnectorError || error instanceof Error) return { ok: false, message: error.message };
      throw error;
    }
  }
}
