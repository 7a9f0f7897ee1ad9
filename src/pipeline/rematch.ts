import type { Db } from '../db/database';
import { query } from '../db/sql';
import { REMATCHABLE_REASON } from './outcomes';
import type { Registrar } from './registrar';
import { KEPT_ATTEMPT_FROM, reregisterAttempts, type KeptAttempt } from './reregister';

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
    const page = await query<KeptAttempt>(
      db,
      `${KEPT_ATTEMPT_FROM}
        WHERE l.conversion_id IS NULL AND l.reason = $4 AND l.click_id = ANY ($1::text[]) AND l.id > $2::bigint
          AND NOT EXISTS (SELECT 1 FROM registration_log r WHERE r.rematch_of = l.id)
        ORDER BY l.id
        LIMIT $3`,
      [ids, after, pageSize, REMATCHABLE_REASON],
    );
    if (page.length === 0) break;
    after = (page[page.length - 1] as KeptAttempt).id;
    const outcomes = await reregisterAttempts(registrar, page);
    attempts += outcomes.size;
    accepted += [...outcomes.values()].filter((outcome) => outcome.status === 'accepted').length;
    if (page.length < pageSize) break;
  }
  return { attempts, accepted, other: attempts - accepted };
}
