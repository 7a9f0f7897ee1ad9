import { query } from '../../db/sql';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context';
import { requireAdmin } from '../plugins/admin-auth';

/** Liveness, readiness (Postgres and Redis reachable) and Prometheus metrics. */
export async function healthRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const checks: Record<string, string> = {};
    const withTimeout = <T>(promise: Promise<T>): Promise<T> =>
      Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out after 2 s')), 2000).unref())]);
    // States only: raw error text could name hosts, users or paths.
    const state = (error: unknown): string => (/timed out/.test((error as Error).message) ? 'timeout' : 'unreachable');
    try {
      await withTimeout(query(ctx.db, 'SELECT 1'));
      checks.postgres = 'ok';
    } catch (error) {
      checks.postgres = state(error);
    }
    if (ctx.redis) {
      try {
        await withTimeout(ctx.redis.ping());
        checks.redis = 'ok';
      } catch (error) {
        checks.redis = state(error);
      }
    }
    const ready = Object.values(checks).every((value) => value === 'ok');
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
  });

  // Prometheus sends the admin token (or METRICS_TOKEN) as a bearer token unless METRICS_PUBLIC=true.
  const metricsAuth = requireAdmin(ctx.config.adminToken, { alsoAccept: ctx.config.metricsToken ? [ctx.config.metricsToken] : [] });
  app.get('/metrics', { schema: { hide: true }, onRequest: ctx.config.metricsPublic ? [] : [metricsAuth] }, async (_request, reply) => {
    reply.header('Content-Type', ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
}
