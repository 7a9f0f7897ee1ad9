import type { Registrar } from './registrar';
import type { RegistrationInput, RegistrationOutcome, Source } from './types';

/** A logged attempt with the evidence kept at receipt: what re-registering it needs, nothing more. */
export interface KeptAttempt {
  id: string;
  source: Source;
  connection_id: string | null;
  upload_id: string | null;
  upload_line: number | null;
  received_at: Date;
  fields: Record<string, unknown>;
  request: unknown;
  client_ip: string | null;
  token_digest: string | null;
  /** The attempt's connection's settings (pulled attempts), which price and type its conversion. */
  network_id: string | null;
  offer_id: string | null;
  conversion_type: string | null;
}

/**
 * Select list and joins that read a {@link KeptAttempt} from `registration_log l` (append a WHERE
 * on `l`). The connection's network, offer and type come along for pulled attempts.
 */
export const KEPT_ATTEMPT_FROM = `SELECT l.id::text AS id, l.source, l.connection_id, l.upload_id, l.upload_line, l.received_at, l.fields, l.request,
              host(l.client_ip) AS client_ip, l.token_digest, c.network_id, c.offer_id, c.conversion_type
         FROM registration_log l
         LEFT JOIN connections c ON c.id = l.connection_id`;

/**
 * Registers logged attempts again, exactly as they arrived: their fields, their receipt time, and
 * the trust evidence kept at receipt (route = the attempt's source, client IP, digest of the token
 * it presented), in the context of their connection or upload. Nothing about the caller enters the
 * decision: the network's current rules judge what the sender proved back then.
 *
 * Each new log row points at its original through the unique `rematch_of`, so an attempt is
 * re-registered at most once, even by concurrent callers (the loser's row is not logged and its
 * conversion is deduplicated). Attempts are grouped by source and context, one batch each.
 * Returns the outcomes by attempt id.
 */
export async function reregisterAttempts(registrar: Registrar, attempts: readonly KeptAttempt[]): Promise<Map<string, RegistrationOutcome>> {
  const groups = new Map<string, KeptAttempt[]>();
  for (const attempt of attempts) {
    const key = `${attempt.source}/${attempt.connection_id ?? ''}/${attempt.upload_id ?? ''}`;
    const group = groups.get(key);
    if (group) group.push(attempt);
    else groups.set(key, [attempt]);
  }
  const outcomes = new Map<string, RegistrationOutcome>();
  for (const group of groups.values()) {
    const first = group[0] as KeptAttempt;
    const inputs: RegistrationInput[] = group.map((attempt) => ({
      fields: attempt.fields,
      request: attempt.request,
      receivedAt: attempt.received_at,
      rematchOf: attempt.id,
      clientIp: attempt.client_ip,
      tokenDigest: attempt.token_digest,
      ...(attempt.upload_line !== null ? { line: attempt.upload_line } : {}),
    }));
    const settled = await registrar.register(inputs, {
      source: first.source,
      connectionId: first.connection_id,
      uploadId: first.upload_id,
      networkId: first.network_id,
      offerId: first.offer_id,
      defaultType: first.conversion_type,
    });
    settled.forEach((outcome, index) => outcomes.set((group[index] as KeptAttempt).id, outcome));
  }
  return outcomes;
}
