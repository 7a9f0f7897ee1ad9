import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { findConnectionRow } from '../../connections/connection-store';
import { query } from '../../db/sql';
import { formatMoney } from '../../money/decimal';
import type { AppContext } from '../context';
import { day, errorBody, limit } from '../schemas';

const stats = { fetched: z.number(), inserted: z.number(), updated: z.number(), unchanged: z.number(), unmatched: z.number(), rejected: z.number() };

const revenueDayOut = z.object({
  day: z.string(), state: z.enum(['estimated', 'final']), amount: z.string(), unmatched_amount: z.string(), currency: z.string().nullable(),
  sub_ids: z.number(), unmatched_sub_ids: z.number(), network_status: z.string().nullable(), pulls: z.number(),
  last_pulled_at: z.string().nullable(), final_at: z.string().nullable(),
});

const pullRunOut = z.object({
  id: z.string(), trigger: z.string(), status: z.string(), window_from: z.string(), window_to: z.string(), ...stats, error: z.string().nullable(),
  revenue: z.array(z.record(z.string(), z.unknown())).nullable(), started_at: z.string(), finished_at: z.string().nullable(),
});

interface RevenueDayRow {
  day: string; state: 'estimated' | 'final'; amount: string; unmatched_amount: string; currency: string | null; sub_ids: number; unmatched_sub_ids: number;
  network_status: string | null; pulls: number; last_pulled_at: Date | null; final_at: Date | null;
}

interface PullRunRow {
  id: string; trigger: string; status: string; window_from: Date; window_to: Date; fetched: number; inserted: number; updated: number; unchanged: number;
  unmatched: number; rejected: number; error: string | null; revenue: Record<string, unknown>[] | null; started_at: Date; finished_at: Date | null;
}

/** A pull run's per-day revenue line with money formatted like every other amount of the API. */
function revenueLine(line: Record<string, unknown>): Record<string, unknown> {
  return { ...line, amount: formatMoney(String(line.amount ?? '0')), unmatched_amount: formatMoney(String(line.unmatched_amount ?? '0')) };
}

/** What a connection's pulls did: its runs (with revenue per day for revenue feeds) and a revenue feed's days. */
export async function revenueRoutes(appInstance: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const app = appInstance.withTypeProvider<ZodTypeProvider>();
  const tags = ['pulls'];
  const notFound = (id: string) => ({ error: { code: 'connection_not_found', message: `connection ${id} does not exist` } });

  app.get(
    '/api/v1/connections/:id/pull-runs',
    {
      schema: {
        tags,
        summary: "A connection's latest pull runs, newest first; for revenue feeds `revenue` lists each pulled day with its total and the revenue that matched no click",
        params: z.object({ id: z.string() }),
        querystring: z.object({ limit: limit(200, 20) }),
        response: { 200: z.object({ items: z.array(pullRunOut) }), 404: errorBody },
      },
    },
    async (request, reply) => {
      if (!(await findConnectionRow(ctx.db, request.params.id))) return reply.status(404).send(notFound(request.params.id));
      const rows = await query<PullRunRow>(ctx.db, 'SELECT id::text AS id, trigger, status, window_from, window_to, fetched, inserted, updated, unchanged, unmatched, rejected, error, revenue, started_at, finished_at FROM pull_runs WHERE connection_id = $1 ORDER BY pull_runs.id DESC LIMIT $2', [request.params.id, request.query.limit]);
      return {
        items: rows.map((row) => ({
          id: row.id, trigger: row.trigger, status: row.status, window_from: row.window_from.toISOString(), window_to: row.window_to.toISOString(),
          fetched: row.fetched, inserted: row.inserted, updated: row.updated, unchanged: row.unchanged, unmatched: row.unmatched, rejected: row.rejected,
          error: row.error, revenue: row.revenue ? row.revenue.map(revenueLine) : null, started_at: row.started_at.toISOString(), finished_at: row.finished_at?.toISOString() ?? null,
        })),
      };
    },
  );

  app.get(
    '/api/v1/connections/:id/revenue-days',
    {
      schema: {
        tags,
        summary: "A revenue feed's days (the feed's own zone), newest first: estimated or final, the latest total as the feed reported it, and what of it matched no click",
        params: z.object({ id: z.string() }),
        querystring: z.object({ from: day.optional(), to: day.optional(), limit: limit(400, 60) }),
        response: { 200: z.object({ items: z.array(revenueDayOut) }), 404: errorBody },
      },
    },
    async (request, reply) => {
      if (!(await findConnectionRow(ctx.db, request.params.id))) return reply.status(404).send(notFound(request.params.id));
      const { from, to } = request.query;
      const rows = await query<RevenueDayRow>(ctx.db, `SELECT day::text AS day, state, amount::text AS amount, unmatched_amount::text AS unmatched_amount, currency, sub_ids, unmatched_sub_ids,
                network_status, pulls, last_pulled_at, final_at
           FROM revenue_days WHERE connection_id = $1 AND ($2::date IS NULL OR day >= $2::date) AND ($3::date IS NULL OR day <= $3::date)
          ORDER BY day DESC LIMIT $4`,
        [request.params.id, from ?? null, to ?? null, request.query.limit],
      );
      return {
        items: rows.map((row) => ({
          ...row, amount: formatMoney(row.amount) ?? '0.00', unmatched_amount: formatMoney(row.unmatched_amount) ?? '0.00',
          last_pulled_at: row.last_pulled_at?.toISOString() ?? null, final_at: row.final_at?.toISOString() ?? null,
        })),
      };
    },
  );
}
