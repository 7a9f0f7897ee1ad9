import type { FastifyInstance } from 'fastify';
import type { TallyConfig } from '../../config/config';
import type { Metrics } from '../../observability/metrics';
import { requireAdmin } from '../plugins/admin-auth';

/**
 * GET /metrics (Prometheus text). Prometheus sends the admin token or METRICS_TOKEN as a bearer
 * token unless METRICS_PUBLIC=true. Served by `serve` and, on METRICS_PORT, by `worker`.
 */
export async function metricsRoute(app: FastifyInstance, { metrics, config }: { metrics: Metrics; config: Pick<TallyConfig, 'adminToken' | 'metricsToken' | 'metricsPublic'> }): Promise<void> {
  const metricsAuth = requireAdmin(config.adminToken, { alsoAccept: config.metricsToken ? [config.metricsToken] : [] });
  app.get('/metrics', { schema: { hide: true }, onRequest: config.metricsPublic ? [] : [metricsAuth] }, async (_request, reply) => {
    reply.header('Content-Type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
