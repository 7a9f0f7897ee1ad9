import type { Logger } from '../log/logger';
import type { Metrics } from '../observability/metrics';
import type { RegistrationInput, RegistrationOutcome } from '../pipeline/types';
import type { Spool } from '../spool/spool';
import type { ConversionIntake, IntakeOptions, IntakeOutcome } from './conversion-intake';
import { IntakeFullError } from './group-commit-intake';

/** The intake that writes to Postgres (the group commit). */
export interface DirectIntake extends ConversionIntake {
  submit(input: RegistrationInput, options: IntakeOptions): Promise<RegistrationOutcome>;
}

type CommitResult = { kind: 'committed'; outcome: RegistrationOutcome } | { kind: 'failed'; error: unknown } | { kind: 'slow' };

interface Waiter {
  readonly deadline: number;
  readonly resolve: (result: CommitResult) => void;
  done: boolean;
}

/** Why a postback went to the spool instead of straight to Postgres (a metrics label). */
export type SpoolReason = 'backlog' | 'slow_commit' | 'intake_full' | 'database_error';

/**
 * The intake `serve` uses when SPOOL_ENABLED: postbacks go to the group commit (Postgres) as
 * usual, and to the local spool — answered `queued` once fsync'd — when the database fails, when
 * the commit has not happened within SPOOL_AFTER_MS, when the in-memory intake is full, or when a
 * spooled backlog is still draining (arrival order: new postbacks queue behind it). A postback
 * spooled after a slow commit may still be committed by that commit; its intake id makes the
 * drained copy a no-op. Errors of the spool itself (full, disk) reach the route: 503.
 */
export class SpoolingIntake implements ConversionIntake {
  private readonly waiting = new Set<Waiter>();
  private sweep: NodeJS.Timeout | undefined;

  constructor(
    private readonly direct: DirectIntake,
    private readonly spool: Spool,
    private readonly settings: { readonly afterMs: number; readonly logger: Logger; readonly metrics?: Metrics },
  ) {}

  async submit(input: RegistrationInput, options: IntakeOptions): Promise<IntakeOutcome> {
    // Only an input with an intake id (every HTTP request gets one) can be drained exactly once.
    if (input.intakeId === undefined) return this.direct.submit(input, options);
    const entry = { input: { ...input, intakeId: input.intakeId, receivedAt: input.receivedAt ?? new Date() }, options };
    if (this.spool.hasBacklog) return this.toSpool(entry, 'backlog');
    const result = await this.commitOrTimeout(this.direct.submit(entry.input, options));
    if (result.kind === 'committed') return result.outcome;
    // The commit may still land; the spooled copy then drains as a no-op.
    if (result.kind === 'slow') return this.toSpool(entry, 'slow_commit');
    if (result.error instanceof IntakeFullError) return this.toSpool(entry, 'intake_full');
    this.settings.logger.warn({ reqId: entry.input.intakeId, err: (result.error as Error).message }, 'postback could not be committed; spooling it');
    return this.toSpool(entry, 'database_error');
  }

  /**
   * The commit's result, or `slow` once SPOOL_AFTER_MS has passed. One sweep timer serves every
   * waiting postback (a timer and a race per postback cost ~3% of throughput); deadlines are
   * checked every few milliseconds, at most 50.
   */
  private commitOrTimeout(committed: Promise<RegistrationOutcome>): Promise<CommitResult> {
    return new Promise((resolve) => {
      const waiter: Waiter = { deadline: Date.now() + this.settings.afterMs, resolve, done: false };
      const settle = (result: CommitResult): void => {
        if (waiter.done) return;
        waiter.done = true;
        this.waiting.delete(waiter);
        resolve(result);
      };
      this.waiting.add(waiter);
      this.startSweep();
      committed.then(
        (outcome) => settle({ kind: 'committed', outcome }),
        (error: unknown) => settle({ kind: 'failed', error }),
      );
    });
  }

  private startSweep(): void {
    if (this.sweep) return;
    this.sweep = setInterval(() => {
      const now = Date.now();
      // Waiters are in arrival order and share one delay, so their deadlines are in order too.
      for (const waiter of this.waiting) {
        if (waiter.deadline > now) break;
        waiter.done = true;
        this.waiting.delete(waiter);
        waiter.resolve({ kind: 'slow' });
      }
      if (this.waiting.size === 0 && this.sweep) {
        clearInterval(this.sweep);
        this.sweep = undefined;
      }
    }, Math.max(5, Math.min(50, Math.floor(this.settings.afterMs / 4))));
    this.sweep.unref();
  }

  /** Settles what the group commit holds; the spool drains on its own (and stops with `Spool.stop`). */
  drain(): Promise<void> {
    return this.direct.drain();
  }

  private async toSpool(entry: Parameters<Spool['append']>[0], reason: SpoolReason): Promise<IntakeOutcome> {
    await this.spool.append(entry);
    this.settings.metrics?.spoolAppended.inc({ reason });
    this.settings.logger.debug({ reqId: entry.input.intakeId, reason }, 'postback spooled');
    return { status: 'queued', intakeId: entry.input.intakeId };
  }
}
