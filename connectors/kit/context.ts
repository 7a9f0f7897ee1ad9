import type { Logger } from '../../src/log/logger';
import { silentLogger } from '../../src/log/logger';
import { HttpClient } from './http-client';
import type { RateLimiter } from './rate-limiter';
import type { Connector, ConnectorContext } from './types';

export interface ContextOptions {
  readonly rateLimiter?: RateLimiter;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
  readonly retries?: number;
  readonly baseDelayMs?: number;
  readonly maxRetryAfterMs?: number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Builds what a connector's `pull`/`check` receive: the validated config and an HTTP client set
 * up from the connector's own settings. Jobs and tests build contexts the same way.
 */
export function createConnectorContext<Config>(connector: Connector<Config>, config: Config, options: ContextOptions = {}): ConnectorContext<Config> {
  const logger = options.logger ?? silentLogger();
  const signal = options.signal ?? new AbortController().signal;
  const http = new HttpClient({
    ...connector.http(config),
    rateLimiter: options.rateLimiter,
    logger,
    signal,
    retries: options.retries,
    baseDelayMs: options.baseDelayMs,
    maxRetryAfterMs: options.maxRetryAfterMs,
    sleep: options.sleep,
  });
  return { config, http, log: logger.child({ connector: connector.id }), signal };
}
