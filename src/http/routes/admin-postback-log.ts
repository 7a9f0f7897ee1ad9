import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Conditions } from '../../db/conditions';
import { query, queryOne } from '../../db/sql';
import { reasonGuide } from '../../explain/reason-guide';
import { settledMessage } from '../../pipeline/outcomes';
import { KEPT_ATTEMPT_FROM, reregisterAttempts, type KeptAttempt } from '../../pipeline/reregister';
import { SOURCES } from '../../pipeline/types';
import { NotFoundError, TallyError } from '../../util/errors';
import type { AppContext } from '../context';
import { encodeCursor, errorBody, isoDateTime, limit, readCursor, uuid } from '../schemas';

const logQuery = z.object({
  outcome: z.enum(['accepted', 'duplicate', 'updated', 'rejected']).optional(),
  reason: z.string().max(60).optional(),
  source: z.enum(SOURCES).optional(),
  click_id: z.string().max(64).optional(),
  txid: z.string().max(255).optional(),
  network_id: uuid.optional().describe("attempts for this network's clicks, or pulled by a connection of it"),
  connection_id: uuid.optional(),
  from: isoDateTime.optional().describe('received_at >= from'),
  to: isoDateTime.optional().describe('received_at < to'),
  limit: limit(1000, 100),
  cursor: z.string().max(40).optional(),
});

const logItem = z.object({
  id: z.string(), received_at: z.string(), last_seen_at: z.string(),
  times_seen: z.number().describe('1 for an attempt seen once; a pulled record rejected again and again is logged once and counted'), source: z.string(), outcome: z.string(),
  reason: z.string().nullable(), message: z.string().nullable(), click_id: z.string().nullable(), txid: z.string().nullable(), type: z.string().nullable(),
  conversion_id: z.string().nullable(), connection_id: z.string().nullable(), upload_id: z.string().nullable(), upload_line: z.number().nullable(),
  network_id: z.string().nullable(), client_ip: z.string().nullable().describe('address the attempt came from'), warnings: z.array(z.string()).nullable(), request: z.unknown(),
  rematch_of: z.string().nullable().describe('the attempt this one registers again'),
  registered_again_as: z.string().nullable().describe('the attempt that registered this one again, if any'),
});

const guideOut = z.object({ title: z.string(), fix: z.string() }).nullable();
const outcomeOut = z.object({ status: z.string(), reason: z.string().nullable(), message: z.string().nullable(), conversion_id: z.string().nullable() });

interface LogRow {
  id: string; received_at: Date; last_seen_at: Date; times_seen: number; source: string; outcome: string; reason: string | null; message: string | null;
  click_id: string | null; txid: string | null; type: string | null; conversion_id: string | null; connection_id: string | null; upload_id: string | null;
  upload_line: number | null; network_id: string | null; client_ip: string | null; warnings: string[] | null; request: unknown;
  rematch_of: string | null; registered_again_as: string | null; has_fields: boolean;
}

const LOG_SELECT = `SELECT l.id::text AS id, l.received_at, l.last_seen_at, l.times_seen, l.source, l.outcome, l.reason, l.message, l.click_id, l.txid, l.type,
                           l.conversion_id::text AS conversion_id, l.connection_id, l.upload_id, l.upload_line, l.network_id, host(l.client_ip) AS client_ip,
                           l.warnings, l.request, l.rematch_of::text AS rematch_of, l.fields IS NOT NULL AS has_fields,
                           (SELECT r.id::text FROM registration_log r WHERE r.rematch_of = l.id) AS registered_again_as
                      FROM registration_log l`;

function logView(row: LogRow) {
  const { has_fields: _hasFields, ...rest } = row;
  return { ...rest, received_at: row.received_at.toISOString(), last_seen_at: row.last_seen_at.toISOString(), message: row.message ?? settledMessage(row.reason) };
}

/** Why an attempt cannot be registered again, or undefined when it can. */
function registerAgainRefusal(row: LogRow): TallyError | undefined {
  if (row.registered_again_as !== null) {
    return new TallyError(`attempt ${row.id} was already registered again as attempt ${row.registered_again_as}; register that one again if its cause is fixed now`, 'already_registered_again', 409);
  }
  if (row.outcome !== 'rejected') return new TallyError(`attempt ${row.id} was ${row.outcome}, not rejected: there is nothing to register again`, 'not_rejected', 409);
  const guide = reasonGuide(row.reason);
  if (!guide?.fixedBySettings || !row.has_fields) {
    return new TallyError(`attempt ${row.id} was rejected for the request itself (${row.reason ?? 'unknown'}): registering it again would reject it again; the sender must fix it. ${guide?.fix ?? ''}`.trim(), 'not_fixable_here', 409);
  }
  return undefined;
}

const attemptId = z.object({ id: z.string().max(20) });

