import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createCampaign, createNetwork, createOffer, insertClicks } from '../../catalog/catalog';
import { formatMoney } from '../../money/decimal';
import { rematchUnknownClicks } from '../../pipeline/rematch';
import type { AppContext } from '../context';
import { currency, errorBody, ipOrCidr, isoDateTime, money, uuid } from '../schemas';

const networkBody = z.object({
  name: z.string().trim().min(1).max(200),
  currency: currency.optional(),
  duplicate_policy: z.enum(['ignore', 'accept', 'update']).optional(),
  postback_ips: z.array(ipOrCidr).max(100).optional(),
});

const networkOut = z.object({
  id: z.string(),
  name: z.string(),
  currency: z.string().nullable(),
  duplicate_policy: z.string(),
  postback_ips: z.array(z.string()).nullable(),
  created_at: z.string(),
});

const offerBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    url: z.string().url({ message: 'must be an absolute http(s) URL' }).refine((value) => /^https?:\/\//i.test(value), { message: 'must start with http:// or https://' }),
    network_id: uuid.optional(),
    payout_mode: z.enum(['auto', 'manual']).default('auto'),
    payout: money.optional(),
    currency: currency.optional(),
  })
  .refine((offer) => offer.payout_mode === 'auto' || offer.payout !== undefined, { message: 'payout is required when payout_mode is "manual"', path: ['payout'] });

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

/** Absolute base URL for links handed back to operators (PUBLIC_URL, else the request's own). */
export function publicBase(request: FastifyRequest, configured: string | undefined): string {
  if (configured) return configured.replace(/\/+$/, '');
  return `${request.protocol}://${request.host}`;
}

/** Networks, offers, campaigns and click import. */
export async function catalogRoutes(appInstance: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const app = appInstance.withTypeProvider<ZodTypeProvider>();
  const tags = ['catalog'];

  app.post('/api/v1/networks', { schema: { tags, summary: 'Create a network', body: networkBody, response: { 201: networkOut, 400: errorBody } } }, async (request, reply) => {
    const row = await createNetwork(ctx.db, {
      name: request.body.name,
      currency: request.body.currency ?? null,
      duplicate_policy: request.body.duplicate_policy ?? 'ignore',
      postback_ips: request.body.postback_ips ?? null,
    });
    return reply.status(201).send({ ...row, created_at: row.created_at.toISOString() });
  });

  app.post('/api/v1/offers', { schema: { tags, summary: 'Create an offer', body: offerBody, response: { 201: offerOut, 400: errorBody, 404: errorBody } } }, async (request, reply) => {
    const row = await createOffer(ctx.db, { ...request.body, network_id: request.body.network_id ?? null, payout: request.body.payout ?? null, currency: request.body.currency ?? null });
    return reply.status(201).send({ ...row, payout: formatMoney(row.payout), created_at: row.created_at.toISOString() });
  });

  app.post('/api/v1/campaigns', { schema: { tags, summary: 'Create a campaign', body: campaignBody, response: { 201: campaignOut, 400: errorBody, 404: errorBody } } }, async (request, reply) => {
    const row = await createCampaign(ctx.db, request.body);
    const clickUrl = `${publicBase(request, ctx.config.publicUrl)}/cf/click/${row.id}`;
    return reply.status(201).send({ ...row, click_url: clickUrl, created_at: row.created_at.toISOString() });
  });

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
