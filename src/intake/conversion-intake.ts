import type { RegisterOptions, RegistrationInput, RegistrationOutcome } from '../pipeline/types';

/** Options of a single submission; the intake groups submissions with equal options. */
export type IntakeOptions = Pick<RegisterOptions, 'source' | 'connectionId' | 'uploadId' | 'networkId' | 'offerId' | 'defaultType'>;

/** A postback that is durable in the local spool and will be registered when the database takes it (answered 202). */
export interface QueuedOutcome {
  readonly status: 'queued';
  readonly intakeId: string;
}

/** What an intake answers: the pipeline's outcome, or that the postback was spooled. */
export type IntakeOutcome = RegistrationOutcome | QueuedOutcome;

/** Whether two submissions can share a pipeline batch. */
export function sameIntakeOptions(a: IntakeOptions, b: IntakeOptions): boolean {
  return a.source === b.source && (a.connectionId ?? null) === (b.connectionId ?? null) && (a.uploadId ?? null) === (b.uploadId ?? null)
    && (a.networkId ?? null) === (b.networkId ?? null) && (a.offerId ?? null) === (b.offerId ?? null) && (a.defaultType ?? null) === (b.defaultType ?? null);
}

/**
 * Where the HTTP routes hand conversions. `submit` resolves once the outcome is durable, and only
 * then may the request be acknowledged. The group-commit implementation writes to Postgres; the
 * spooling intake (src/intake/spooling-intake.ts) sits in front of it and answers `queued` once a
 * postback is on local disk instead.
 */
export interface ConversionIntake {
  submit(input: RegistrationInput, options: IntakeOptions): Promise<IntakeOutcome>;
  /** Waits for everything submitted so far to be settled (graceful shutdown). */
  drain(): Promise<void>;
}
