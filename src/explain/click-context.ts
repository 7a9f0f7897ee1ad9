import type { Db } from '../db/database';
import { query, queryOne } from '../db/sql';
import { findNetwork, type NetworkRow } from '../catalog/network-store';

/** A click with what it leads to: campaign, offer, network. */
export interface ClickContext {
  readonly clickId: string;
  /** Postgres text form, as the planner takes it. */
  readonly visitedAt: string;
  readonly visitedAtIso: string;
  readonly campaign: { readonly id: string; readonly name: string };
  readonly offer: { readonly id: string; readonly name: string; readonly payoutMode: 'auto' | 'manual'; readonly payout: string | null; readonly currency: string | null };
  readonly network: NetworkRow | null;
}

/** Looks a click up without locking or writing anything. */
export async function findClickContext(db: Db, clickId: string): Promise<ClickContext | undefined> {
  const row = await queryOne<{
    click_id: string; visited_at: string; visited_at_iso: string; campaign_id: string; campaign_name: string; offer_id: string; offer_name: string;
    payout_mode: 'auto' | 'manual'; payout: string | null; currency: string | null; network_id: string | null;
  }>(
    db,
    `SELECT cl.click_id, cl.visited_at::text AS visited_at, to_char(cl.visited_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS visited_at_iso, cl.campaign_id, ca.name AS campaign_name, o.id AS offer_id, o.name AS offer_name,
            o.payout_mode, o.payout, o.currency, o.network_id
       FROM clicks cl JOIN campaigns ca ON ca.id = cl.campaign_id JOIN offers o ON o.id = cl.offer_id
      WHERE cl.click_id = $1`,
    [clickId],
  );
  if (!row) return undefined;
  const network = row.network_id === null ? null : ((await findNetwork(db, row.network_id)) ?? null);
  return {
    clickId: row.click_id,
    visitedAt: row.visited_at,
    visitedAtIso: row.visited_at_iso,
    campaign: { id: row.campaign_id, name: row.campaign_name },
    offer: { id: row.offer_id, name: row.offer_name, payoutMode: row.payout_mode, payout: row.payout, currency: row.currency },
    network,
  };
}

export interface PastAttempt {
  id: string;
  received_at: string;
  source: string;
  outcome: string;
  reason: string | null;
  txid: string | null;
  type: string | null;
  conversion_id: string | null;
  registered_again_as: string | null;
}

export interface PastConversion {
  id: string;
  txid: string | null;
  type: string;
  status: string;
  payout: string;
  currency: string;
  occurred_at: string;
  source: string;
}

const HISTORY_LIMIT = 20;

/**
 * What already happened for a click ID (or, without one, a txid): the latest attempts in the
 * postback log and the conversions registered for it.
 */
export async function findHistory(db: Db, key: { clickId: string | null; txid: string | null }): Promise<{ attempts: PastAttempt[]; conversions: PastConversion[] }> {
  const attemptColumns = `l.id::text AS id, to_char(l.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS received_at, l.source, l.outcome, l.reason,
                          l.txid, l.type, l.conversion_id::text AS conversion_id,
                          (SELECT r.id::text FROM registration_log r WHERE r.rematch_of = l.id) AS registered_again_as`;
  if (key.clickId !== null) {
    const [attempts, conversions] = await Promise.all([
      query<PastAttempt>(
        db,
        // Settled attempts are indexed through their conversion, unsettled ones by click id.
        `SELECT ${attemptColumns} FROM registration_log l
          WHERE l.conversion_id IN (SELECT id FROM conversions WHERE click_id = $1) OR (l.conversion_id IS NULL AND l.click_id = $1)
          ORDER BY l.id DESC LIMIT ${HISTORY_LIMIT}`,
        [key.clickId],
      ),
      query<PastConversion>(
        db,
        `SELECT id::text AS id, txid, type, status, payout::text AS payout, currency,
                to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS occurred_at, source
           FROM conversions WHERE click_id = $1 ORDER BY id DESC LIMIT ${HISTORY_LIMIT}`,
        [key.clickId],
      ),
    ]);
    return { attempts, conversions };
  }
  if (key.txid !== null) {
    const attempts = await query<PastAttempt>(db, `SELECT ${attemptColumns} FROM registration_log l WHERE l.txid = $1 ORDER BY l.id DESC LIMIT ${HISTORY_LIMIT}`, [key.txid]);
    return { attempts, conversions: [] };
  }
  return { attempts: [], conversions: [] };
}
