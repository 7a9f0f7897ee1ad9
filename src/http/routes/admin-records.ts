import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Conditions } from '../../db/conditions';
import { query } from '../../db/sql';
import { formatMoney } from '../../money/decimal';
import { settledMessage } from '../../pipeline/outcomes';
import { SOURCES } from '../../pipeline/types';
import { InputError } from '../../util/errors';
import type { AppContext } from '../context';
import { decodeCursor, encodeCursor, errorBody, isoDateTime, limit } from '../schemas';

interface ConversionRow {
  id: string;
  click_id: string;
  txid: string | null;
  type: string;
  status: string;
  network_status: string | null;
  payout: string;
  currency: string;
  reported_payout: string | null;
  reported_currency: string | null;
  display_payout: string | null;
  display_currency: string;
  fx_rate: string | null;
  occurred_at: Date;
  visit_at: Date;
  received_at: Date;
  updated_at: Date;
  revision: number;
  source: string;
  connection_id: string | null;
  campaign_id: string;
  offer_id: string;
  params: Record<string, string>;
}

/** A conversion as the API shows it: money as decimal strings, times ISO 8601 UTC. */
export function conversionView(row: ConversionRow) {
  return {
    id: row.id,
    click_id: row.click_id,
    txid: row.txid,
    type: row.type,
    status: row.status,
    network_status: row.network_status,
    payout: formatMoney(row.payout) as string,
    currency: row.currency,
    reported_payout: formatMoney(row.reported_payout),
    reported_currency: row.reported_currency,
    display_payout: formatMoney(row.display_payout),
    display_currency: row.display_currency,
    fx_rate: row.fx_rate === null ? null : row.fx_rate.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, ''),
    occurred_at: row.occurred_at.toISOString(),
    visit_at: row.visit_at.toISOString(),
    received_at: row.received_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    revision: row.revision,
    source: row.source,
    connection_id: row.connection_id,
    campaign_id: row.campaign_id,
    offer_id: row.offer_id,
    params: row.params,
  };
}

const conversionOut = z.object({
  id: z.string(), click_id: z.string(), txid: z.string().nullable(), type: z.string(), status: z.string(),
  network_status: z.string().nullable().describe('the status exactly as the network or feed reported it (pulled conversions)'),
  payout: z.string(), currency: z.string(), reported_payout: z.string().nullable(), reported_currency: z.string().nullable(),
  display_payout: z.string().nullable(), display_currency: z.string(), fx_rate: z.string().nullable(),
  occurred_at: z.string(), visit_at: z.string(), received_at: z.string(), updated_at: z.string(), revision: z.number(),
  source: z.string(), connection_id: z.string().nullable(), campaign_id: z.string(), offer_id: z.string(), params: z.record(z.string(), z.string()),
});

const conversionsQuery = z.object({
  click_id: z.string().max(64).optional(),
  txid: z.string().max(255).optional(),
  source: z.enum(SOURCES).optional(),
  status: z.enum(['approved', 'pending', 'declined']).optional(),
  type: z.string().max(40).optional(),
  from: isoDateTime.optional().describe('occurred_at >= from'),
  to: isoDateTime.optional().describe('occurred_at < to'),
  limit: limit(1000, 100),
  cursor: z.string().max(40).optional(),
});

const logQuery = z.object({
  outcome: z.enum(['accepted', 'duplicate', 'updated', 'rejected']).optional(),
  reason: z.string().max(60).optional(),
  source: z.enum(SOURCES).optional(),
  click_id: z.string().max(64).optional(),
  limit: limit(1000, 100),
  cursor: z.string().max(40).optional(),
});

