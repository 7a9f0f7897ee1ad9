import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isPlaceholder } from '../../pipeline/macros';
import { rejectionMessages } from '../../pipeline/rejection-messages';
import { outcomeMessages } from '../../pipeline/registrar';
import type { RegistrationOutcome, Source } from '../../pipeline/types';
import type { AppContext } from '../context';
import { clickIdFromCookie } from '../tracking-cookie';

/** A transparent 1×1 GIF. */
export const PIXEL_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

const CLICK_ID_NAMES = ['click_id', 'cf_click_id', 'cid', 'clickid'];
/** Parameters that are credentials or transport details, never stored as conversion data. */
const SECRET_PARAMS = new Set(['token']);

/** HTTP status for an outcome: 200 when registered or already known, otherwise why not. */
export function statusFor(outcome: RegistrationOutcome): number {
  if (outcome.status !== 'rejected') return 200;
  switch (outcome.reason) {
    case 'unknown_click_id':
      return 404;
    case 'invalid_token':
      return 401;
    case 'ip_not_allowed':
      return 403;
    default:
      return 400;
  }
}

function isImageRequest(request: FastifyRequest): boolean {
  if (request.headers['sec-fetch-dest'] === 'image') return true;
  const accept = request.headers.accept ?? '';
  return /(^|,)\s*image\//i.test(accept);
}

function flatten(source: unknown): Record<string, unknown> {
  if (source === null || typeof source !== 'object' || Array.isArray(source)) return {};
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(source as Record<string, unknown>)) {
    out[name] = Array.isArray(value) ? value[0] : value;
  }
  return out;
}

function withoutSecrets(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([name]) => !SECRET_PARAMS.has(name)));
}

function tokenMatches(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * GET|POST /cf/cv (alias /cf/postback): S2S postbacks, image pixels and the conversion script.
 * The answer goes out only after the outcome is committed. Image requests always get a 1×1 GIF.
 */
export async function conversionRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const image = isImageRequest(request);
    const query = flatten(request.query);
    const body = flatten(request.body);
    const given: Record<string, unknown> = { ...query, ...body };
    const source: Source = given.src === 'script' ? 'script' : image ? 'pixel' : 'postback';

    const fields = withoutSecrets(given);
    delete fields.src;
    const cookieClickId = clickIdFromCookie(request);
    const named = CLICK_ID_NAMES.map((name) => fields[name]).find((value) => typeof value === 'string' && value.trim() !== '') as string | undefined;
    const warnings: string[] = [];
    if (cookieClickId && (named === undefined || isPlaceholder(named))) {
      // Pixel and script: the click ID comes from the tracking cookie; a placeholder such as
      // click_id=OPTIONAL left in the pixel URL is replaced by it rather than rejected.
      if (named !== undefined) warnings.push(`click ID "${named.slice(0, 40)}" in the URL was a placeholder; used the cf_click_id cookie`);
      for (const name of CLICK_ID_NAMES) delete fields[name];
      fields.click_id = cookieClickId;
    }
    const rawRequest = {
      method: request.method,
      path: request.url.split('?')[0],
      query: withoutSecrets(query),
      ...(request.body !== undefined && request.body !== null ? { body: withoutSecrets(body) } : {}),
      ...(cookieClickId ? { cookie_click_id: cookieClickId } : {}),
      ip: request.ip,
      ...(request.headers['user-agent'] ? { user_agent: request.headers['user-agent'].slice(0, 300) } : {}),
      ...(request.headers.referer ? { referer: request.headers.referer.slice(0, 500) } : {}),
    };
    const input = { fields, request: rawRequest, clientIp: request.ip, receivedAt: new Date() };

    let outcome: RegistrationOutcome;
    try {
      if (ctx.config.postbackToken !== undefined && !tokenMatches(given.token, ctx.config.postbackToken)) {
        [outcome] = (await ctx.registrar.recordRejections([{ input, reason: 'invalid_token', message: rejectionMessages.invalidToken() }], { source })) as [RegistrationOutcome];
      } else {
        outcome = await ctx.intake.submit(input, { source });
      }
    } catch (error) {
      request.log.error({ err: error }, 'conversion could not be registered');
      if (image) return reply.status(503).header('Content-Type', 'image/gif').header('Cache-Control', 'no-store').send(PIXEL_GIF);
      return reply.status(503).send({ error: { code: 'unavailable', message: 'the conversion could not be stored right now; retry (nothing was registered)' } });
    }

    reply.header('Cache-Control', 'no-store');
    if (image) return reply.status(200).header('Content-Type', 'image/gif').send(PIXEL_GIF);
    const allWarnings = [...warnings, ...outcome.warnings];
    return reply.status(statusFor(outcome)).send({
      status: outcome.status,
      reason: outcome.reason,
      message: outcome.message ?? (outcome.reason ? (outcomeMessages as Record<string, string>)[outcome.reason] ?? null : null),
      conversion_id: outcome.conversionId,
      ...(allWarnings.length > 0 ? { warnings: allWarnings } : {}),
    });
  };

  for (const path of ['/cf/cv', '/cf/postback']) {
    app.route({ method: ['GET', 'POST'], url: path, schema: { hide: true }, handler });
  }
}
