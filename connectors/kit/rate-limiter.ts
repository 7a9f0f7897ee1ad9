import type { Redis } from 'ioredis';
import type { RateLimit } from './types';

/**
 * Spaces requests to one API account across every worker process (GCRA on a Redis key): each
 * call reserves the next free slot and returns how long to wait for it. Bursts up to the limit
 * pass at once; sustained traffic is spread evenly over the interval. Redis's own clock is used,
 * so machines with skewed clocks still agree.
 */
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local emission = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local pausedUntil = tonumber(redis.call('GET', KEYS[2]) or '0')
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if tat < pausedUntil then tat = pausedUntil end
local wait = tat - burst - now
if wait < 0 then wait = 0 end
redis.call('SET', KEYS[1], tat + emission, 'PX', math.max(1000, tat + emission - now + 1000))
return wait
`;

const PAUSE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilMs = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untilMs > current then redis.call('SET', KEYS[1], untilMs, 'PX', tonumber(ARGV[1]) + 1000) end
return untilMs
`;

/** Waits for permission to send one request. */
export interface RateLimiter {
  /** Resolves when a request may go out. */
  acquire(signal?: AbortSignal): Promise<void>;
  /** Stops every process's requests for `ms` (e.g. until a rate-limit window resets). */
  pauseFor(ms: number): Promise<void>;
}

export class RedisRateLimiter implements RateLimiter {
  private readonly emissionMs: number;
  private readonly burstMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    limit: RateLimit,
    private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
  ) {
    this.emissionMs = limit.intervalMs / limit.requests;
    this.burstMs = this.emissionMs * (limit.requests - 1);
  }

  async acquire(signal?: AbortSignal): Promise<void> {
    const wait = Number(await this.redis.eval(RESERVE, 2, this.key, `${this.key}:paused`, this.emissionMs, this.burstMs));
    if (wait > 0) await this.sleep(wait, signal);
  }

  async pauseFor(ms: number): Promise<void> {
    await this.redis.eval(PAUSE, 1, `${this.key}:paused`, Math.max(1, Math.ceil(ms)));
  }
}

/** No limit (tests of other behaviour, local sandboxes). */
export const unlimited: RateLimiter = {
  async acquire() {},
  async pauseFor() {},
};
