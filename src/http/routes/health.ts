import { query } from '../../db/sql';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context';
import { metricsRoute } from './metrics';

/** How long /readyz waits for a dependency before calling it `timeout`. */
const CHECK_TIMEOUT_MS = 2000;

/**
 * Liveness, readiness and Prometheus metrics. Ready means a postback can be made durable now:
 * Postgres answers, or the spool is enabled and has room — so a load balancer keeps a `serve`
 * whose Postgres is away. Every dependency's state is listed; Redis is listed but not required
 * (postbacks do not need it; the flood limits fail open without it).
 */
export async function healthRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const [postgres, redis] = await Promise.all([
      probe(() => query(ctx.db, 'SELECT 1')),
      ctx.redis ? probe(() => (ctx.redis as NonNullable<typeof ctx.redis>).ping()) : Promise.resolve(undefined),
    ]);
    const checks: Record<string, string> = { postgres };
    if (redis !== undefined) checks.redis = redis;
    checks.spool = ctx.spool ? ctx.spool.state : 'disabled';
    // Ready while a postback can be made durable. Behind a spooled backlog postbacks go to the
    // spool (arrival order) whatever Postgres says, so then the spool decides.
    const spoolTakes = ctx.spool?.acceptsPostbacks ?? false;
    const ready = ctx.spool?.hasBacklog ? spoolTakes : postgres === 'ok' || spoolTakes;
    const spool = ctx.spool?.stats();
    return reply.status(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not_ready',
      checks,
      ...(spool ? { spool: { entries: spool.entries, bytes: spool.bytes, oldest_received_at: spool.oldestAt?.toISOString() ?? null } } : {}),
    });
  });

  await app.register(metricsRoute, { metrics: ctx.metrics, config: ctx.config });
}

/** A dependency's state: `ok`, `timeout` or `unreachable` — never raw error text, which could name hosts, users or paths. */
async function probe(check: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new ProbeTimeout()), CHECK_TIMEOUT_MS);
      }),
    ]);
    return 'ok';
  } catch (error) {
    return error instanceof ProbeTimeout ? 'timeout' : 'unreachable';
  } finally {
    clearTimeout(timer);
  }
}

class ProbeTimeout extends Error {}
