import type { Db } from '../db/database';
import { query } from '../db/sql';
import { REMATCHABLE_REASON } from './outcomes';
import type { Registrar } from './registrar';
import type { RegistrationInput, Source } from './types';

interface UnmatchedAttempt {
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
  network_id: string | null;
  offer_id: string | null;
  conversion_type: string | null;
}

export interface RematchSummary {
  readonly attempts: number;
  readonly accepted: number;
  readonly other: number;
}

/** Attempts re-registered per round trip: bounds memory whatever the backlog. */
export const REMATCH_PAGE_SIZE = 1000;

/**
 * Re-registers attempts rejected with unknown_click_id once their clicks exist (click import
 * lag), a page at a time in log order. Each attempt keeps what trust needs — its route, client
 * IP and the digest of the token it presented — so the network's rules judge it as they would
 * have at receipt. Each original attempt is re-registered at most once: the new log row points
 * at it through the unique `rematch_of`, and a txid-less conversion under the accept policy is
 * identified by the attempt it re-registers, so a concurrent re-match of the same attempt
 * settles as a duplicate instead of counting twice.
 */
export async function rematchUnknownClicks(db: Db, registrar: Registrar, clickIds: readonly string[], pageSize = REMATCH_PAGE_SIZE): Promise<RematchSummary> {
  if (clickIds.length === 0) return { attempts: 0, accepted: 0, other: 0 };
  const ids = [...new Set(clickIds.map((id) => id.toLowerCase()))];
  let after = '0';
  let attempts = 0;
  let accepted = 0;
  for (;;) {
    const page = await query<UnmatchedAttempt>(
      db,
      `SELECT l.id::text AS id, l.source, l.connection_id, l.upload_id, l.upload_line, l.received_at, l.fields, l.request,
              host(l.client_ip) AS client_ip, l.token_digest, c.network_id, c.offer_id, c.conversion_type
         FROM registration_log l
         LEFT JOIN connections c ON c.id = l.connection_id
        WHERE l.conversion_id IS NULL AND l.reason = $4 AND l.click_id = ANY ($1::text[]) AND l.id > $2::bigint
          AND NOT EXISTS (SELECT 1 FROM registration_log r WHERE r.rematch_of = l.id)
        ORDER BY l.id
        LIMIT $3`,
      [ids, after, pageSize, REMATCHABLE_REASON],
    );
    if (page.length === 0) break;
    after = (page[page.length - 1] as UnmatchedAttempt).id;
    const groups = new Map<string, UnmatchedAttempt[]>();
    for (const attempt of page) {
      const key = `${attempt.source}/${attempt.connection_id ?? ''}/${attempt.upload_id ?? ''}`;
      const group = groups.get(key);
      if (group) group.push(attempt);
      else groups.set(key, [attempt]);
    }
    for (const group of groups.values()) {
      const first = group[0] as UnmatchedAttempt;
      const inputs: RegistrationInput[] = group.map((attempt) => ({
        fields: attempt.fields,
        request: attempt.request,
        receivedAt: attempt.received_at,
        rematchOf: attempt.id,
        clientIp: attempt.client_ip,
        tokenDigest: attempt.token_digest,
        ...(attempt.upload_line !== null ? { line: attempt.upload_line } : {}),
      }));
      const outcomes = await registrar.register(inputs, {
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
    if (page.length < pageSize) break;
  }
  return { attempts, accepted, other: attempts - accepted };
}
