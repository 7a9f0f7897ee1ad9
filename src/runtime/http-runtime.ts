import type { FastifyInstance } from 'fastify';
import Redis from 'ioredis';
import type { TallyConfig } from '../config/config';
import { buildApp, type BuildAppOptions } from '../http/app';
import type { AppContext } from '../http/context';
import { stopServer } from '../http/server';
import { FloodGuard } from '../intake/flood-guard';
import { GroupCommitIntake } from '../intake/group-commit-intake';
import { SpoolingIntake } from '../intake/spooling-intake';
import { registerServeGauges } from '../observability/gauges';
import { Spool } from '../spool/spool';
import type { Logger } from '../log/logger';
import { Metrics } from '../observability/metrics';
import { openServices, type Services } from './services';
import type { PullService } from '../../jobs/pull-service';

export interface HttpRuntime {
  readonly app: FastifyInstance;
  readonly ctx: AppContext;
  readonly address: string;
  stop(): Promise<void>;
}

/**
 * Opens Postgres and Redis, builds the app with the group-commit intake (behind the local spool
 * when SPOOL_ENABLED) and listens. `stop` finishes in-flight requests (each answered only once
 * its conversion is durable), drains the intake and the spool, then closes the connections.
 */
export async function startHttp(
  config: TallyConfig,
  logger: Logger,
  options: BuildAppOptions & { services?: Services; redis?: Redis; pulls?: PullService; metrics?: Metrics } = {},
): Promise<HttpRuntime> {
  const metrics = options.metrics ?? new Metrics();
  const services = options.services ?? (await openServices(config, { poolMax: 20, applicationName: 'tally-serve', metrics, allowUnreachable: config.spool.enabled }));
  const { registrar } = services;
  const direct = new GroupCommitIntake(registrar, config.intake, (size) => metrics.intakeBatchSize.observe(size));
  const spool = config.spool.enabled ? await Spool.open({ dir: config.spool.dir, maxBytes: config.spool.maxBytes, registrar, logger, metrics }) : undefined;
  const intake = spool ? new SpoolingIntake(direct, spool, { afterMs: config.spool.afterMs, logger, metrics }) : direct;
  registerServeGauges(metrics, { db: services.db, ...(spool ? { spool } : {}) });
  const redis = options.redis ?? new Redis(config.redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  redis.on('error', (error) => logger.warn({ err: error.message }, 'redis connection error'));
  if (!options.redis) await redis.connect().catch((error: Error) => logger.warn({ err: error.message }, 'redis not reachable; /readyz will say so'));
  const flood = new FloodGuard(redis, services.db, config.queuePrefix, { rejectsPerMinute: config.rejectLimitPerMinute, clicksPerMinute: config.clickRateLimitPerMinute });
  const ctx: AppContext = { config, db: services.db, registrar, intake, metrics, logger, redis, flood, ...(spool ? { spool } : {}), ...(options.pulls ? { pulls: options.pulls } : {}) };
  const app = await buildApp(ctx, { trustProxy: config.trustProxy });
  const address = await app.listen({ host: config.host, port: config.port });
  let stopping: Promise<void> | undefined;
  return {
    app,
    ctx,
    address,
    stop() {
      stopping ??= (async () => {
        await stopServer(app, intake);
        // The spool gets what is left of the grace period to hand its backlog to Postgres; the rest stays on disk.
        await spool?.stop(10_000);
        if (!options.redis) redis.disconnect();
        if (!options.services) await services.close();
      })();
      return stopping;
    },
  };
}
