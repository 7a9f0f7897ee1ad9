import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createNetwork, findNetwork, listNetworks, networkView, updateNetwork, type NetworkChanges } from '../../catalog/network-store';
import { tokenDigest } from '../../trust/token-digest';
import { TRACKING_ROUTES } from '../../trust/trust-policy';
import { NotFoundError } from '../../util/errors';
import type { AppContext } from '../context';
import { currency, errorBody, ipOrCidr, isoDateTime } from '../schemas';

const token = z
  .string()
  .min(16, { message: 'must be at least 16 characters (generate one with `openssl rand -hex 16`)' })
  .max(200)
  .regex(/^[A-Za-z0-9._~-]+$/, { message: 'may hold only letters, digits and . _ ~ - (it is pasted into URLs as is)' });

const networkFields = {
  currency: currency.nullable().optional(),
  duplicate_policy: z.enum(['ignore', 'accept', 'update']).optional(),
  postback_ips: z.array(ipOrCidr).max(100).nullable().optional().describe('S2S postbacks must come from these addresses/CIDRs; null removes the list'),
  postback_token: token.nullable().optional().describe('S2S postbacks for this network must carry token=<it>; null removes it. Never shown again (see /api/v1/networks/templates)'),
  accepted_routes: z
    .array(z.enum(TRACKING_ROUTES))
    .max(3)
    .nullable()
    .optional()
    .describe('Routes that may register conversions (postback, pixel, script); null: all three without token or IP list, else postback only'),
};

const networkBody = z.object({ name: z.string().trim().min(1).max(200), ...networkFields });
const networkPatch = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    ...networkFields,
    previous_token_expires_at: isoDateTime.optional().describe('When rotating postback_token: until when the old one stays valid (default: in 7 days)'),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'send at least one field to change' });

export const networkOut = z.object({
  id: z.string(),
  name: z.string(),
  currency: z.string().nullable(),
  duplicate_policy: z.string(),
  postback_ips: z.array(z.string()).nullable(),
  postback_token: z.string().nullable().describe('"[redacted]" when set'),
  has_postback_token: z.boolean(),
  previous_token_expires_at: z.string().nullable(),
  accepted_routes: z.array(z.string()).describe('in effect'),
  accepted_routes_default: z.boolean(),
  forgeable: z.boolean().describe('true when browser routes may register conversions: anyone who knows a click ID can'),
  warnings: z.array(z.string()),
  created_at: z.string(),
  updated_at: z.string(),
});

/** Networks: who reports conversions, and what Tally trusts from them. */
export async function networkRoutes(appInstance: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const app = appInstance.withTypeProvider<ZodTypeProvider>();
  const tags = ['catalog'];
  const key = ctx.config.secretKey;
  const globalDigest = ctx.config.postbackToken === undefined ? null : tokenDigest(key, ctx.config.postbackToken);
  const view = (row: Parameters<typeof networkView>[0]) => networkView(row, globalDigest);

  app.post('/api/v1/networks', { schema: { tags, summary: 'Create a network', body: networkBody, response: { 201: networkOut, 400: errorBody } } }, async (request, reply) => {
    const row = await createNetwork(ctx.db, key, request.body as NetworkChanges & { name: string });
    return reply.status(201).send(view(row));
  });

  app.patch(
    '/api/v1/networks/:id',
    { schema: { tags, summary: 'Change a network (a new postback_token rotates: the old one stays valid until previous_token_expires_at)', params: z.object({ id: z.string().max(100) }), body: networkPatch, response: { 200: networkOut, 400: errorBody, 404: errorBody } } },
    async (request) => {
      const { previous_token_expires_at: graceUntil, ...changes } = request.body;
      const row = await updateNetwork(ctx.db, key, request.params.id, {
        ...(changes as NetworkChanges),
        ...(graceUntil !== undefined ? { previous_token_expires_at: new Date(graceUntil) } : {}),
      });
      return view(row);
    },
  );

  app.get('/api/v1/networks/:id', { schema: { tags, summary: 'A network', params: z.object({ id: z.string().max(100) }), response: { 200: networkOut, 404: errorBody } } }, async (request) => {
    const row = await findNetwork(ctx.db, request.params.id);
    if (!row) throw new NotFoundError(`network ${request.params.id.slice(0, 80)} does not exist`, 'network_not_found');
    return view(row);
  });

  app.get('/api/v1/networks', { schema: { tags, summary: 'All networks', response: { 200: z.object({ items: z.array(networkOut) }) } } }, async () => {
    return { items: (await listNetworks(ctx.db)).map(view) };
  });
}