const logItem = z.object({
  id: z.string(), received_at: z.string(), source: z.string(), outcome: z.string(), reason: z.string().nullable(), message: z.string().nullable(),
  click_id: z.string().nullable(), txid: z.string().nullable(), type: z.string().nullable(), conversion_id: z.string().nullable(),
  connection_id: z.string().nullable(), upload_id: z.string().nullable(), upload_line: z.number().nullable(),
  warnings: z.array(z.string()).nullable(), request: z.unknown(),
  client_ip: z.string().nullable().describe('address the attempt came from'),
  network_id: z.string().nullable(),
  times_seen: z.number().describe('1 for an attempt seen once; a pulled record rejected again and again is logged once and counted'),
  last_seen_at: z.string(),
});

function cursorOf(value: string | undefined): string | undefined {
  try {
    return decodeCursor(value);
  } catch {
    throw new InputError('cursor is not valid: pass the next_cursor of the previous page unchanged', 'invalid_cursor');
  }
}

/** Conversions and the postback (registration) log. */
export async function recordRoutes(appInstance: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const app = appInstance.withTypeProvider<ZodTypeProvider>();

  app.get(
    '/api/v1/conversions',
    { schema: { tags: ['conversions'], summary: 'List conversions, newest first', querystring: conversionsQuery, response: { 200: z.object({ items: z.array(conversionOut), next_cursor: z.string().nullable() }), 400: errorBody } } },
    async (request) => {
      const q = request.query;
      const where = new Conditions();
      const add = (sql: string, ...values: unknown[]) => where.add(sql, ...values);
      if (q.click_id !== undefined) add('c.click_id = $?', q.click_id.toLowerCase());
      if (q.txid !== undefined) add('c.txid = $?', q.txid);
      if (q.source !== undefined) add('c.source = $?', q.source);
      if (q.status !== undefined) add('c.status = $?', q.status);
      if (q.type !== undefined) add('c.type = $?', q.type.toLowerCase());
      if (q.from !== undefined) add('c.occurred_at >= $?::timestamptz', q.from);
      if (q.to !== undefined) add('c.occurred_at < $?::timestamptz', q.to);
      const after = cursorOf(q.cursor);
      if (after !== undefined) add('c.id < $?::bigint', after);
      const rows = await query<ConversionRow>(
        ctx.db,
        `SELECT c.id::text AS id, c.* FROM conversions c ${where.where()} ORDER BY c.id DESC LIMIT ${where.param(q.limit + 1)}`,
        where.values,
      );
      const page = rows.slice(0, q.limit);
      return { items: page.map(conversionView), next_cursor: rows.length > q.limit ? encodeCursor(page[page.length - 1]!.id) : null };
    },
  );

  app.get(
    '/api/v1/postback-log',
    {
      schema: {
        tags: ['conversions'],
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
      const after = cursorOf(q.cursor);
      if (after !== undefined) add('l.id < $?::bigint', after);
      const rows = await query<{
        id: string; received_at: Date; source: string; outcome: string; reason: string | null; message: string | null; click_id: string | null;
        txid: string | null; type: string | null; conversion_id: string | null; connection_id: string | null; upload_id: string | null;
        upload_line: number | null; warnings: string[] | null; request: unknown; client_ip: string | null; network_id: string | null;
        times_seen: number; last_seen_at: Date;
      }>(
        ctx.db,
        `SELECT l.id::text AS id, l.received_at, l.source, l.outcome, l.reason, l.message, l.click_id, l.txid, l.type, l.conversion_id::text AS conversion_id,
                l.connection_id, l.upload_id, l.upload_line, l.warnings, l.request, host(l.client_ip) AS client_ip, l.network_id,
                l.times_seen, l.last_seen_at
           FROM registration_log l ${where.where()} ORDER BY l.id DESC LIMIT ${where.param(q.limit + 1)}`,
        where.values,
      );
      const page = rows.slice(0, q.limit);
      return {
        items: page.map((row) => ({
          ...row,
          received_at: row.received_at.toISOString(),
          last_seen_at: row.last_seen_at.toISOString(),
          message: row.message ?? settledMessage(row.reason),
        })),
        next_cursor: rows.length > q.limit ? encodeCursor(page[page.length - 1]!.id) : null,
      };
    },
  );
}
