import { addDays, startOfZonedDay, zonedDay } from './zoned-time';

/** A daily request quota shared by every app on the account (ClickBank: 25,000 a day). */
export interface QuotaSpec {
  readonly requestsPerDay: number;
  /** The quota resets at midnight in this zone. */
  readonly resetTimeZone: string;
  /** Where the quota and its reset are documented, or "INFERRED: …". */
  readonly source: string;
}

/** The outcome of asking the budget for one request. */
export type QuotaTake = { readonly ok: true } | { readonly ok: false; readonly resetAt: Date };

/**
 * An account's daily request budget, counted across every worker process. Implemented over
 * Redis in jobs/ (connectors never touch Redis); `MemoryQuotaBudget` serves tests and one-off calls.
 */
export interface QuotaBudget {
  /** Counts one request against today's budget, or says the budget is spent until `resetAt`. */
  take(): Promise<QuotaTake>;
  /** The API said the quota is spent (other apps share it): no request until the reset. */
  exhaust(resetAt: Date): Promise<void>;
  /** A call succeeded now. */
  noteSuccess(): Promise<void>;
  /** When a call of this connection last succeeded, or null if never (as far as we know). */
  lastSuccessAt(): Promise<Date | null>;
}

/** The quota's last reset at or before `now`. */
export function lastQuotaReset(spec: Pick<QuotaSpec, 'resetTimeZone'>, now: Date): Date {
  return startOfZonedDay(zonedDay(now, spec.resetTimeZone), spec.resetTimeZone);
}

/** The quota's next reset after `now`. */
export function nextQuotaReset(spec: Pick<QuotaSpec, 'resetTimeZone'>, now: Date): Date {
  return startOfZonedDay(addDays(zonedDay(now, spec.resetTimeZone), 1), spec.resetTimeZone);
}

/** An in-process budget: for tests, and for a single `/test` call where no shared count exists. */
export class MemoryQuotaBudget implements QuotaBudget {
  private used = 0;
  private day: string | undefined;
  private exhaustedUntil = 0;
  private lastSuccess: Date | null;

  constructor(
    private readonly spec: QuotaSpec,
    options: { lastSuccessAt?: Date | null; now?: () => Date } = {},
  ) {
    this.lastSuccess = options.lastSuccessAt ?? null;
    this.now = options.now ?? (() => new Date());
  }

  private readonly now: () => Date;

  async take(): Promise<QuotaTake> {
    const now = this.now();
    const day = zonedDay(now, this.spec.resetTimeZone);
    if (day !== this.day) {
      this.day = day;
      this.used = 0;
    }
    if (now.getTime() < this.exhaustedUntil || this.used >= this.spec.requestsPerDay) return { ok: false, resetAt: nextQuotaReset(this.spec, now) };
    this.used += 1;
    return { ok: true };
  }

  async exhaust(resetAt: Date): Promise<void> {
    this.exhaustedUntil = Math.max(this.exhaustedUntil, resetAt.getTime());
  }

  async noteSuccess(): Promise<void> {
    this.lastSuccess = this.now();
  }

  async lastSuccessAt(): Promise<Date | null> {
    return this.lastSuccess;
  }
}
