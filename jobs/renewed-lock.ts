import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Extends our lock, or takes it again if Redis lost it (a restart without persistence) and nobody
 * else holds it; 0 when another holder has it.
 */
const RENEW = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]); return 1 end
return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
/** Takes a free lock, or one an earlier run of the same owner left (its holder died: that run is over). */
const ACQUIRE = `
local holder = redis.call('GET', KEYS[1])
if (not holder) or (ARGV[3] ~= '' and string.sub(holder, 1, string.len(ARGV[3]) + 1) == ARGV[3] .. '|') then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

/** The lock was taken by someone else while we held it (we were stalled longer than its TTL). */
export class LockLostError extends Error {
  constructor(key: string) {
    super(`lost the lock ${key} to another process; stopping so that only one of us works on it`);
    this.name = 'LockLostError';
  }
}

/**
 * A Redis lock held only while its holder lives: a short TTL, renewed every third of it while the
 * work runs. A killed worker's lock expires within one TTL, so the work resumes elsewhere within
 * seconds rather than after a long fixed TTL; work that outlasts any fixed TTL keeps its lock.
 * When a renewal finds the lock held by another process, `signal` aborts and the work must stop.
 */
export class RenewedLock {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;

  private constructor(
    private readonly redis: Redis,
    readonly key: string,
    private readonly token: string,
    private readonly ttlMs: number,
  ) {}

  /**
   * Takes the lock, or returns undefined when someone else holds it. `owner` (a job id) lets a
   * retried job take over the lock its own earlier attempt held: BullMQ runs one attempt of a job
   * at a time, so that attempt's worker is gone (or stalled, and it stops at its next renewal).
   */
  static async acquire(redis: Redis, key: string, ttlMs: number, owner = ''): Promise<RenewedLock | undefined> {
    const token = `${owner}|${randomUUID()}`;
    if ((await redis.eval(ACQUIRE, 1, key, token, String(ttlMs), owner)) !== 1) return undefined;
    const lock = new RenewedLock(redis, key, token, ttlMs);
    lock.timer = setInterval(() => void lock.renew(), Math.max(100, Math.floor(ttlMs / 3)));
    lock.timer.unref();
    return lock;
  }

  /** Aborts when the lock is lost. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  private renew(): Promise<void> {
    this.renewing ??= (async () => {
      try {
        const renewed = await this.redis.eval(RENEW, 1, this.key, this.token, String(this.ttlMs));
        if (renewed === 0) {
          this.stopRenewing();
          this.controller.abort(new LockLostError(this.key));
        }
      } catch {
        // Redis unreachable for a moment: the next renewal tries again. If it stays away longer
        // than the TTL, nobody else can take the lock either.
      } finally {
        this.renewing = undefined;
      }
    })();
    return this.renewing;
  }

  private stopRenewing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops renewing and releases the lock if it is still ours. */
  async release(): Promise<void> {
    this.stopRenewing();
    await this.renewing;
    await this.redis.eval(RELEASE, 1, this.key, this.token).catch(() => undefined);
  }
}
