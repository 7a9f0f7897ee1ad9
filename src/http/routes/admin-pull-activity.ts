import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { backfillView, type BackfillRow } from '../../../jobs/backfill-job';
import { schedulerId } from '../../../jobs/queues';
import { Conditions } from '../../db/conditions';
import { query } from '../../db/sql';
import type { AppContext } from '../context';
import { errorBody, limit, uuid } from '../schemas';
import { backfillOut } from './admin-connections';

const runOut = z.object({
  id: z.string(), connection_id: z.string(), trigger: z.string(), status: z.string(), window_from: z.string(), window_to: z.string(),
  fetched: z.number(), inserted: z.number(), updated: z.number(), unchanged: z.number(), unmatched: z.number(), rejected: z.number(),
  error: z.string().nullable(), started_at: z.string(), finished_at: z.string().nullable(),
});

interface RunRow {
  id: string; connection_id: string; trigger: string; status: string; window_from: Date; window_to: Date; fetched: number; inserted: number;
  updated: number; unchanged: number; unmatched: number; rejected: number; error: string | null; started_at: Date; finished_at: Date | null;
}

/** What the pull workers did and will do: recent pull runs, backfills, and each connection's next scheduled pull. */
export async function pullActivityRoutes(appInstance: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const app = appInstance.withTypeProvider<ZodTypeProvider>();
  const tags = ['pulls'];

  app.get(
    '/api/v1/pull-runs',
    {
      schema: {
        tags,
        summary: 'Recent pull runs (scheduled, manual, backfill chunks) with what each fetched and stored, newest first',
        querystring: z.object({ connection_id: uuid.optional(), limit: limit(200, 20) }),
        response: { 200: z.object({ items: z.array(runOut) }), 400: errorBody },
      },
    },
    async (request) => {
      const where = new Conditions();
      if (request.query.connection_id !== undefined) where.add('r.connection_id = $?', request.query.connection_id);
      const rows = await query<RunRow>(
        ctx.db,
        `SELECT r.id::text AS id, r.connection_id, r.trigger, r.status, r.window_from, r.window_to, r.fetched, r.inserted, r.updated, r.unchanged,
                r.unmatched, r.rejected, r.error, r.started_at, r.finished_at
           FROM pull_runs r ${where.where()} ORDER BY r.started_at DESC, r.id DESC LIMIT ${where.param(request.query.limit)}`,
        where.values,
      );
      return {
        items: rows.map((row) => ({
          ...row,
          window_from: row.window_from.toISOString(),
          window_to: row.window_to.toISOString(),
          started_at: row.started_at.toISOString(),
          finished_at: row.finished_at?.toISOString() ?? null,
        })),
      };
    },
  );

  app.get(
    '/api/v1/backfills',
    {
      schema: {
        tags,
        summary: 'Backfills, newest first, with progress',
        querystring: z.object({ connection_id: uuid.optional(), limit: limit(200, 20) }),
        response: { 200: z.object({ items: z.array(backfillOut) }), 400: errorBody },
      },
    },
    async (request) => {
      const where = new Conditions();
      if (request.query.connection_id !== undefined) where.add('connection_id = $?', request.query.connection_id);
      const rows = await query<BackfillRow>(ctx.db, `SELECT * FROM backfills ${where.where()} ORDER BY created_at DESC LIMIT ${where.param(request.query.limit)}`, where.values);
      return { items: rows.map(backfillView) };
    },
  );

  app.get(
    '/api/v1/schedules',
    {
      schema: {
        tags,
        summary: "Each enabled connection's pull schedule and next run (empty when this process has no queues)",
        response: { 200: z.object({ queues: z.boolean(), items: z.array(z.object({ connection_id: z.string(), every_ms: z.number().nullable(), next_run_at: z.string().nullable() })) }) },
      },
    },
    async () => {
      if (!ctx.pulls) return { queues: false, items: [] };
      const schedulers = await ctx.pulls.queues.pull.getJobSchedulers(0, -1);
      const items = schedulers.flatMap((scheduler) => {
        const key = scheduler.key ?? scheduler.id ?? '';
        const connectionId = key.startsWith('pull:') ? key.slice('pull:'.length) : undefined;
        if (connectionId === undefined || schedulerId(connectionId) !== key) return [];
        return [{ connection_id: connectionId, every_ms: scheduler.every ?? null, next_run_at: scheduler.next ? new Date(scheduler.next).toISOString() : null }];
      });
      return { queues: true, items };
    },
  );
}
