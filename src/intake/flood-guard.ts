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
/** Over-limit addresses one process remembers at most (bounded memory under a distributed flood). */
const MAX_REMEMBERED = 100_000;
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
  /** Addresses this process knows to be over the rejected-attempt limit, until the end of their minute. */
  private readonly overUntil = new Map<string, number>();
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis | undefined,
    private readonly db: Db,
    private readonly prefix: string,
    private readonly limits: FloodLimits,
  ) {}

  /**
   * Whether `ip` is already over its rejected-attempt limit: if so, a rejection of its next
   * attempt is answered 429 and not logged. Its valid conversions still register. Answered from
   * this process's memory — what the shared counter said at this address's last rejection here —
   * so that a valid postback never waits on Redis (a GET per postback cost a fifth of throughput).
   */
  async overRejectLimit(ip: string, now = Date.now()): Promise<boolean> {
    if (this.limits.rejectsPerMinute <= 0) return false;
    const until = this.overUntil.get(plainAddress(ip));
    if (until === undefined) return false;
    if (until > now) return true;
    this.overUntil.delete(plainAddress(ip));
    return false;
  }

  /**
   * Counts one rejected attempt of `ip` in the counter every `serve` process shares. Once the
   * count passes the limit, this process remembers the address as over it until the minute ends
   * (another process learns it at its own next rejection from that address).
   */
  async countRejection(ip: string, now = Date.now()): Promise<void> {
    if (this.limits.rejectsPerMinute <= 0) return;
    const key = this.key('rej', ip, now);
    const result = await this.call((redis) => redis.multi().incr(key).pexpire(key, 120_000).exec());
    const count = Number(result?.[0]?.[1] ?? 0);
    if (count > this.limits.rejectsPerMinute && !(await this.isExempt(ip))) {
      if (this.overUntil.size >= MAX_REMEMBERED) this.forgetExpired(now);
      this.overUntil.set(plainAddress(ip), (Math.floor(now / 60_000) + 1) * 60_000);
    }
  }

  /** Counts a click of `ip`; false when it is over CLICK_RATE_LIMIT_PER_MINUTE. */
  async allowClick(ip: string, now = Date.now()): Promise<boolean> {
    if (this.limits.clicksPerMinute <= 0) return true;
    const key = this.key('click', ip, now);
    const result = await this.call((redis) => redis.multi().incr(key).pexpire(key, 120_000).exec());
    const count = Number(result?.[0]?.[1] ?? 0);
    return count <= this.limits.clicksPerMinute;
  }

  private forgetExpired(now: number): void {
    for (const [address, until] of this.overUntil) if (until <= now) this.overUntil.delete(address);
    // A flood from more addresses than this: forget the oldest rather than grow without bound.
    while (this.overUntil.size >= MAX_REMEMBERED) this.overUntil.delete(this.overUntil.keys().next().value as string);
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
