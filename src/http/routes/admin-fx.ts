import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { query, transaction } from '../../db/sql';
import { isCurrencyCode } from '../../money/currency';
import type { AppContext } from '../context';
import { currency, day, errorBody } from '../schemas';

const rate = z.union([z.string(), z.number().int()]).transform((value, context) => {
  const text = String(value).trim();
  if (!/^\d{1,12}(\.\d{1,12})?$/.test(text) || Number(text) <= 0) {
    context.addIssue({ code: 'custom', message: `rate "${text.slice(0, 30)}" must be a positive decimal string such as "0.92"` });
    return z.NEVER;
  }
  return text;
});

/** POST /api/v1/fx-rates — daily rates; fills display amounts that were waiting for them. */
export async function fxRoutes(appInstance: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const app = appInstance.withTypeProvider<ZodTypeProvider>();
  app.post(
    '/api/v1/fx-rates',
    {
      schema: {
        tags: ['fx'],
        summary: 'Store exchange rates for a day: 1 base = rate units of each quote currency',
        body: z.object({
          date: day,
          base: currency,
          rates: z.record(z.string(), rate).refine((rates) => Object.keys(rates).length > 0 && Object.keys(rates).every((code) => isCurrencyCode(code.toUpperCase())), {
            message: 'rates must map ISO 4217 codes to decimal strings, e.g. {"EUR": "0.92"}',
          }),
        }),
        response: { 204: z.null(), 400: errorBody },
      },
    },
    async (request, reply) => {
      const { date, base, rates } = request.body;
      const entries = Object.entries(rates).map(([code, value]) => [code.toUpperCase(), value] as const).filter(([code]) => code !== base);
      await transaction(ctx.db, async (trx) => {
        await query(trx, `INSERT INTO fx_rates (rate_date, base, quote, rate)
           SELECT $1::date, $2, quote, rate FROM unnest($3::text[], $4::numeric[]) AS r(quote, rate)
           ON CONFLICT (base, quote, rate_date) DO UPDATE SET rate = EXCLUDED.rate, created_at = now()`,
          [date, base, entries.map(([code]) => code), entries.map(([, value]) => value)],
        );
        // Conversions registered before any usable rate existed get their display amount now;
        // amounts already computed keep the rate they were stored with.
        await query(trx, `UPDATE conversions c
              SET fx_rate = r.rate, display_payout = round(c.payout * r.rate, 6), updated_at = now()
             FROM (SELECT id, tally_fx_rate(currency, display_currency, (occurred_at AT TIME ZONE 'UTC')::date) AS rate
                     FROM conversions WHERE display_payout IS NULL AND occurred_at >= $1::date) r
            WHERE c.id = r.id AND r.rate IS NOT NULL`,
          [date],
        );
      });
      return reply.status(204).send(null);
    },
  );
}