async function findAttempt(ctx: AppContext, id: string): Promise<LogRow> {
  const row = /^\d{1,19}$/.test(id) ? await queryOne<LogRow>(ctx.db, `${LOG_SELECT} WHERE l.id = $1::bigint`, [id]) : undefined;
  if (!row) throw new NotFoundError(`attempt ${id.slice(0, 20)} is not in the postback log (it may have been removed by retention)`, 'attempt_not_found');
  return row;
}

/** The postback (registration) log: every attempt, one attempt in detail, and registering a fixed one again. */
export async function postbackLogRoutes(appInstance: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const app = appInstance.withTypeProvider<ZodTypeProvider>();
  const tags = ['conversions'];

  app.get(
    '/api/v1/postback-log',
    {
      schema: {
        tags,
        summary: 'Every registration attempt from every route, newest first: why a postback did or did not register',
        querystring: logQuery,
        response: { 200: z.object({ items: z.array(logItem), next_cursor: z.string().nullable() }), 400: errorBody },
      },
    },
    async (request) => {
      const q = request.query;
      const where = new Conditions();
      const add = (sql: string, ...values: unknown[]) => where.add(sql, ...values);
      if (q.outcome !== undefined) add('l.outcome = $?', q.outcome);
      if (q.reason !== undefined) add('l.reason = $?', q.reason);
      if (q.source !== undefined) add('l.source = $?', q.source);
      if (q.click_id !== undefined) {
        // Settled attempts are indexed through their conversion, unsettled ones by click id.
        const clickId = q.click_id.toLowerCase();
        add('(l.conversion_id IN (SELECT id FROM conversions WHERE click_id = $?) OR (l.conversion_id IS NULL AND l.click_id = $?))', clickId, clickId);
      }
      if (q.txid !== undefined) add('l.txid = $?', q.txid);
      if (q.network_id !== undefined) add('(l.network_id = $? OR l.connection_id IN (SELECT id FROM connections WHERE network_id = $?))', q.network_id, q.network_id);
      if (q.connection_id !== undefined) add('l.connection_id = $?', q.connection_id);
      if (q.from !== undefined) add('l.received_at >= $?::timestamptz', q.from);
      if (q.to !== undefined) add('l.received_at < $?::timestamptz', q.to);
      const after = readCursor(q.cursor);
      if (after !== undefined) add('l.id < $?::bigint', after);
      const rows = await query<LogRow>(ctx.db, `${LOG_SELECT} ${where.where()} ORDER BY l.id DESC LIMIT ${where.param(q.limit + 1)}`, where.values);
      const page = rows.slice(0, q.limit);
      return { items: page.map(logView), next_cursor: rows.length > q.limit ? encodeCursor(page[page.length - 1]!.id) : null };
    },
  );

  app.get(
    '/api/v1/postback-log/:id',
    {
      schema: {
        tags,
        summary: 'One attempt: raw request, client IP, warnings, the reason in plain words and how to fix it, and whether it can be registered again',
        params: attemptId,
        response: {
          200: logItem.extend({
            guide: guideOut,
            can_register_again: z.boolean(),
            register_again_refusal: z.string().nullable().describe('why not, when can_register_again is false'),
          }),
          404: errorBody,
        },
      },
    },
    async (request) => {
      const row = await findAttempt(ctx, request.params.id);
      const refusal = registerAgainRefusal(row);
      const guide = reasonGuide(row.reason);
      return { ...logView(row), guide: guide && { title: guide.title, fix: guide.fix }, can_register_again: refusal === undefined, register_again_refusal: refusal?.message ?? null };
    },
  );

  app.post(
    '/api/v1/postback-log/:id/retry',
    {
      schema: {
        tags,
        summary:
          'Register a rejected attempt again after its cause was fixed (click imported, IP list, token, routes): with the fields and trust evidence kept at receipt, judged by the current settings; at most once per attempt',
        params: attemptId,
        response: { 200: z.object({ attempt_id: z.string(), outcome: outcomeOut, logged_as: z.string().nullable() }), 404: errorBody, 409: errorBody },
      },
    },
    async (request) => {
      const row = await findAttempt(ctx, request.params.id);
      const refusal = registerAgainRefusal(row);
      if (refusal) throw refusal;
      const kept = await queryOne<KeptAttempt>(ctx.db, `${KEPT_ATTEMPT_FROM} WHERE l.id = $1::bigint`, [row.id]);
      if (!kept) throw new NotFoundError(`attempt ${row.id} is not in the postback log any more`, 'attempt_not_found');
      const outcome = (await reregisterAttempts(ctx.registrar, [kept])).get(row.id);
      if (!outcome) throw new Error(`re-registering attempt ${row.id} returned no outcome`);
      // The unique rematch_of decides which call registered it again when two raced.
      const logged = await queryOne<{ id: string }>(ctx.db, 'SELECT id::text AS id FROM registration_log WHERE rematch_of = $1::bigint', [row.id]);
      return {
        attempt_id: row.id,
        outcome: { status: outcome.status, reason: outcome.reason, message: outcome.message, conversion_id: outcome.conversionId },
        logged_as: logged?.id ?? null,
      };
    },
  );
}
