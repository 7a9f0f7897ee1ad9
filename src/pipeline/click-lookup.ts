import { query, type Queryable } from '../db/sql';
import type { TrackingRoute } from '../trust/trust-policy';
import type { MatchedClick } from './planner';

/** A click with its offer and network as the pipeline reads it (one row of the lookup statements). */
export interface ClickRow {
  click_id: string;
  visited_at: string;
  campaign_id: string;
  offer_id: string;
  payout_mode: 'auto' | 'manual';
  offer_payout: string | null;
  offer_currency: string | null;
  network_id: string | null;
  network_currency: string | null;
  duplicate_policy: MatchedClick['duplicate_policy'];
  postback_ips: string[] | null;
  postback_token_digest: string | null;
  previous_token_digest: string | null;
  previous_token_expires_at: Date | null;
  accepted_routes: TrackingRoute[] | null;
}

/**
 * The columns and joins of a click lookup: the click, the offer that prices it (the batch's
 * offer override, else the click's) and the network whose policy and trust apply (the batch's
 * override, else the offer's). `$1` offer override, `$2` network override, `$3` click IDs.
 */
export const CLICK_LOOKUP = `SELECT cl.click_id, cl.visited_at::text AS visited_at, cl.campaign_id, o.id AS offer_id, o.payout_mode, o.payout AS offer_payout,
              o.currency AS offer_currency, n.id AS network_id, n.currency AS network_currency, n.duplicate_policy,
              n.postback_ips::text[] AS postback_ips, n.postback_token_digest, n.previous_token_digest, n.previous_token_expires_at,
              n.accepted_routes
         FROM clicks cl
         JOIN offers o ON o.id = coalesce($1::uuid, cl.offer_id)
         LEFT JOIN networks n ON n.id = coalesce($2::uuid, o.network_id)
        WHERE cl.click_id = ANY ($3::text[])`;

/** A looked-up row as the planner takes it. */
export function toMatchedClick(row: ClickRow): MatchedClick {
  return {
    click_id: row.click_id,
    visited_at: row.visited_at,
    campaign_id: row.campaign_id,
    offer_id: row.offer_id,
    payout_mode: row.payout_mode,
    offer_payout: row.offer_payout,
    offer_currency: row.offer_currency,
    network_id: row.network_id,
    network_currency: row.network_currency,
    duplicate_policy: row.duplicate_policy,
    trust:
      row.network_id === null
        ? null
        : {
            tokenDigest: row.postback_token_digest,
            previousTokenDigest: row.previous_token_digest,
            previousTokenExpiresAt: row.previous_token_expires_at,
            postbackIps: row.postback_ips,
            acceptedRoutes: row.accepted_routes,
          },
  };
}

/** Looks a click up as the pipeline would match it, without locking or writing (explain). */
export async function findMatchedClick(db: Queryable, clickId: string, overrides: { offerId?: string | null; networkId?: string | null } = {}): Promise<MatchedClick | undefined> {
  const [row] = await query<ClickRow>(db, CLICK_LOOKUP, [overrides.offerId ?? null, overrides.networkId ?? null, [clickId]]);
  return row ? toMatchedClick(row) : undefined;
}
