import type { Redis } from 'ioredis';
import { nextQuotaReset, type QuotaBudget, type QuotaSpec, type QuotaTake } from '../connectors/kit/quota';
import { zonedDay } from '../connectors/kit/zoned-time';

const TAKE = `
local spent = tonumber(redis.call('GET', KEYS[2]) or '0')
if spent > tonumber(ARGV[3]) then return -1 end
local used = redis.call('INCR', KEYS[1])
if used == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if used > tonumber(ARGV[1]) then return -1 end
return used
`;

/**
 * A connection's daily request budget in Redis, shared by every worker: a counter per quota day
 * (the day in the quota's reset zone), a "spent until" mark set when the API says the quota is
 * gone (other apps on the account use it too), and the time of the last successful call, which
 * decides whether an ambiguous 403 is the quota.
 */
export class RedisQuotaBudget implements QuotaBudget {
  constructor(
    private readonly redis: Redis,
    /** Key prefix of this budget, e.g. `${QUEUE_PREFIX}:quota:${connectionId}`. */
    private readonly key: string,
    private readonly spec: QuotaSpec,
    private readonly options: { lastSuccessFallback?: Date | null; now?: () => Date } = {},
  ) {}

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  async take(): Promise<QuotaTake> {
    const now = this.now();
    const day = zonedDay(now, this.spec.resetTimeZone);
    const resetAt = nextQuotaReset(this.spec, now);
    const ttl = resetAt.getTime() - now.getTime() + 3_600_000;
    const used = Number(await this.redis.eval(TAKE, 2, `${this.key}:used:${day}`, `${this.key}:spent-until`, this.spec.requestsPerDay, ttl, now.getTime()));
    return used < 0 ? { ok: false, resetAt } : { ok: true };
  }

  async exhaust(resetAt: Date): Promise<void> {
    const ms = resetAt.getTime() - this.now().getTime();
    if (ms > 0) await this.redis.set(`${this.key}:spent-until`, String(resetAt.getTime()), 'PX', ms);
  }

  async noteSuccess(): Promise<void> {
    await this.redis.set(`${this.key}:last-success`, String(this.now().getTime()), 'PX', 3 * 86_400_000);
  }

  async lastSuccessAt(): Promise<Date | null> {
    const stored = await this.redis.get(`${this.key}:last-success`);
    if (stored !== null) return new Date(Number(stored));
    return this.options.lastSuccessFallback ?? null;
  }
}
