import Fastify, { type FastifyInstance } from 'fastify';
import type { TallyConfig } from '../config/config';
import { metricsRoute } from '../http/routes/metrics';
import type { Metrics } from './metrics';

/**
 * `/metrics` and `/healthz` for a process without the HTTP app (`tally worker` with METRICS_PORT),
 * with the same credentials as `serve`'s /metrics.
 */
export async function startMetricsServer(metrics: Metrics, config: Pick<TallyConfig, 'host' | 'adminToken' | 'metricsToken' | 'metricsPublic'>, port: number): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  app.get('/healthz', async () => ({ status: 'ok' }));
  await app.register(metricsRoute, { metrics, config });
  await app.listen({ host: config.host, port });
  return app;
}
