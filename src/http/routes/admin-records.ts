import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Conditions } from '../../db/conditions';
import type { Db } from '../../db/database';
import { query } from '../../db/sql';
import { formatMoney } from '../../money/decimal';
import { SOURCES } from '../../pipeline/types';
import { csvLine } from '../../util/csv-cells';
import type { AppContext } from '../context';
import { encodeCursor, errorBody, isoDateTime, limit, readCursor, uuid } from '../schemas';

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
  priced_manually: boolean;
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
  network_id: string | null;
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
    priced_manually: row.priced_manually,
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
    network_id: row.network_id,
    params: row.params,
  };
}

const conversionOut = z.object({
  id: z.string(), click_id: z.string(), txid: z.string().nullable(), type: z.string(), status: z.string(),
  network_status: z.string().nullable().describe('the status exactly as the network or feed reported it (pulled conversions)'),
  payout: z.string(), currency: z.string(), reported_payout: z.string().nullable(), reported_currency: z.string().nullable(),
  priced_manually: z.boolean().describe('the payout was assigned by a manual-mode offer when the conversion was first registered; later reports never reprice it'),
  display_payout: z.string().nullable(), display_currency: z.string(), fx_rate: z.string().nullable(),
  occurred_at: z.string(), visit_at: z.string(), received_at: z.string(), updated_at: z.string(), revision: z.number(),
  source: z.string(), connection_id: z.string().nullable(), campaign_id: z.string(), offer_id: z.string(), network_id: z.string().nullable(),
  params: z.record(z.string(), z.string()),
});

const conversionFilters = z.object({
  click_id: z.string().max(64).optional(),
  txid: z.string().max(255).optional(),
  source: z.enum(SOURCES).optional(),
  status: z.enum(['approved', 'pending', 'declined']).optional(),
  type: z.string().max(40).optional(),
  campaign_id: uuid.optional(),
  offer_id: uuid.optional(),
  network_id: uuid.optional(),
  connection_id: uuid.optional(),
  from: isoDateTime.optional().describe('occurred_at >= from'),
  to: isoDateTime.optional().describe('occurred_at < to'),
});
type ConversionFilters = z.infer<typeof conversionFilters>;

const conversionsQuery = conversionFilters.extend({ limit: limit(1000, 100), cursor: z.string().max(40).optional() });

/** The WHERE clause of a conversion filter (on `c`), shared by the list and the export. */
function filterConditions(q: ConversionFilters): Conditions {
  const where = new Conditions();
  if (q.click_id !== undefined) where.add('c.click_id = $?', q.click_id.toLowerCase());
  if (q.txid !== undefined) where.add('c.txid = $?', q.txid);
  if (q.source !== undefined) where.add('c.source = $?', q.source);
  if (q.status !== undefined) where.add('c.status = $?', q.status);
  if (q.type !== undefined) where.add('c.type = $?', q.type.toLowerCase());
  if (q.campaign_id !== undefined) where.add('c.campaign_id = $?', q.campaign_id);
  if (q.offer_id !== undefined) where.add('c.offer_id = $?', q.offer_id);
  if (q.network_id !== undefined) where.add('c.network_id = $?', q.network_id);
  if (q.connection_id !== undefined) where.add('c.connection_id = $?', q.connection_id);
  if (q.from !== undefined) where.add('c.occurred_at >= $?::timestamptz', q.from);
  if (q.to !== undefined) where.add('c.occurred_at < $?::timestamptz', q.to);
  return where;
}

/** Rows read per round trip while exporting: memory stays bounded whatever the export's size. */
const EXPORT_PAGE = 1000;

const EXPORT_COLUMNS = [
  'id', 'occurred_at', 'visit_at', 'received_at', 'click_id', 'txid', 'type', 'status', 'network_status', 'payout', 'currency',
  'reported_payout', 'reported_currency', 'display_payout', 'display_currency', 'fx_rate', 'source', 'campaign_id', 'campaign',
  'offer_id', 'offer', 'network_id', 'network', 'connection_id', 'params',
] as const;

/** The filtered conversions as CSV lines, newest first, a page at a time. */
async function* exportLines(db: Db, q: ConversionFilters): AsyncGenerator<string> {
  yield csvLine(EXPORT_COLUMNS);
  let after: string | undefined;
  for (;;) {
    const where = filterConditions(q);
    if (after !== undefined) where.add('c.id < $?::bigint', after);
    const rows = await query<ConversionRow & { campaign: string | null; offer: string | null; network: string | null }>(
      db,
      `SELECT c.id::text AS id, c.*, ca.name AS campaign, o.name AS offer, n.name AS network
         FROM conversions c
         LEFT JOIN campaigns ca ON ca.id = c.campaign_id
         LEFT JOIN offers o ON o.id = c.offer_id
         LEFT JOIN networks n ON n.id = c.network_id
         ${where.where()} ORDER BY c.id DESC LIMIT ${where.param(EXPORT_PAGE)}`,
      where.values,
    );
    for (const row of rows) {
      const view = conversionView(row);
      yield csvLine(EXPORT_COLUMNS.map((column) => {
        if (column === 'campaign' || column === 'offer' || column === 'network') return row[column];
        if (column === 'params') return Object.keys(view.params).length > 0 ? JSON.stringify(view.params) : '';
        return view[column];
      }));
    }
    if (rows.length < EXPORT_PAGE) return;
    after = rows[rows.length - 1]!.id;
  }
}

/** Conversions: the filtered list with cursor paging, and the same filter as a CSV download. */
export async function recordRoutes(appInstance: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const app = appInstance.withTypeProvider<ZodTypeProvider>();

  app.get(
    '/api/v1/conversions',
    { schema: { tags: ['conversions'], summary: 'List conversions, newest first', querystring: conversionsQuery, response: { 200: z.object({ items: z.array(conversionOut), next_cursor: z.string().nullable() }), 400: errorBody } } },
    async (request) => {
      const q = request.query;
      const where = filterConditions(q);
      const after = readCursor(q.cursor);
      if (after !== undefined) where.add('c.id < $?::bigint', after);
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
    '/api/v1/conversions/export',
    {
      schema: {
        tags: ['conversions'],
        summary: 'The filtered conversions as CSV (newest first; names of campaign, offer and network included). Cells a spreadsheet would run as a formula start with an apostrophe',
        querystring: conversionFilters,
        produces: ['text/csv'],
        response: { 400: errorBody },
      },
    },
    async (request, reply) => {
      const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
      // A stream, not a typed body: the zod serializer stays out of it.
      return (reply as FastifyReply)
        .header('Content-Type', 'text/csv; charset=utf-8')
        .header('Content-Disposition', `attachment; filename="tally-conversions-${stamp}.csv"`)
        .header('Cache-Control', 'no-store')
        .send(Readable.from(exportLines(ctx.db, request.query)));
    },
  );
}
