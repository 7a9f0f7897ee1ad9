import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { query } from '../../db/sql';
import { formatMoney } from '../../money/decimal';
import type { AppContext } from '../context';
import { day, errorBody, isoDateTime } from '../schemas';

const timeZone = z.string().refine(
  (value) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: value });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'must be an IANA time zone such as Europe/Berlin or UTC' },
);

const GROUPS = {
  day: { select: "to_char((basis AT TIME ZONE $1)::date, 'YYYY-MM-DD')", key: 'day' },
  campaign: { select: 'c.campaign_id::text', key: 'campaign_id' },
  offer: { select: 'c.offer_id::text', key: 'offer_id' },
  type: { select: 'c.type', key: 'type' },
  source: { select: 'c.source', key: 'source' },
  network: { select: 'c.network_id::text', key: 'network_id' },
} as const;
type GroupName = keyof typeof GROUPS;
const GROUP_NAMES = Object.keys(GROUPS) as GroupName[];

/** `day` or `day,source`: one or two groups, each once. */
const groupBy = z.string().transform((value, context): GroupName[] => {
  const names = value.split(',').map((part) => part.trim());
  const valid = names.length <= 2 && new Set(names).size === names.length && names.every((name) => (GROUP_NAMES as string[]).includes(name));
  if (!valid) {
    context.addIssue({ code: 'custom', message: `must be one of ${GROUP_NAMES.join(', ')}, or two of them separated by a comma (day,source)` });
    return z.NEVER;
  }
  return names as GroupName[];
});

/**
 * GET /api/v1/reports — conversions and revenue grouped by day, campaign, offer or type, by
 * conversion or visit time, in any IANA time zone. Only statuses approved and pending count;
 * only types flagged include_in_conversions / include_in_revenue count, refunds and chargebacks
 * subtract. Revenue is in the current display currency (stored display amounts where they are
 * in it, otherwise converted with the rate of the conversion's date).
 */
export async function reportRoutes(appInstance: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const app = appInstance.withTypeProvider<ZodTypeProvider>();
  app.get(
    '/api/v1/reports',
    {
      schema: {
        tags: ['reports'],
        summary: 'Conversions and revenue grouped by day, campaign, offer or type',
        querystring: z.object({
          group_by: groupBy.describe(`one of ${GROUP_NAMES.join(', ')}, or two separated by a comma (e.g. day,source)`),
          from: z.union([day, isoDateTime]).describe('YYYY-MM-DD (start of that day in tz) or an ISO date-time'),
          to: z.union([day, isoDateTime]).describe('YYYY-MM-DD (inclusive, to the end of that day in tz) or an ISO date-time (exclusive)'),
          tz: timeZone.default('UTC'),
          time_basis: z.enum(['conversion', 'visit']).default('conversion'),
        }),
        response: {
          200: z.object({
            currency: z.string(),
            rows: z.array(z.record(z.string(), z.union([z.string(), z.number()]))),
            unconverted_conversions: z.number().describe('conversions left out of revenue because no FX rate is known for their date'),
          }),
          400: errorBody,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const groups = q.group_by.map((name) => GROUPS[name]);
      const basis = q.time_basis === 'visit' ? 'c.visit_at' : 'c.occurred_at';
      const isDay = (value: string): boolean => /^\d{4}-\d{2}-\d{2}$/.test(value);
      const fromSql = isDay(q.from) ? `($2::date)::timestamp AT TIME ZONE $1` : '$2::timestamptz';
      const toSql = isDay(q.to) ? `(($3::date + 1))::timestamp AT TIME ZONE $1` : '$3::timestamptz';
      const display = ctx.config.displayCurrency;
      const rows = await query<{ key: string; key2: string | null; conversions: string; revenue: string; unconverted: string }>(
        ctx.db,
        `WITH scoped AS (
           SELECT c.*, ${basis} AS basis, coalesce(t.include_in_conversions, true) AS counts, coalesce(t.include_in_revenue, true) AS earns,
                  coalesce(t.sign, 1) AS sign,
                  CASE WHEN c.display_currency = $4 THEN c.display_payout
                       ELSE round(c.payout * tally_fx_rate(c.currency, $4, (c.occurred_at AT TIME ZONE 'UTC')::date), 6) END AS amount
             FROM conversions c LEFT JOIN conversion_types t ON t.name = c.type
            WHERE c.status IN ('approved', 'pending') AND ${basis} >= ${fromSql} AND ${basis} < ${toSql}
         )
         SELECT ${groups.map((group, index) => `${group.select.replace('basis', 'c.basis')} AS ${index === 0 ? 'key' : 'key2'}`).join(', ')},
                count(*) FILTER (WHERE c.counts)::text AS conversions,
                coalesce(sum(CASE WHEN NOT c.earns THEN 0 WHEN c.sign < 0 THEN -abs(c.amount) ELSE c.amount END), 0)::text AS revenue,
                count(*) FILTER (WHERE c.earns AND c.amount IS NULL)::text AS unconverted
           FROM scoped c
          GROUP BY ${groups.map((_, index) => index + 1).join(', ')} ORDER BY ${groups.map((_, index) => index + 1).join(', ')}`,
        [q.tz, q.from, q.to, display],
      );
      return {
        currency: display,
        rows: rows.map((row) => ({
          ...Object.fromEntries(groups.map((group, index) => [group.key, (index === 0 ? row.key : row.key2) ?? ''])),
          conversions: Number(row.conversions),
          revenue: formatMoney(row.revenue) as string,
        })),
        unconverted_conversions: rows.reduce((sum, row) => sum + Number(row.unconverted), 0),
      };
    },
  );
}
