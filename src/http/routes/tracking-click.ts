import type { FastifyInstance } from 'fastify';
import { insertClicks } from '../../catalog/catalog';
import { newClickId } from '../../catalog/click-id';
import { query } from '../../db/sql';
import { cleanText } from '../../pipeline/characters';
import { storableAddress } from '../../util/ip-address';
import { isUuid } from '../../util/uuid';
import type { AppContext } from '../context';
import { clickCookie } from '../tracking-cookie';

const MAX_CLICK_PARAMS = 50;

/**
 * GET /cf/click/:campaignId — issues a click ID, stores the click with its query parameters, sets
 * the cf_click_id cookie on the tracking domain and redirects to the campaign's offer with the
 * tokens replaced.
 */
export async function clickRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  app.get<{ Params: { campaignId: string }; Querystring: Record<string, string | string[]> }>(
    '/cf/click/:campaignId',
    { schema: { hide: true } },
    async (request, reply) => {
      // null when a trusted proxy forwarded something that is not an address: the click is kept without it.
      const ip = storableAddress(request.ip);
      if (ctx.flood && !(await ctx.flood.allowClick(ip ?? request.ip))) {
        ctx.metrics.clicksLimited.inc();
        return reply.status(429).header('Retry-After', '60').send({ error: { code: 'rate_limited', message: `too many clicks from ${ip ?? 'this address'} in the last minute (CLICK_RATE_LIMIT_PER_MINUTE)` } });
      }
      const { campaignId } = request.params;
      if (!isUuid(campaignId)) {
        return reply.status(404).send({ error: { code: 'campaign_not_found', message: `campaign ${campaignId.slice(0, 80)} does not exist` } });
      }
      const [campaign] = await query<{ id: string; offer_id: string; url: string }>(ctx.db, 'SELECT c.id, c.offer_id, o.url FROM campaigns c JOIN offers o ON o.id = c.offer_id WHERE c.id = $1',
        [campaignId],
      );
      if (!campaign) {
        return reply.status(404).send({ error: { code: 'campaign_not_found', message: `campaign ${campaignId} does not exist` } });
      }
      const params: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.query).slice(0, MAX_CLICK_PARAMS)) {
        // Stored as jsonb: characters Postgres cannot store are replaced rather than failing the click.
        params[cleanText(name.slice(0, 64)).text] = cleanText(String(Array.isArray(value) ? value[0] : value).slice(0, 500)).text;
      }
      const clickId = newClickId();
      await insertClicks(ctx.db, [
        { click_id: clickId, campaign_id: campaign.id, params, ip, user_agent: cleanText(request.headers['user-agent']?.slice(0, 500) ?? '').text || null },
      ]);
      const target = fillOfferUrl(campaign.url, { cf_click_id: clickId, click_id: clickId, campaign_id: campaign.id, offer_id: campaign.offer_id });
      reply.header('Set-Cookie', clickCookie(clickId, request));
      reply.header('Cache-Control', 'no-store');
      return reply.redirect(target, 302);
    },
  );
}

/** Replaces {cf_click_id}, {click_id}, {campaign_id} and {offer_id}, URL-encoded. */
export function fillOfferUrl(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{(cf_click_id|click_id|campaign_id|offer_id)\}/g, (_, name: string) => encodeURIComponent(values[name] ?? ''));
}
