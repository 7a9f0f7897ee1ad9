import type { Redis } from 'ioredis';
import { createConnectorContext, type ContextOptions } from '../connectors/kit/context';
import { RedisRateLimiter } from '../connectors/kit/rate-limiter';
import { abortableSleep } from '../connectors/kit/http-client';
import type { ConnectorContext } from '../connectors/kit/types';
import { RedisQuotaBudget } from './redis-quota-budget';
import type { LoadedConnection } from '../src/connections/connection-store';
import type { Db } from '../src/db/database';
import type { Logger } from '../src/log/logger';
import type { Metrics } from '../src/observability/metrics';
import type { Registrar } from '../src/pipeline/registrar';

/** What pull and backfill jobs run with. */
export interface JobDeps {
  readonly db: Db;
  readonly registrar: Registrar;
  readonly redis: Redis;
  readonly secretKey: Buffer;
  readonly queuePrefix: string;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** HTTP retry tuning (tests shorten the waits; production uses the kit's defaults). */
  readonly http?: Pick<ContextOptions, 'retries' | 'baseDelayMs' | 'maxRetryAfterMs' | 'sleep'>;
  readonly now?: () => Date;
  /** How long a pull's connection lock outlives a worker that was killed (renewed while the pull runs); TALLY_WORKER_LOCK_MS. */
  readonly lockMs?: number;
}

/**
 * A connector context whose requests share the connection's rate limit, and (for APIs with a
 * daily quota) its request budget, across all workers.
 */
export function connectorContextFor(deps: JobDeps, connection: LoadedConnection, signal: AbortSignal): ConnectorContext<Record<string, unknown>> {
  const sleep = deps.http?.sleep ?? abortableSleep;
  const quota = connection.connector.http(connection.config).quota;
  return createConnectorContext(connection.connector, connection.config, {
    ...deps.http,
    signal,
    now: deps.now,
    logger: deps.logger.child({ connection: connection.row.id }),
    rateLimiter: new RedisRateLimiter(deps.redis, `${deps.queuePrefix}:ratelimit:${connection.row.id}`, connection.connector.rateLimit, sleep),
    quota: quota ? new RedisQuotaBudget(deps.redis, `${deps.queuePrefix}:quota:${connection.row.id}`, quota, { lastSuccessFallback: connection.row.last_success_at, now: deps.now }) : undefined,
  });
}
