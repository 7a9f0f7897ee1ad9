import type { IntakeOptions } from '../intake/conversion-intake';
import type { RegistrationInput } from '../pipeline/types';

/** A postback as the spool keeps it: the pipeline input exactly as intake built it, and its route. */
export interface SpooledPostback {
  /** Carries the intake id (which the ledger makes unique), receipt time, client IP and token digest. */
  readonly input: RegistrationInput & { readonly intakeId: string; readonly receivedAt: Date };
  readonly options: IntakeOptions;
}

const FORMAT = 1;

/** JSON on disk; the one value JSON cannot carry, the receipt time, travels as ISO 8601. */
export function encodeSpooledPostback(entry: SpooledPostback): Buffer {
  return Buffer.from(JSON.stringify({ v: FORMAT, options: entry.options, input: { ...entry.input, receivedAt: entry.input.receivedAt.toISOString() } }), 'utf8');
}

/** Reads an entry back; an entry of a format this version does not know is an error, never a guess. */
export function decodeSpooledPostback(payload: Buffer): SpooledPostback {
  const parsed = JSON.parse(payload.toString('utf8')) as { v?: unknown; options?: IntakeOptions; input?: RegistrationInput & { intakeId?: unknown; receivedAt?: unknown } };
  if (parsed.v !== FORMAT) throw new Error(`spool entry format ${String(parsed.v)} is not understood by this version of Tally (it writes format ${FORMAT})`);
  const input = parsed.input;
  if (!input || typeof input.intakeId !== 'string' || typeof input.receivedAt !== 'string' || !parsed.options) throw new Error('spool entry lacks its input, intake id, receipt time or options');
  return { options: parsed.options, input: { ...input, intakeId: input.intakeId, receivedAt: new Date(input.receivedAt) } };
}
