import type { PreparedStatement } from '../db/sql';
import { CLICK_LOOKUP } from './click-lookup';
import { settledReasonSql, settledStatusSql } from './outcomes';

/**
 * The pipeline's SQL, prepared once per connection. Bump a name's version suffix whenever its
 * text changes (a prepared statement of the old text may live on in a pooled connection).
 *
 * The registration statement receives the batch as one compact JSON document (node-pg's escaping
 * of array literals cost more than the statement itself) with these per-row keys:
 *   o ord · c click · t type · x txid · k dedup key (when not derived from x) · s status ·
 *   p payout · cu currency · rs/rp/rc reported payout differs (flag, amount, currency) ·
 *   mp priced by a manual offer (never repriced on update) · ca currency assumed (not in the report) ·
 *   dr result when nothing changed ·
 *   ns network status · at occurred · v visit · ra received · m meta index · pa params ·
 *   l upload line · rm rematch of · w warnings · rq raw request · ip client IP · tk token digest ·
 *   iid intake id
 */

/**
 * How a repeatedly pulled rejection is counted. On a plain ledger: an upsert on the pulled-
 * rejection key. On a partitioned ledger (opt-in, docs/operations.md) that key lives in a side
 * table whose trigger does the counting, and Postgres cannot name a conflict target there.
 */
const COUNT_IN_PLACE = `ON CONFLICT (connection_id, txid, (coalesce(click_id, '')), reason) WHERE outcome = 'rejected' AND connection_id IS NOT NULL AND txid IS NOT NULL
         DO UPDATE SET times_seen = l.times_seen + EXCLUDED.times_seen,
                       last_seen_at = greatest(l.last_seen_at, EXCLUDED.last_seen_at),
                       message = EXCLUDED.message, type = EXCLUDED.type, warnings = EXCLUDED.warnings,
                       fields = EXCLUDED.fields, request = EXCLUDED.request`;
const COUNT_BY_TRIGGER = 'ON CONFLICT DO NOTHING';

/** One ledger row per settled attempt; the statement inserts it plainly or guarded by the attempt's unique keys. */
const LOG_ATTEMPTS = `INSERT INTO registration_log (received_at, last_seen_at, source, outcome, reason, message, click_id, txid, type, conversion_id,
                                       connection_id, upload_id, upload_line, rematch_of, warnings, fields, request,
                                       client_ip, token_digest, intake_id, network_id)
         SELECT a.received_at, a.received_at, $6, a.outcome, a.reason, a.message, a.click_id, a.txid, a.type, a.conversion_id,
                $8::uuid, $9::uuid, a.line, a.rematch_of, a.warnings, a.fields, a.request, a.client_ip, a.token_digest, a.intake_id, a.network_id
           FROM attempts a`;

export const STATEMENTS = {
  types: { name: 'tally_types_v1', text: 'SELECT name FROM conversion_types' },
  addTypes: { name: 'tally_add_types_v1', text: 'INSERT INTO conversion_types (name) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING' },
  savepoint: { name: 'tally_savepoint_v2', text: 'SAVEPOINT tally_batch' },
  releaseSavepoint: { name: 'tally_release_savepoint_v1', text: 'RELEASE SAVEPOINT tally_batch' },
  rollbackToSavepoint: { name: 'tally_rollback_savepoint_v2', text: 'ROLLBACK TO SAVEPOINT tally_batch' },
  lockClicks: {
    name: 'tally_lock_clicks_v2',
    // The matched clicks are row-locked in click-id order for the batch's transaction.
    text: `${CLICK_LOOKUP}
        ORDER BY cl.click_id
          FOR NO KEY UPDATE OF cl`,
  },
  upsertAndLog: {
    name: 'tally_upsert_and_log_v10',
    text: registrationText(COUNT_IN_PLACE),
  },
  upsertAndLogPartitioned: {
    name: 'tally_upsert_and_log_partitioned_v4',
    text: registrationText(COUNT_BY_TRIGGER),
  },
} satisfies Record<string, PreparedStatement>;


