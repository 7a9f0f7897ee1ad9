import { query } from '../../db/sql';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context';

/** Liveness, readiness (Postgres and Redis reachable) and Prometheus metrics. */
export async function healthRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const checks: Record<string, string> = {};
    const withTimeout = <T>(promise: Promise<T>): Promise<T> =>
      Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out after 2 s')), 2000).unref())]);
    try {
      await withTimeout(query(ctx.db, 'SELECT 1'));
      checks.postgres = 'ok';
    } catch (error) {
      checks.postgres = (error as Error).message;
    }
    if (ctx.redis) {
      try {
        await withTimeout(ctx.redis.ping());
        checks.redis = 'ok';
      } catch (error) {
        checks.redis = (error as Error).message;
      }
    }
    const ready = Object.values(checks).every((value) => value === 'ok');
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('Content-Type', ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
}
