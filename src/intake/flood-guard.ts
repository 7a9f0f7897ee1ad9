import type { Redis } from 'ioredis';
import type { Db } from '../db/database';
import { query } from '../db/sql';
import { ipInList, plainAddress } from '../trust/ip-allow-list';

export interface FloodLimits {
  /** Rejected attempts per client IP per minute on /cf/cv before further rejections get 429; 0 turns it off. */
  readonly rejectsPerMinute: number;
  /** Clicks per client IP per minute on /cf/click; 0 (the default) turns it off. */
  readonly clicksPerMinute: number;
}

/** How long a Redis call may take before the guard gives up and lets the request through. */
const REDIS_BUDGET_MS = 100;
/** How often the union of every network's postback_ips (the exempt addresses) is re-read. */
const EXEMPT_REFRESH_MS = 30_000;

/**
 * Holds floods off without ever refusing a valid conversion (DESIGN "Trust"). Counters live in
 * Redis under QUEUE_PREFIX so that every `serve` process of one install shares them, in fixed
 * one-minute windows. When Redis is unreachable or slow the limits fail open: a lost counter
 * costs nothing, a refused postback costs money.
 */
export class FloodGuard {
  private exempt: { list: string[]; readAt: number } = { list: [], readAt: 0 };
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis | undefined,
    private readonly db: Db,
    private readonly prefix: string,
    private readonly limits: FloodLimits,
  ) {}

  /**
   * Whether `ip` is already over its rejected-attempt limit: if so, a rejection of its next
   * attempt is answered 429 and not logged. Its valid conversions still register.
   */
  async overRejectLimit(ip: string, now = Date.now()): Promise<boolean> {
    if (this.limits.rejectsPerMinute <= 0) return false;
    if (await this.isExempt(ip)) return false;
    const count = await this.call((redis) => redis.get(this.key('rej', ip, now)));
    return count !== undefined && Number(count) > this.limits.rejectsPerMinute;
  }

  /** Counts one rejected attempt of `ip`. */
  async countRejection(ip: string, now = Date.now()): Promise<void> {
    if (this.limits.rejectsPerMinute <= 0) return;
    const key = this.key('rej', ip, now);
    await this.call((redis) => redis.multi().incr(key).pexpire(key, 120_000).exec());
  }

  /** Counts a click of `ip`; false when it is over CLICK_RATE_LIMIT_PER_MINUTE. */
  async allowClick(ip: string, now = Date.now()): Promise<boolean> {
    if (this.limits.clicksPerMinute <= 0) return true;
    const key = this.key('click', ip, now);
    const result = await this.call((redis) => redis.multi().incr(key).pexpire(key, 120_000).exec());
    const count = Number(result?.[0]?.[1] ?? 0);
    return count <= this.limits.clicksPerMinute;
  }

  private key(kind: string, ip: string, now: number): string {
    return `${this.prefix}:flood:${kind}:${plainAddress(ip)}:${Math.floor(now / 60_000)}`;
  }

  /** Runs a Redis call within the budget; undefined (fail open) when Redis is away, slow or failing. */
  private async call<T>(work: (redis: Redis) => Promise<T>): Promise<T | undefined> {
    const redis = this.redis;
    if (!redis || redis.status !== 'ready') return undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        work(redis),
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), REDIS_BUDGET_MS);
        }),
      ]);
    } catch {
      return undefined;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** Addresses in any network's postback_ips are never limited (re-read every 30 s). */
  private async isExempt(ip: string): Promise<boolean> {
    if (Date.now() - this.exempt.readAt > EXEMPT_REFRESH_MS) {
      this.refreshing ??= query<{ ip: string }>(this.db, 'SELECT DISTINCT unnest(postback_ips)::text AS ip FROM networks WHERE postback_ips IS NOT NULL')
        .then((rows) => {
          this.exempt = { list: rows.map((row) => row.ip), readAt: Date.now() };
        })
        .catch(() => undefined)
        .finally(() => {
          this.refreshing = undefined;
        });
      await this.refreshing;
    }
    return this.exempt.list.length > 0 && ipInList(this.exempt.list, ip);
  }
}