/** The registration statement, with the pulled-rejection counting of one ledger layout. */
function registrationText(counting: string): string {
  return `WITH meta AS (
         SELECT * FROM jsonb_to_recordset($4::jsonb) AS m(n int, campaign_id uuid, offer_id uuid, network_id uuid, policy text)
       ),
       input AS (
         SELECT r.o AS ord, r.c AS click_id, r.t AS type, r.x AS txid,
                coalesce(r.k, CASE WHEN r.x IS NOT NULL THEN 'tx:' || r.x ELSE '' END) AS dedup_key,
                m.policy, r.s AS status, r.p AS payout, r.cu AS currency, coalesce(r.mp, false) AS manual, coalesce(r.ca, false) AS currency_assumed, coalesce(r.dr, 'unchanged') AS unchanged_result,
                CASE WHEN r.rs THEN r.rp ELSE r.p END AS reported_payout,
                CASE WHEN r.rs THEN r.rc WHEN r.p IS NULL THEN NULL ELSE r.cu END AS reported_currency,
                r.ns AS network_status,
                coalesce(r.ra, $5::timestamptz) AS received_at,
                coalesce(r.at, r.ra, $5::timestamptz) AS occurred_at,
                r.v AS visit_at, m.campaign_id, m.offer_id, m.network_id, r.pa AS params,
                r.l AS line, r.rm AS rematch_of, r.w AS warnings, r.rq AS request, r.ip AS client_ip, r.tk AS token_digest, r.iid AS intake_id
           FROM jsonb_to_recordset($1::jsonb)
             AS r(o int, c text, t text, x text, k text, s text, p numeric, cu text, mp boolean, ca boolean, dr text, rs boolean, rp numeric, rc text,
                  ns text, at timestamptz, v timestamptz, ra timestamptz, m int, pa jsonb, l int, rm bigint, w jsonb, rq jsonb,
                  ip inet, tk text, iid uuid)
           JOIN meta m ON m.n = r.m
       ),
       target AS (
         SELECT i.*, t.id AS target_id, t.dedup_key AS target_key,
                t.status AS old_status, t.payout AS old_payout, t.currency AS old_currency, t.reported_payout AS old_reported_payout,
                t.reported_currency AS old_reported_currency, t.network_status AS old_network_status, t.priced_manually AS old_priced_manually,
                seen.id IS NOT NULL AS settled_before, seen.conversion_id AS settled_conversion_id
           FROM input i
           -- The same request (intake id) already settled: a copy registered again (the spool
           -- draining after a late commit) changes nothing, not even over later reports.
           -- (Gated inside the subquery: rows without an intake id — pulls, uploads — skip the probe.)
           LEFT JOIN LATERAL (SELECT l.id, l.conversion_id FROM registration_log l WHERE i.intake_id IS NOT NULL AND l.intake_id = i.intake_id LIMIT 1) seen ON true
           -- The existing conversion this input refers to, if any: one index probe on
           -- (click_id, type, dedup_key) per input, never a scan of the table.
           LEFT JOIN LATERAL (
                SELECT c.id, c.dedup_key, c.status, c.payout, c.currency, c.reported_payout, c.reported_currency, c.network_status, c.priced_manually
                  FROM conversions c
                 -- visit_at is the click's, the same for all its conversions: it lets a partitioned
                 -- table (by visit time) prune to one partition, and costs nothing otherwise.
                 WHERE c.click_id = i.click_id AND c.type = i.type AND c.visit_at = i.visit_at
                   -- With a txid: its own row, or a txid-less one another route registered (adoption;
                   -- under the accept policy the oldest of them).
                   AND CASE WHEN i.txid IS NOT NULL THEN c.dedup_key = i.dedup_key OR (c.txid IS NULL AND c.source <> $6)
                            WHEN i.policy = 'accept' THEN c.dedup_key = i.dedup_key
                            ELSE true END
                 ORDER BY (c.dedup_key = i.dedup_key) DESC, CASE WHEN i.txid IS NOT NULL THEN c.id END ASC, c.id DESC
                 LIMIT 1) t ON true
       ),
       valued AS (
         -- The values the conversion would hold after this input. A payout assigned by a manual
         -- offer is never repriced (not even once the offer is auto), nor is one priced while the
         -- offer is manual now; a currency the report did not name stays the conversion's (the
         -- offer's currency may have changed since); a field left out keeps its value.
         SELECT t.*,
                coalesce(t.status, t.old_status, 'approved') AS new_status,
                CASE WHEN t.target_id IS NOT NULL AND (t.manual OR t.old_priced_manually OR t.payout IS NULL) THEN t.old_payout ELSE coalesce(t.payout, 0) END AS new_payout,
                CASE WHEN t.target_id IS NOT NULL AND (t.old_priced_manually OR t.payout IS NULL OR t.currency_assumed) THEN t.old_currency ELSE t.currency::char(3) END AS new_currency,
                coalesce(t.reported_payout, t.old_reported_payout) AS new_reported_payout,
                CASE WHEN t.reported_payout IS NULL THEN t.old_reported_currency
                     WHEN t.target_id IS NOT NULL AND t.currency_assumed THEN coalesce(t.old_reported_currency, t.reported_currency::char(3))
                     ELSE t.reported_currency::char(3) END AS new_reported_currency,
                coalesce(t.network_status, t.old_network_status) AS new_network_status
           FROM target t
       ),
       plan AS (
         SELECT v.*,
                CASE
                  WHEN v.settled_before THEN 'unchanged'
                  WHEN v.target_id IS NULL THEN 'inserted'
                  WHEN v.txid IS NOT NULL AND v.target_key <> v.dedup_key THEN 'adopted'
                  WHEN v.txid IS NULL AND v.policy = 'ignore' THEN 'duplicate_policy'
                  WHEN (v.old_status, v.old_payout, v.old_currency, v.old_reported_payout, v.old_reported_currency, v.old_network_status)
                       IS DISTINCT FROM (v.new_status, v.new_payout, v.new_currency, v.new_reported_payout, v.new_reported_currency, v.new_network_status)
                    THEN 'changed'
                  ELSE v.unchanged_result
                END AS result
           FROM valued v
       ),
       rates AS MATERIALIZED (
         -- Materialized: inlined, the rate function would run once per row instead of once per pair.
         SELECT k.currency, k.day, tally_fx_rate(k.currency, $7, k.day) AS rate
           FROM jsonb_to_recordset($3::jsonb) AS k(currency text, day date)
       ),
       changed AS (
         UPDATE conversions c
            SET status = p.new_status,
                payout = p.new_payout,
                currency = p.new_currency,
                reported_payout = p.new_reported_payout,
                reported_currency = p.new_reported_currency,
                network_status = p.new_network_status,
                fx_rate = tally_fx_rate(p.new_currency, c.display_currency, (c.occurred_at AT TIME ZONE 'UTC')::date),
                display_payout = round(p.new_payout * tally_fx_rate(p.new_currency, c.display_currency, (c.occurred_at AT TIME ZONE 'UTC')::date), 6),
                txid = CASE WHEN p.result = 'adopted' THEN p.txid ELSE c.txid END,
                dedup_key = CASE WHEN p.result = 'adopted' THEN p.dedup_key ELSE c.dedup_key END,
                connection_id = coalesce(c.connection_id, $8::uuid),
                params = c.params || coalesce(p.params, '{}'::jsonb),
                updated_at = now(),
                revision = c.revision + 1
           FROM plan p
          WHERE c.id = p.target_id AND c.visit_at = p.visit_at AND p.result IN ('changed', 'adopted')
          RETURNING c.id
       ),
       inserted AS (
         INSERT INTO conversions (click_id, type, txid, dedup_key, status, payout, currency, reported_payout, reported_currency, network_status,
                                  display_payout, display_currency, fx_rate, occurred_at, visit_at, received_at, source,
                                  connection_id, upload_id, campaign_id, offer_id, network_id, params, priced_manually)
         SELECT p.click_id, p.type, p.txid, p.dedup_key, p.new_status, p.new_payout, p.new_currency, p.new_reported_payout, p.new_reported_currency,
                p.new_network_status, round(p.new_payout * fx.rate, 6), $7, fx.rate, p.occurred_at, p.visit_at, p.received_at, $6,
                $8::uuid, $9::uuid, p.campaign_id, p.offer_id, p.network_id, coalesce(p.params, '{}'::jsonb), p.manual
           -- A scalar lookup in the one- or two-row rates table; as a join, the planner (which
           -- cannot estimate jsonb_to_recordset) hashed the 10,000-row side. OFFSET 0 keeps the
           -- lookup from being inlined twice.
           FROM (SELECT p.*, (SELECT r.rate FROM rates r WHERE r.currency = p.new_currency AND r.day = (p.occurred_at AT TIME ZONE 'UTC')::date) AS rate
                   FROM plan p WHERE p.result = 'inserted' OFFSET 0) p
           CROSS JOIN LATERAL (SELECT p.rate) fx
         -- No conflict target: on a plain table the identity (click_id, type, dedup_key) is the only
         -- unique key an insert can collide with; on a partitioned one (docs/operations.md) a side
         -- table's trigger keeps it, and Postgres cannot name a target there.
         ON CONFLICT DO NOTHING
         RETURNING id, click_id, type, dedup_key
       ),
       settled AS (
         SELECT p.ord, p.result, p.received_at, p.click_id, p.txid, p.type, p.line, p.rematch_of, p.warnings, p.request,
                p.client_ip, p.token_digest, p.intake_id, p.network_id,
                CASE WHEN p.settled_before THEN coalesce(p.settled_conversion_id, p.target_id) ELSE coalesce(ins.id, p.target_id) END AS conversion_id
           FROM plan p
           LEFT JOIN inserted ins ON p.result = 'inserted' AND ins.click_id = p.click_id AND ins.type = p.type AND ins.dedup_key = p.dedup_key
       ),
       attempts AS (
         SELECT s.received_at, ${settledStatusSql('s.result')} AS outcome, ${settledReasonSql('s.result')} AS reason, NULL::text AS message,
                s.click_id, s.txid, s.type, s.conversion_id, s.line, s.rematch_of, s.warnings, NULL::jsonb AS fields,
                coalesce(s.request, 'null'::jsonb) AS request, s.client_ip, s.token_digest, s.intake_id, s.network_id
           FROM settled s
          WHERE s.conversion_id IS NOT NULL AND ($10 OR s.result <> 'unchanged')
         UNION ALL
         SELECT k.received_at, k.outcome, k.reason, k.message, k.click_id, k.txid, k.type, k.conversion_id, k.line, k.rematch_of, k.warnings,
                k.fields, coalesce(k.request, 'null'::jsonb), k.client_ip, k.token_digest, k.intake_id, k.network_id
           FROM jsonb_to_recordset($2::jsonb)
             AS k(received_at timestamptz, outcome text, reason text, message text, click_id text, txid text, type text,
                  conversion_id bigint, line int, rematch_of bigint, warnings jsonb, fields jsonb, request jsonb,
                  client_ip inet, token_digest text, intake_id uuid, network_id uuid, seen int)
          WHERE k.seen IS NULL
       ),
       logged AS (
         -- Attempts that cannot collide with an earlier row (no intake id, no re-match): a plain
         -- insert; speculative insertion (ON CONFLICT) cost ~5% of a 10,000-row batch.
         ${LOG_ATTEMPTS}
          WHERE a.intake_id IS NULL AND a.rematch_of IS NULL
       ),
       guarded AS (
         -- An intake id or a re-matched attempt already settled: a second copy of the same request
         -- (the spool draining after a late commit, a concurrent re-match); its conversion was
         -- deduplicated above.
         ${LOG_ATTEMPTS}
          WHERE a.intake_id IS NOT NULL OR a.rematch_of IS NOT NULL
         ON CONFLICT DO NOTHING
       ),
       counted AS (
         -- A pulled record that keeps being rejected is logged once per (connection, txid, click, reason)
         -- and then counted; each sighting refreshes the stored record for re-matching.
         INSERT INTO registration_log AS l (received_at, last_seen_at, times_seen, source, outcome, reason, message, click_id, txid, type,
                                            connection_id, upload_id, warnings, fields, request, network_id)
         SELECT k.received_at, k.received_at, k.seen, $6, 'rejected', k.reason, k.message, k.click_id, k.txid, k.type,
                $8::uuid, $9::uuid, k.warnings, k.fields, coalesce(k.request, 'null'::jsonb), k.network_id
           FROM jsonb_to_recordset($2::jsonb)
             AS k(received_at timestamptz, reason text, message text, click_id text, txid text, type text,
                  warnings jsonb, fields jsonb, request jsonb, network_id uuid, seen int)
          WHERE k.seen IS NOT NULL
         ${counting}
       )
       SELECT ord, result, conversion_id::text AS conversion_id FROM settled`;
}
