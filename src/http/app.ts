import formBody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { parseJsonLossless } from '../util/lossless-json';
import type { AppContext } from './context';
import { UnreadableBody } from './unreadable-body';
import { requireAdmin } from './plugins/admin-auth';
import { errorHandlerPlugin } from './plugins/error-handler';
import { catalogRoutes } from './routes/admin-catalog';
import { networkRoutes } from './routes/admin-networks';
import { connectionRoutes } from './routes/admin-connections';
import { registerBullBoard } from './plugins/bull-board';
import { fxRoutes } from './routes/admin-fx';
import { recordRoutes } from './routes/admin-records';
import { reportRoutes } from './routes/admin-reports';
import { revenueRoutes } from './routes/admin-revenue';
import { uploadRoutes } from './routes/admin-uploads';
import { healthRoutes } from './routes/health';
import { clickRoutes } from './routes/tracking-click';
import { conversionRoutes } from './routes/tracking-conversion';
import { scriptRoutes } from './routes/tracking-script';
import { templateRoutes } from './routes/admin-templates';
import { explainRoutes } from './routes/admin-explain';
import { postbackLogRoutes } from './routes/admin-postback-log';
import { pullActivityRoutes } from './routes/admin-pull-activity';
import { ConsoleSessions } from '../console/console-sessions';
import { consoleRoutes } from '../console/console-routes';
import { sessionIdOf } from '../console/session-cookie';
import { uuidV7 } from '../util/uuid';

/** Longest URL accepted; longer ones get 414 (postbacks are short; this stops abuse early). */
export const MAX_URL_LENGTH = 8 * 1024;
/** Body limit for tracking endpoints and the admin API (uploads have their own, larger one). */
export const BODY_LIMIT = 64 * 1024;

export interface BuildAppOptions {
  /** Which proxies' X-Forwarded-* to trust (for client IPs and https detection); see config TRUST_PROXY. */
  readonly trustProxy?: false | number | string[];
}

/**
 * Builds the HTTP app (tracking endpoints, admin API, docs) without listening, so that tests can
 * drive it with `app.inject` and `serve`/`start` can listen on it.
 */
export async function buildApp(ctx: AppContext, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.logger as unknown as FastifyBaseLogger,
    // Request logging would write every postback URL, tokens included; errors are logged instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    trustProxy: fastifyTrustProxy(options.trustProxy ?? ctx.config.trustProxy),
    return503OnClosing: true,
    // Every request gets an id of the server's choosing (a postback's becomes its intake id, which
    // the ledger keeps unique, so a client must not pick it); logs carry it as reqId. Time-ordered
    // (UUIDv7): the ledger's intake-id index grows at its right edge.
    genReqId: () => uuidV7(),
    requestIdHeader: false,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: true },
    // Errors the router raises before any route runs (a malformed or over-long path) get the same
    // answer shape as every other error, with a reason an operator can act on.
    frameworkErrors: (error, _request, reply) => {
      const code = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'uri_too_long' : error.code === 'FST_ERR_BAD_URL' ? 'bad_url' : 'bad_request';
      const message = code === 'uri_too_long' ? 'a path segment is longer than 200 characters' : code === 'bad_url' ? 'the URL has a malformed %-escape' : 'the request could not be routed';
      const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 400;
      void (reply as unknown as FastifyReply).status(status).send({ error: { code, message } });
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  // JSON bodies keep exact decimals: a payout of 12.345678901 must not become a binary float.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    let parsed: unknown;
    try {
      parsed = parseJsonLossless(text);
    } catch (problem) {
      // A tracking request is an attempt to register a conversion: it is logged with its reason.
      if (request.url.startsWith('/cf/')) return done(null, new UnreadableBody('application/json', text, `not valid JSON: ${(problem as Error).message}`));
      const error = new Error('the body is not valid JSON') as Error & { statusCode: number; code: string };
      error.statusCode = 400;
      error.code = 'FST_ERR_CTP_INVALID_JSON_BODY';
      return done(error, undefined);
    }
    done(null, parsed);
  });
  await app.register(formBody, { bodyLimit: BODY_LIMIT });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
    if (request.raw.url && request.raw.url.length > MAX_URL_LENGTH) {
      return reply.status(414).send({ error: { code: 'uri_too_long', message: `the URL is longer than ${MAX_URL_LENGTH} characters` } });
    }
    return undefined;
  });
  app.addHook('onResponse', async (request, reply) => {
    ctx.metrics.httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(errorHandlerPlugin);
  await app.register(swagger, {
    openapi: {
      info: { title: 'Tally admin API', version: '1', description: 'Conversion registration: catalog, conversions, postback log, uploads, FX, reports, pull connections and backfills.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(healthRoutes, { ctx });
  await app.register(clickRoutes, { ctx });
  await app.register(conversionRoutes, { ctx });
  await app.register(scriptRoutes);

  // The console's login sessions, accepted by the admin API and Bull Board besides the token.
  const sessions = new ConsoleSessions(ctx.db, ctx.config.secretKey, ctx.config.adminToken);
  const session = (request: FastifyRequest) => sessions.isValid(sessionIdOf(request));
  await app.register(async (admin) => {
    // onRequest: credentials are checked before the body is parsed or validated.
    admin.addHook('onRequest', requireAdmin(ctx.config.adminToken, { publicUrl: ctx.config.publicUrl, session }));
    await admin.register(networkRoutes, { ctx });
    await admin.register(catalogRoutes, { ctx });
    await admin.register(recordRoutes, { ctx });
    await admin.register(uploadRoutes, { ctx });
    await admin.register(fxRoutes, { ctx });
    await admin.register(reportRoutes, { ctx });
    await admin.register(connectionRoutes, { ctx });
    await admin.register(templateRoutes, { ctx });
    await admin.register(postbackLogRoutes, { ctx });
    await admin.register(explainRoutes, { ctx });
    await admin.register(pullActivityRoutes, { ctx });
    await admin.register(revenueRoutes, { ctx });
  });
  if (ctx.pulls) await registerBullBoard(app, ctx.pulls.queues, ctx.config, session);
  await app.register(consoleRoutes, { ctx, sessions });

  return app;
}

/** TRUST_PROXY as fastify takes it: a hop count becomes "trust the nearest n hops". */
function fastifyTrustProxy(setting: false | number | string[]): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  return setting;
}
