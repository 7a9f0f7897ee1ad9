import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createCampaign, createOffer, insertClicks, updateCampaign, updateOffer, type OfferRow } from '../../catalog/catalog';
import { query, queryOne } from '../../db/sql';
import { NotFoundError } from '../../util/errors';
import { formatMoney } from '../../money/decimal';
import { rematchUnknownClicks } from '../../pipeline/rematch';
import type { AppContext } from '../context';
import { currency, errorBody, isoDateTime, money, uuid } from '../schemas';

const offerUrl = z.string().url({ message: 'must be an absolute http(s) URL' }).refine((value) => /^https?:\/\//i.test(value), { message: 'must start with http:// or https://' });

const offerBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    url: offerUrl,
    network_id: uuid.optional(),
    payout_mode: z.enum(['auto', 'manual']).default('auto'),
    payout: money.optional(),
    currency: currency.optional(),
  })
  .refine((offer) => offer.payout_mode === 'auto' || offer.payout !== undefined, { message: 'payout is required when payout_mode is "manual"', path: ['payout'] });

const offerPatch = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    url: offerUrl.optional(),
    network_id: uuid.nullable().optional(),
    payout_mode: z.enum(['auto', 'manual']).optional(),
    payout: money.nullable().optional(),
    currency: currency.nullable().optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'send at least one field to change' });

const offerOut = z.object({
  id: z.string(),
  name: z.string(),
  url: z.string(),
  network_id: z.string().nullable(),
  payout_mode: z.string(),
  payout: z.string().nullable(),
  currency: z.string().nullable(),
  created_at: z.string(),
});

const campaignBody = z.object({ name: z.string().trim().min(1).max(200), offer_id: uuid });
const campaignPatch = z
  .object({ name: z.string().trim().min(1).max(200).optional(), offer_id: uuid.optional() })
  .refine((body) => Object.keys(body).length > 0, { message: 'send at least one field to change' });
const campaignOut = z.object({ id: z.string(), name: z.string(), offer_id: z.string(), click_url: z.string(), created_at: z.string() });

const clicksBody = z.object({
  clicks: z
    .array(
      z.object({
        click_id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { message: 'must be 1-64 characters of letters, digits, "_" or "-"' }).optional(),
        campaign_id: uuid,
        visited_at: isoDateTime.optional(),
      }),
    )
    .min(1)
    .max(10_000),
});

const OFFER_SELECT = 'SELECT id, name, url, network_id, payout_mode, payout, currency, created_at FROM offers';

function offerView(row: OfferRow) {
  return { ...row, payout: formatMoney(row.payout), created_at: row.created_at.toISOString() };
}

/** Absolute base URL for links handed back to operators (PUBLIC_URL, else the request's own). */
export function publicBase(request: FastifyRequest, configured: string | undefined): string {
  if (configured) return configured.replace(/\/+$/, '');
  return `${request.protocol}://${request.host}`;
}

/** Networks, offers, campaigns and click import. */
export async function catalogRoutes(appInstance: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const app = appInstance.withTypeProvider<ZodTypeProvider>();
  const tags = ['catalog'];

  app.post('/api/v1/offers', { schema: { tags, summary: 'Create an offer', body: offerBody, response: { 201: offerOut, 400: errorBody, 404: errorBody } } }, async (request, reply) => {
    const row = await createOffer(ctx.db, { ...request.body, network_id: request.body.network_id ?? null, payout: request.body.payout ?? null, currency: request.body.currency ?? null });
    return reply.status(201).send(offerView(row));
  });

  app.patch(
    '/api/v1/offers/:id',
    {
      schema: {
        tags,
        summary: 'Change an offer; a new payout, currency or mode applies to conversions registered from now on (existing ones keep their price)',
        params: z.object({ id: z.string().max(100) }),
        body: offerPatch,
        response: { 200: offerOut, 400: errorBody, 404: errorBody },
      },
    },
    async (request) => offerView(await updateOffer(ctx.db, request.params.id, request.body)),
  );

  app.get('/api/v1/offers/:id', { schema: { tags, summary: 'An offer', params: z.object({ id: z.string().max(100) }), response: { 200: offerOut, 404: errorBody } } }, async (request) => {
    const row = /^[0-9a-f-]{36}$/i.test(request.params.id) ? await queryOne<OfferRow>(ctx.db, `${OFFER_SELECT} WHERE id = $1`, [request.params.id]) : undefined;
    if (!row) throw new NotFoundError(`offer ${request.params.id.slice(0, 80)} does not exist`, 'offer_not_found');
    return offerView(row);
  });

  app.get('/api/v1/offers', { schema: { tags, summary: 'All offers', response: { 200: z.object({ items: z.array(offerOut) }) } } }, async () => ({
    items: (await query<OfferRow>(ctx.db, `${OFFER_SELECT} ORDER BY created_at, id LIMIT 10000`)).map(offerView),
  }));

  app.get('/api/v1/campaigns', { schema: { tags, summary: 'All campaigns with their click URLs', response: { 200: z.object({ items: z.array(campaignOut) }) } } }, async (request) => {
    const rows = await query<{ id: string; name: string; offer_id: string; created_at: Date }>(ctx.db, 'SELECT id, name, offer_id, created_at FROM campaigns ORDER BY created_at, id LIMIT 10000');
    const base = publicBase(request, ctx.config.publicUrl);
    return { items: rows.map((row) => ({ ...row, click_url: `${base}/cf/click/${row.id}`, created_at: row.created_at.toISOString() })) };
  });

  app.post('/api/v1/campaigns', { schema: { tags, summary: 'Create a campaign', body: campaignBody, response: { 201: campaignOut, 400: errorBody, 404: errorBody } } }, async (request, reply) => {
    const row = await createCampaign(ctx.db, request.body);
    const clickUrl = `${publicBase(request, ctx.config.publicUrl)}/cf/click/${row.id}`;
    return reply.status(201).send({ ...row, click_url: clickUrl, created_at: row.created_at.toISOString() });
  });

  app.patch(
    '/api/v1/campaigns/:id',
    {
      schema: {
        tags,
        summary: 'Rename a campaign or send its future clicks to another offer (clicks already issued keep their offer)',
        params: z.object({ id: z.string().max(100) }),
        body: campaignPatch,
        response: { 200: campaignOut, 400: errorBody, 404: errorBody },
      },
    },
    async (request) => {
      const row = await updateCampaign(ctx.db, request.params.id, request.body);
      return { ...row, click_url: `${publicBase(request, ctx.config.publicUrl)}/cf/click/${row.id}`, created_at: row.created_at.toISOString() };
    },
  );

  app.post(
    '/api/v1/clicks',
    {
      schema: {
        tags,
        summary: 'Import clicks (e.g. from another tracker); re-matches conversions that arrived before their click',
        body: clicksBody,
        response: { 201: z.object({ click_ids: z.array(z.string()), rematched: z.number() }), 400: errorBody, 404: errorBody },
      },
    },
    async (request, reply) => {
      const ids = await insertClicks(
        ctx.db,
        request.body.clicks.map((click) => ({
          ...(click.click_id !== undefined ? { click_id: click.click_id } : {}),
          campaign_id: click.campaign_id,
          ...(click.visited_at !== undefined ? { visited_at: new Date(click.visited_at) } : {}),
        })),
      );
      const rematched = await rematchUnknownClicks(ctx.db, ctx.registrar, ids);
      return reply.status(201).send({ click_ids: ids, rematched: rematched.accepted });
    },
  );
}
