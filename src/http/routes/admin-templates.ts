import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { findConnector } from '../../../connectors';
import { findNetwork, networkPostbackToken } from '../../catalog/network-store';
import { renderTemplates, type TemplateToken } from '../../catalog/postback-templates';
import { NotFoundError } from '../../util/errors';
import type { AppContext } from '../context';
import { errorBody, uuid } from '../schemas';
import { publicBase } from './admin-catalog';

const templateOut = z.object({
  id: z.string(),
  network: z.string(),
  platform: z.string(),
  connector: z.string().optional().describe('The Tally connector that pulls this network'),
  postback_url: z.string().nullable().describe("Tally's /cf/cv with the network's own macros; null where the network has no postback for publishers"),
  offer_url_parameter: z.string().describe('What to add to offer URLs so that the network keeps the click ID'),
  confidence: z.enum(['CONFIRMED', 'TRACKER-GUIDE', 'INFERRED']).describe("CONFIRMED: the network's documentation; TRACKER-GUIDE: a tracker's guide; INFERRED: check the network's macro list"),
  notes: z.string(),
});

/** Postback templates: the URL to paste into each network, and the sub-id for offer URLs. */
export async function templateRoutes(appInstance: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const app = appInstance.withTypeProvider<ZodTypeProvider>();

  app.get(
    '/api/v1/networks/templates',
    {
      schema: {
        tags: ['catalog'],
        summary: "Postback URL to paste into each network (its own macros) and the sub-id for offer URLs; with network_id, the URLs carry that network's postback_token",
        querystring: z.object({ network_id: uuid.optional().describe('A network whose postback_token the URLs should carry') }),
        response: { 200: z.array(templateOut), 400: errorBody, 404: errorBody },
      },
    },
    async (request, reply) => {
      const { network_id: networkId } = request.query;
      let token: TemplateToken = ctx.config.postbackToken === undefined ? { kind: 'none' } : { kind: 'global' };
      if (networkId !== undefined) {
        if (!(await findNetwork(ctx.db, networkId))) throw new NotFoundError(`network ${networkId} does not exist`, 'network_not_found');
        const own = await networkPostbackToken(ctx.db, ctx.config.secretKey, networkId);
        if (own !== null) token = { kind: 'network', token: own };
      }
      // The answer may carry a secret: never kept by a cache.
      reply.header('cache-control', 'no-store');
      return renderTemplates(publicBase(request, ctx.config.publicUrl), token, (id) => findConnector(id) !== undefined);
    },
  );
}
