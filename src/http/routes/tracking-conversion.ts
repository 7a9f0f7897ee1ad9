import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IntakeOutcome } from '../../intake/conversion-intake';
import { IntakeFullError } from '../../intake/group-commit-intake';
import { receiveConversion } from '../../intake/received-conversion';
import type { RegistrationOutcome } from '../../pipeline/types';
import { SpoolFullError, SpoolWriteError } from '../../spool/spool';
import type { AppContext } from '../context';
import { clickIdFromCookie } from '../tracking-cookie';
import { UnreadableBody } from '../unreadable-body';

/** A transparent 1×1 GIF. */
export const PIXEL_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** Seconds a refused-for-load or over-limit sender is asked to wait. */
const RETRY_AFTER_SECONDS = 60;
const INTAKE_FULL_RETRY_AFTER_SECONDS = 5;
const SPOOL_FULL_RETRY_AFTER_SECONDS = 30;
const UNAVAILABLE_RETRY_AFTER_SECONDS = 10;

/** HTTP status for an outcome: 200 when registered or already known, otherwise why not. */
export function statusFor(outcome: RegistrationOutcome): number {
  if (outcome.status !== 'rejected') return 200;
  switch (outcome.reason) {
    case 'unknown_click_id':
      return 404;
    case 'invalid_token':
      return 401;
    case 'ip_not_allowed':
    case 'route_not_allowed':
      return 403;
    case 'unsupported_media_type':
      return 415;
    default:
      return 400;
  }
}

function gif(reply: FastifyReply, status: number): FastifyReply {
  return reply.status(status).header('Content-Type', 'image/gif').header('Cache-Control', 'no-store').send(PIXEL_GIF);
}

/**
 * GET|POST /cf/cv (alias /cf/postback): S2S postbacks, image pixels and the conversion script.
 * The intake layer decides route, fields and trust evidence; the pipeline matches, judges trust,
 * prices and stores. The answer goes out only after the outcome is durable: committed, or
 * spooled (202 `queued`). Image requests always get a 1×1 GIF.
 */
export async function conversionRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  // Any other content type is read as text and logged as an unreadable attempt, never refused unseen.
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    done(null, new UnreadableBody(String(request.headers['content-type'] ?? 'unknown').slice(0, 100), text, 'this content type is not read; send query parameters, a form body or JSON'));
  });
  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const received = receiveConversion(
      {
        method: request.method,
        path: request.url.split('?')[0] ?? '/cf/cv',
        query: request.query,
        body: request.body,
        headers: request.headers,
        ip: request.ip,
        cookieClickId: clickIdFromCookie(request),
        requestId: request.id,
      },
      ctx.config.secretKey,
    );
    const answered = (outcome: string): void => {
      ctx.metrics.postbacks.inc({ route: received.route, outcome });
    };
    const flood = ctx.flood;
    const overLimit = flood ? await flood.overRejectLimit(request.ip) : false;
    const input = overLimit ? { ...received.input, logRejection: false } : received.input;

    let settled: IntakeOutcome;
    try {
      settled = await ctx.intake.submit(input, { source: received.route });
    } catch (error) {
      answered('refused');
      if (error instanceof IntakeFullError || error instanceof SpoolFullError) {
        ctx.metrics.intakeRefused.inc({ reason: error instanceof SpoolFullError ? 'spool_full' : 'intake_full' });
        if (error instanceof SpoolFullError) ctx.metrics.spoolRefused.inc({ reason: 'full' });
        reply.header('Retry-After', String(error instanceof SpoolFullError ? SPOOL_FULL_RETRY_AFTER_SECONDS : INTAKE_FULL_RETRY_AFTER_SECONDS));
        if (received.image) return gif(reply, 503);
        return reply.status(503).send({ error: { code: 'busy', message: `${error.message}; nothing was registered` } });
      }
      if (error instanceof SpoolWriteError) ctx.metrics.spoolRefused.inc({ reason: 'unwritable' });
      request.log.error({ err: error }, 'conversion could not be registered');
      reply.header('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
      if (received.image) return gif(reply, 503);
      return reply.status(503).send({ error: { code: 'unavailable', message: 'the conversion could not be stored right now; retry (nothing was registered)' } });
    }

    if (settled.status === 'queued') {
      // Durable in the local spool; registered (and logged with its outcome) once the database is back.
      answered('queued');
      reply.header('Cache-Control', 'no-store');
      if (received.image) return gif(reply, 202);
      return reply.status(202).send({ status: 'queued', message: 'stored durably; it will be registered as soon as the database takes writes again' });
    }
    const outcome: RegistrationOutcome = settled;

    if (outcome.status === 'rejected' && flood) {
      await flood.countRejection(request.ip);
      if (overLimit) {
        ctx.metrics.rejectionsSuppressed.inc({ reason: outcome.reason ?? 'unknown' });
        answered('limited');
        reply.header('Retry-After', String(RETRY_AFTER_SECONDS));
        if (received.image) return gif(reply, 200);
        return reply.status(429).send({
          status: 'rejected',
          reason: outcome.reason,
          message: `too many rejected attempts from ${request.ip} in the last minute; this one (${outcome.reason}) was not logged. Fix the postback, then retry`,
          conversion_id: null,
        });
      }
    }

    answered(outcome.status);
    reply.header('Cache-Control', 'no-store');
    if (received.image) return gif(reply, 200);
    const warnings = [...received.warnings, ...outcome.warnings];
    return reply.status(statusFor(outcome)).send({
      status: outcome.status,
      reason: outcome.reason,
      message: outcome.message,
      conversion_id: outcome.conversionId,
      ...(warnings.length > 0 ? { warnings } : {}),
      // Unreadable bodies were answered with the admin error shape before they were logged; keep it.
      ...(outcome.reason === 'invalid_json' || outcome.reason === 'unsupported_media_type' ? { error: { code: outcome.reason, message: outcome.message } } : {}),
    });
  };

  for (const path of ['/cf/cv', '/cf/postback']) {
    app.route({ method: ['GET', 'POST'], url: path, schema: { hide: true }, handler });
  }
}
