import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { explainClickId, explainUrl } from '../../explain/explain';
import { TRACKING_ROUTES } from '../../trust/trust-policy';
import type { AppContext } from '../context';
import { errorBody } from '../schemas';
import { publicBase } from './admin-catalog';

/** Longest postback URL to explain: /cf/cv itself refuses longer ones (414). Not imported from app.ts, which imports this file. */
const MAX_URL_LENGTH = 8 * 1024;

const explainBody = z
  .object({
    url: z.string().max(MAX_URL_LENGTH).optional().describe('the postback URL the network calls (absolute, /cf/cv?…, or only the query)'),
    click_id: z.string().max(64).optional().describe('a click ID, to see where it leads and what happened to it'),
    route: z.enum(TRACKING_ROUTES).optional().describe('how the URL arrives: postback (default; src=script in the URL means script) or pixel (an <img> on a thank-you page)'),
    client_ip: z.union([z.ipv4(), z.ipv6()]).optional().describe("the sending server's address, to check the network's postback IP list"),
  })
  .refine((body) => (body.url === undefined) !== (body.click_id === undefined), { message: 'send either url or click_id' });

const stepOut = z.object({
  key: z.string(), title: z.string(), status: z.enum(['ok', 'fail', 'warn', 'info', 'skip']), summary: z.string(),
  details: z.array(z.object({ label: z.string(), value: z.string() })),
});

const explanationOut = z.object({
  kind: z.enum(['url', 'click_id']),
  route: z.string().nullable(),
  click_id: z.string().nullable(),
  txid: z.string().nullable(),
  steps: z.array(stepOut),
  verdict: z.object({ status: z.string(), reason: z.string().nullable(), message: z.string().nullable(), http_status: z.number(), conversion_id: z.string().nullable() }).nullable(),
  guide: z.object({ title: z.string(), fix: z.string() }).nullable(),
  history: z.object({
    attempts: z.array(z.object({
      id: z.string(), received_at: z.string(), source: z.string(), outcome: z.string(), reason: z.string().nullable(), txid: z.string().nullable(),
      type: z.string().nullable(), conversion_id: z.string().nullable(), registered_again_as: z.string().nullable(),
    })),
    conversions: z.array(z.object({
      id: z.string(), txid: z.string().nullable(), type: z.string(), status: z.string(), payout: z.string(), currency: z.string(), occurred_at: z.string(), source: z.string(),
    })),
  }),
});

/** "Why didn't it count?": what Tally did or would do with a postback URL or a click ID, writing nothing. */
export async function explainRoutes(appInstance: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const app = appInstance.withTypeProvider<ZodTypeProvider>();
  app.post(
    '/api/v1/explain',
    {
      schema: {
        tags: ['conversions'],
        summary:
          'Explain a postback URL (what Tally would do with it now, step by step: route, fields, click, trust, payout, duplicates, answer) or a click ID (where it leads, what happened to it). Writes nothing: the registration is a dry run that rolls back',
        body: explainBody,
        response: { 200: explanationOut, 400: errorBody },
      },
    },
    async (request) => {
      const deps = {
        db: ctx.db,
        registrar: ctx.registrar,
        secretKey: ctx.config.secretKey,
        defaultCurrency: ctx.config.defaultCurrency,
        displayCurrency: ctx.config.displayCurrency,
        postbackToken: ctx.config.postbackToken,
        base: publicBase(request, ctx.config.publicUrl),
      };
      const body = request.body;
      if (body.click_id !== undefined) return explainClickId(deps, body.click_id);
      return explainUrl(deps, { url: body.url as string, ...(body.route ? { route: body.route } : {}), ...(body.client_ip ? { clientIp: body.client_ip } : {}) });
    },
  );
}
