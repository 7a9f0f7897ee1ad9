import { z } from 'zod';
import { defineConnector } from '../kit/define-connector';
import { inWindow, parseResponse } from '../kit/response';
import type { BodyError } from '../kit/errors';
import type { HttpResponse } from '../kit/http-client';
import { EVERFLOW_CLICK_ID_FIELDS, mapEverflowConversion } from './map';
import { everflowConversionPageSchema, everflowErrorSchema } from './schema';

const DEFAULT_BASE_URL = 'https://api.eflow.team';
/** The largest page Everflow serves ("typically 2000", https://developers.everflow.io/docs/user-guide/paging). */
export const EVERFLOW_PAGE_SIZE = 2000;
/** `timezone_id` of UTC in /v1/meta/timezones. */
export const EVERFLOW_UTC_TIMEZONE_ID = 67;

export const everflowConfigSchema = z.object({
  api_key: z
    .string({ error: (issue) => (issue.input === undefined ? 'api_key is required: the affiliate API key from the Everflow partner portal' : 'api_key must be text') })
    .min(1, 'api_key must not be empty'),
  base_url: z.url({ protocol: /^https?$/, error: 'base_url must be an http(s) URL' }).optional().describe(`API host; defaults to ${DEFAULT_BASE_URL} (EU accounts: https://api-eu.eflow.team)`),
  click_id_field: z.enum(EVERFLOW_CLICK_ID_FIELDS).default('sub1').describe('The sub-id that carries the tracker click ID'),
});
export type EverflowConfig = z.infer<typeof everflowConfigSchema>;

export const everflowConnector = defineConnector<EverflowConfig>({
  id: 'everflow',
  name: 'Everflow (affiliate API)',
  documentationUrl: 'https://developers.everflow.io/docs/affiliate/reporting/affiliate_raw_conversions',
  configSchema: everflowConfigSchema,
  secretFields: ['api_key'],
  // Affiliate API: 5 requests/s per Everflow customer, counted in 30 s windows
  // (https://developers.everflow.io/docs/user-guide/rate_limiting).
  rateLimit: { requests: 5, intervalMs: 1000 },
  // The report accepts up to 365 days per request, but paging is by offset and the pipeline
  // checkpoints per window: 30-day windows keep each request series short and resumable.
  maxWindowDays: 30,
  // No "updated since" filter exists and status/payout change after the fact (manual approval,
  // scrubs); 60 days covers the usual net-30 approval cycle with room to spare.
  defaultLookbackDays: 60,

  http: (config) => ({
    baseUrl: config.base_url ?? DEFAULT_BASE_URL,
    headers: { 'X-Eflow-API-Key': config.api_key, Accept: 'application/json' },
    detectBodyError: everflowBodyError,
    // A 429 carries no Retry-After; the limit resets with the next 30 s window.
    defaultRateLimitWaitMs: 30_000,
  }),

  async *pull({ http, config }, window) {
    const report = {
      // Read in timezone_id's zone, UTC. Everflow's `to` may be inclusive: asking up to the
      // window's end and dropping rows stamped at it keeps [from, to) exact.
      from: everflowDateTime(window.from, Math.floor),
      to: everflowDateTime(window.to, Math.ceil),
      timezone_id: EVERFLOW_UTC_TIMEZONE_ID,
      show_conversions: true,
      show_events: true,
      query: { filters: [] },
    };
    let seen = 0;
    for (let page = 1; ; page++) {
      // https://developers.everflow.io/docs/affiliate/reporting/affiliate_raw_conversions
      const response = await http.request({ method: 'POST', url: 'v1/affiliates/reporting/conversions', params: { page, page_size: EVERFLOW_PAGE_SIZE }, data: report });
      const body = parseResponse('Everflow', everflowConversionPageSchema, response.data, 'conversion report page');
      const conversions = body.conversions ?? [];
      yield conversions.map((row) => mapEverflowConversion(row, config.click_id_field)).filter((c) => inWindow(c.occurred_at, window));
      seen += conversions.length;
      if (conversions.length === 0 || seen >= body.paging.total_count) return;
    }
  },

  async check({ http }) {
    // https://developers-beta.everflow.io/api-reference/get-affiliatesinfo
    await http.request({ url: 'v1/affiliates' });
  },
});

/**
 * Everflow documents errors only with 4xx/5xx statuses and an `{"error": "..."}` body; should one
 * arrive with a 200 it must not pass for an empty report.
 */
function everflowBodyError({ data }: HttpResponse): BodyError | undefined {
  const parsed = everflowErrorSchema.safeParse(data);
  if (!parsed.success) return undefined;
  const message = parsed.data.error;
  if (/out of realm|api key|unauthori[sz]ed|forbidden/i.test(message)) return { kind: 'auth', message };
  if (/rate limit|too many requests/i.test(message)) return { kind: 'rate_limit', message };
  return { kind: 'retry', message };
}

/** `YYYY-MM-DD HH:MM:SS` in UTC, to the second rounded with `round`. */
function everflowDateTime(date: Date, round: (seconds: number) => number): string {
  return new Date(round(date.getTime() / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

