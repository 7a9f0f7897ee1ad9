/** Failed logins accepted per client address per minute before the login form answers 429. */
export const LOGIN_FAILURES_PER_MINUTE = 10;
const WINDOW_MS = 60_000;
const MAX_TRACKED = 10_000;

/**
 * Slows down guessing of the admin token through the login form: after too many failures from one
 * address in a minute, further attempts are refused until the minute is over. Per process (each
 * `serve` counts its own); the token's length is the real protection.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(private readonly limit = LOGIN_FAILURES_PER_MINUTE) {}

  /** Seconds until `ip` may try again, or 0 when it may now. */
  retryAfterSeconds(ip: string, now = Date.now()): number {
    const entry = this.failures.get(ip);
    if (!entry || now - entry.since >= WINDOW_MS || entry.count < this.limit) return 0;
    return Math.ceil((entry.since + WINDOW_MS - now) / 1000);
  }

  failed(ip: string, now = Date.now()): void {
    const entry = this.failures.get(ip);
    if (entry && now - entry.since < WINDOW_MS) {
      entry.count += 1;
      return;
    }
    if (this.failures.size >= MAX_TRACKED) this.failures.clear();
    this.failures.set(ip, { count: 1, since: now });
  }

  succeeded(ip: string): void {
    this.failures.delete(ip);
  }
}
