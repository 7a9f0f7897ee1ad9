import { z } from 'zod';
import { defineConnector } from '../kit/define-connector';
import { inWindow, parseResponse } from '../kit/response';
import type { BodyError } from '../kit/errors';
import type { HttpResponse } from '../kit/http-client';
import { mapClickBankOrder } from './map';
import { clickBankOrderListSchema } from './schema';

const DEFAULT_BASE_URL = 'https://api.clickbank.com';
const DAY_MS = 86_400_000;

export const clickBankConfigSchema = z.object({
  api_key: z
    .string({ error: (issue) => (issue.input === undefined ? 'api_key is required: a ClickBank API key (API-…) with the Orders read permission' : 'api_key must be text') })
    .min(1, 'api_key must not be empty'),
  base_url: z.url({ protocol: /^https?$/, error: 'base_url must be an http(s) URL' }).optional().describe(`API host; defaults to ${DEFAULT_BASE_URL}`),
});
export type ClickBankConfig = z.infer<typeof clickBankConfigSchema>;

export const clickbankConnector = defineConnector<ClickBankConfig>({
  id: 'clickbank',
  name: 'ClickBank (Orders API)',
  documentationUrl: 'https://support.clickbank.com/en/articles/10535407-orders-api',
  configSchema: clickBankConfigSchema,
  secretFields: ['api_key'],
  // ClickBank's own docs state no limit; OpenClickBank's notes give 10 requests/s per IP and
  // 25,000 a day per account (shared by every app on the account), over which ClickBank answers 403.
  rateLimit: { requests: 10, intervalMs: 1000 },
  // No documented maximum; 30-day windows keep a request series (100 rows a page) short and resumable.
  maxWindowDays: 30,
  // Refunds and chargebacks (the refund window is 60 days) arrive as rows of their own, dated when
  // they happen; re-reading 60 days also catches rows ClickBank posts late, at 100 rows a request.
  defaultLookbackDays: 60,

  http: (config) => ({
    baseUrl: config.base_url ?? DEFAULT_BASE_URL,
    // The key itself is the header value, without a scheme
    // (https://support.clickbank.com/hc/en-us/articles/360040167052-ClickBank-API-Specifications).
    headers: { Authorization: config.api_key, Accept: 'application/json' },
    detectBodyError: clickBankBodyError,
  }),

  async *pull({ http }, window) {
    // Whole days, in a zone ClickBank does not state (its reporting days are Pacific time): one
    // day more on each side covers the window from any zone, and rows outside it are dropped.
    const params = {
      startDate: utcDay(new Date(window.from.getTime() - DAY_MS)),
      endDate: utcDay(new Date(window.to.getTime() - 1 + DAY_MS)),
      role: 'AFFILIATE',
    };
    for (let page = 1; ; page++) {
      // https://support.clickbank.com/en/articles/10535407-orders-api (GET /1.3/orders2/list):
      // 100 rows a page; request header `Page: n` for the next ones; 206 while more follow, 200 on the last.
      const response = await http.request({ url: 'rest/1.3/orders2/list', params, headers: page > 1 ? { Page: String(page) } : undefined });
      const orders = parseResponse('ClickBank', clickBankOrderListSchema, response.data, 'orders2/list page')?.orderData ?? [];
      yield orders.flatMap(mapClickBankOrder).filter((c) => inWindow(c.occurred_at, window));
      if (response.status !== 206 || orders.length === 0) return;
    }
  },

  async check({ http }) {
    // https://support.clickbank.com/en/articles/10535407-orders-api (GET /1.3/orders2/count):
    // the same permission as the list, and only a number comes back.
    const today = utcDay(new Date());
    await http.request({ url: 'rest/1.3/orders2/count', params: { startDate: today, endDate: today, role: 'AFFILIATE' } });
  },
});

/**
 * ClickBank reports errors as plain text rather than JSON
 * (https://github.com/OcelliSolutions/OpenClickBank#developer-notes). A text body in a 2xx answer
 * to a request for JSON is such an error, not an empty result.
 */
function clickBankBodyError({ data }: HttpResponse): BodyError | undefined {
  if (typeof data !== 'string') return undefined;
  const message = data.replace(/\s+/g, ' ').trim().slice(0, 200);
  if (/rate limit|too many requests|quota/i.test(message)) return { kind: 'rate_limit', message };
  return { kind: 'retry', message };
}

/** `yyyy-mm-dd` of the date in UTC. */
function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

