import type { Db } from '../db/database';
import { query } from '../db/sql';
import type { Registrar } from './registrar';
import type { RegistrationInput, RegistrationOutcome, Source } from './types';

interface UnmatchedAttempt {
  id: string;
  source: Source;
  connection_id: string | null;
  upload_id: string | null;
  upload_line: number | null;
  received_at: Date;
  fields: Record<string, unknown>;
  request: unknown;
  network_id: string | null;
  offer_id: string | null;
  conversion_type: string | null;
}

export interface RematchSummary {
  readonly attempts: number;
  readonly accepted: number;
  readonly other: number;
}

/**
 * Re-registers attempts that were rejected with unknown_click_id once their clicks exist (click
 * import lag). Each original attempt is re-registered at most once: the new log row points at it
 * through `rematch_of`, which is unique, so a concurrent rematch of the same attempt rolls back
 * instead of counting twice.
 */
export async function rematchUnknownClicks(db: Db, registrar: Registrar, clickIds: readonly string[]): Promise<RematchSummary> {
  if (clickIds.length === 0) return { attempts: 0, accepted: 0, other: 0 };
  const select = (): Promise<UnmatchedAttempt[]> =>
    query<UnmatchedAttempt>(db, `SELECT l.id::text AS id, l.source, l.connection_id, l.upload_id, l.upload_line, l.received_at, l.fields, l.request,
              c.network_id, c.offer_id, c.conversion_type
         FROM registration_log l
         LEFT JOIN connections c ON c.id = l.connection_id
        WHERE l.conversion_id IS NULL AND l.reason = 'unknown_click_id' AND l.click_id = ANY ($1::text[])
          AND NOT EXISTS (SELECT 1 FROM registration_log r WHERE r.rematch_of = l.id)
        ORDER BY l.id`,
      [[...new Set(clickIds.map((id) => id.toLowerCase()))]],
    );

  let attempts = 0;
  let accepted = 0;
  for (let pass = 0; pass < 3; pass += 1) {
    const pending = await select();
    if (pending.length === 0) break;
    const groups = new Map<string, UnmatchedAttempt[]>();
    for (const attempt of pending) {
      const key = `${attempt.source}/${attempt.connection_id ?? ''}/${attempt.upload_id ?? ''}`;
      groups.set(key, [...(groups.get(key) ?? []), attempt]);
    }
    try {
      for (const group of groups.values()) {
        const first = group[0] as UnmatchedAttempt;
        const inputs: RegistrationInput[] = group.map((attempt) => ({
          fields: attempt.fields,
          request: attempt.request,
          receivedAt: attempt.received_at,
          rematchOf: attempt.id,
          ...(attempt.upload_line !== null ? { line: attempt.upload_line } : {}),
        }));
        const outcomes: RegistrationOutcome[] = await registrar.register(inputs, {
          source: first.source,
          connectionId: first.connection_id,
          uploadId: first.upload_id,
          networkId: first.network_id,
          offerId: first.offer_id,
          defaultType: first.conversion_type,
        });
        attempts += outcomes.length;
        accepted += outcomes.filter((outcome) => outcome.status === 'accepted').length;
      }
      break;
    } catch (error) {
      // 23505 on registration_log_rematch_of_key: another process re-matched some of these first.
      if ((error as { code?: string }).code !== '23505') throw error;
    }
  }
  return { attempts, accepted, other: attempts - accepted };
}
