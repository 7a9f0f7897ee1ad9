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
    let timer: NodeJS.Timeout | undefined;
    const committed = this.direct.submit(entry.input, options);
    const result = await Promise.race([
      committed.then((outcome) => ({ kind: 'committed' as const, outcome }), (error: unknown) => ({ kind: 'failed' as const, error })),
      new Promise<{ kind: 'slow' }>((resolve) => {
        timer = setTimeout(() => resolve({ kind: 'slow' }), this.settings.afterMs);
      }),
    ]);
    clearTimeout(timer);
    if (result.kind === 'committed') return result.outcome;
    if (result.kind === 'slow') {
      // The commit may still land; the spooled copy then drains as a no-op.
      committed.catch(() => undefined);
      return this.toSpool(entry, 'slow_commit');
    }
    if (result.error instanceof IntakeFullError) return this.toSpool(entry, 'intake_full');
    this.settings.logger.warn({ reqId: entry.input.intakeId, err: (result.error as Error).message }, 'postback could not be committed; spooling it');
    return this.toSpool(entry, 'database_error');
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
