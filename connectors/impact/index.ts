import { z } from 'zod';
import { defineConnector } from '../kit/define-connector';
import { inWindow, parseResponse } from '../kit/response';
import { ConnectorConfigError, ConnectorResponseError, type BodyError } from '../kit/errors';
import type { HttpRequest, HttpResponse } from '../kit/http-client';
import { IMPACT_CLICK_ID_FIELDS, mapImpactAction } from './map';
import { impactActionsPageSchema, impactErrorSchema } from './schema';

const DEFAULT_BASE_URL = 'https://api.impact.com';
/** "A query's StartDate and EndDate cannot be more than 45 days apart" (Actions, since 5 Aug 2024). */
export const IMPACT_MAX_WINDOW_DAYS = 45;
const DAY_MS = 86_400_000;

export const impactConfigSchema = z.object({
  account_sid: z
    .string({ error: (issue) => (issue.input === undefined ? 'account_sid is required: the Account SID from Settings > API in impact.com' : 'account_sid must be text') })
    .min(1, 'account_sid must not be empty'),
  auth_token: z
    .string({ error: (issue) => (issue.input === undefined ? 'auth_token is required: the Auth Token from Settings > API in impact.com' : 'auth_token must be text') })
    .min(1, 'auth_token must not be empty'),
  base_url: z.url({ protocol: /^https?$/, error: 'base_url must be an http(s) URL' }).optional().describe(`API host; defaults to ${DEFAULT_BASE_URL}`),
  click_id_field: z.enum(IMPACT_CLICK_ID_FIELDS).default('SubId1').describe('The tracking-link parameter that carries the tracker click ID'),
});
export type ImpactConfig = z.infer<typeof impactConfigSchema>;

export const impactConnector = defineConnector<ImpactConfig>({
  id: 'impact',
  name: 'impact.com (partner API)',
  documentationUrl: 'https://integrations.impact.com/impact-publisher/reference/list-actions-1',
  configSchema: impactConfigSchema,
  secretFields: ['auth_token'],
  // "Performance detail" resources (/Actions, /Clicks) allow 500 requests an hour
  // (https://integrations.impact.com/impact-publisher/reference/rate-limits).
  rateLimit: { requests: 500, intervalMs: 3_600_000 },
  maxWindowDays: IMPACT_MAX_WINDOW_DAYS,
  // Actions stay PENDING until their LockingDate (commonly 30-60 days after the event) and can be
  // reversed until then; EventDate windows re-pulled for 60 days see those changes. Programs with
  // longer locking periods need a longer lookback on the connection.
  defaultLookbackDays: 60,

  http: (config) => ({
    baseUrl: config.base_url ?? DEFAULT_BASE_URL,
    auth: { username: config.account_sid, password: config.auth_token },
    // Responses are XML unless JSON is asked for.
    headers: { Accept: 'application/json' },
    detectBodyError: impactBodyError,
  }),

  async *pull({ http, config }, window) {
    if (window.to.getTime() - window.from.getTime() > IMPACT_MAX_WINDOW_DAYS * DAY_MS) {
      throw new ConnectorConfigError(`impact.com serves at most ${IMPACT_MAX_WINDOW_DAYS} days of actions per query; split the window`);
    }
    // https://integrations.impact.com/impact-publisher/reference/list-actions-1
    let request: HttpRequest | undefined = {
      url: `Mediapartners/${encodeURIComponent(config.account_sid)}/Actions`,
      // EventDate on or after ActionDateStart and on or before ActionDateEnd: the inclusive end is
      // the window's end, and actions stamped exactly at it are dropped below.
      params: { ActionDateStart: impactDateTime(window.from, Math.floor), ActionDateEnd: impactDateTime(window.to, Math.ceil) },
    };
    while (request) {
      const response: HttpResponse = await http.request(request);
      const body = parseResponse('impact.com', impactActionsPageSchema, response.data, 'Actions page');
      yield body.Actions.map((action) => mapImpactAction(action, config.click_id_field)).filter((c) => inWindow(c.occurred_at, window));
      const next = body['@nextpageuri'];
      // https://integrations.impact.com/impact-publisher/reference/pagination
      request = next ? nextPageRequest(next, config.base_url ?? DEFAULT_BASE_URL) : undefined;
    }
  },

  async check({ http, config }) {
    // The Actions list over the last minute: proves the token may read exactly what pull reads
    // (scoped tokens can allow Actions without CompanyInformation) and returns next to nothing.
    // https://integrations.impact.com/impact-publisher/reference/list-actions-1
    const now = Date.now();
    const response = await http.request({
      url: `Mediapartners/${encodeURIComponent(config.account_sid)}/Actions`,
      params: { ActionDateStart: impactDateTime(new Date(now - 60_000), Math.floor), ActionDateEnd: impactDateTime(new Date(now), Math.ceil) },
    });
    parseResponse('impact.com', impactActionsPageSchema, response.data, 'Actions page');
  },
});

/**
 * `@nextpageuri` is a path on the API host that already holds `/Mediapartners/{SID}` and the
 * query; it goes to the configured host and never to another one with our credentials.
 */
function nextPageRequest(uri: string, baseUrl: string): HttpRequest {
  const base = new URL(baseUrl);
  const next = new URL(uri, base.origin);
  if (next.origin !== base.origin) throw new ConnectorResponseError(`impact.com's @nextpageuri points at another host (${next.origin}); not following it`);
  return { url: `${next.pathname}${next.search}` };
}

/**
 * Errors come as `{"Status": "ERROR", "Message": ...}` with a 4xx/5xx status; none is documented
 * inside a 200, but one there must not pass for an empty page.
 */
function impactBodyError({ data }: HttpResponse): BodyError | undefined {
  const parsed = impactErrorSchema.safeParse(data);
  if (!parsed.success) return undefined;
  const message = parsed.data.Message ?? 'Status ERROR';
  if (/unauthori[sz]ed|auth token|credential|access denied/i.test(message)) return { kind: 'auth', message };
  if (/rate limit|too many requests/i.test(message)) return { kind: 'rate_limit', message };
  return { kind: 'retry', message };
}

/** ISO 8601 in UTC to the second (`2024-11-01T00:00:00Z`), rounded with `round`. */
function impactDateTime(date: Date, round: (seconds: number) => number): string {
  return new Date(round(date.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

