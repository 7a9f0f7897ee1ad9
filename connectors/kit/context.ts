import type { Logger } from '../../src/log/logger';
import { silentLogger } from '../../src/log/logger';
import { HttpClient } from './http-client';
import type { QuotaBudget } from './quota';
import type { RateLimiter } from './rate-limiter';
import type { ConnectorContext, ConnectorHttpSettings } from './types';

export interface ContextOptions {
  readonly rateLimiter?: RateLimiter;
  /** The connection's share of a daily quota (jobs implement it over Redis). */
  readonly quota?: QuotaBudget;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
  readonly retries?: number;
  readonly baseDelayMs?: number;
  readonly maxRetryAfterMs?: number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly now?: () => Date;
}

/** What a context needs of a connector: its id and how to talk to its API. */
interface HttpDescribed<Config> {
  readonly id: string;
  http(config: Config): ConnectorHttpSettings;
}

/**
 * Builds what a connector's `pull`/`check` receive: the validated config and an HTTP client set
 * up from the connector's own settings. Jobs and tests build contexts the same way.
 */
export function createConnectorContext<Config>(connector: HttpDescribed<Config>, config: Config, options: ContextOptions = {}): ConnectorContext<Config> {
  const logger = options.logger ?? silentLogger();
  const signal = options.signal ?? new AbortController().signal;
  const settings = connector.http(config);
  const http = new HttpClient({
    ...settings,
    quota: settings.quota && options.quota ? { spec: settings.quota, budget: options.quota } : undefined,
    rateLimiter: options.rateLimiter,
    logger,
    signal,
    retries: options.retries,
    baseDelayMs: options.baseDelayMs,
    maxRetryAfterMs: options.maxRetryAfterMs,
    sleep: options.sleep,
    now: options.now,
  });
  return { config, http, log: logger.child({ connector: connector.id }), signal };
}
