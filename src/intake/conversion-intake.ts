import type { RegisterOptions, RegistrationInput, RegistrationOutcome } from '../pipeline/types';

/** Options of a single submission; the intake groups submissions with equal options. */
export type IntakeOptions = Pick<RegisterOptions, 'source' | 'connectionId' | 'uploadId' | 'networkId' | 'offerId' | 'defaultType'>;

/**
 * Where the HTTP routes hand conversions. `submit` resolves once the outcome is durable, and only
 * then may the request be acknowledged. The group-commit implementation writes to Postgres; a
 * local durable spool (append to disk, fsync, acknowledge, forward in the background) can
 * implement the same interface and sit in front of it without the routes changing.
 */
export interface ConversionIntake {
  submit(input: RegistrationInput, options: IntakeOptions): Promise<RegistrationOutcome>;
  /** Waits for everything submitted so far to be settled (graceful shutdown). */
  drain(): Promise<void>;
}
