import type { LoadedConnection } from '../src/connections/connection-store';
import type { PreparedStatement, Transaction } from '../src/db/sql';
import type { Registrar } from '../src/pipeline/registrar';
import type { RegistrationInput } from '../src/pipeline/types';
import { roundDecimal, sumDecimals } from '../src/money/decimal';
import type { RevenuePhase } from '../connectors/kit/types';
import { countOutcomes, isUnmatched, type PullStats } from './pull-stats';
import { feedNoon } from './revenue-schedule';
import { storesOver, type DayState, type DayTotals } from './revenue-totals';

/** Conversions of revenue feeds have this type (seeded; counts in conversions and revenue). */
export const REVENUE_TYPE = 'revenue';

/** What one pull did with one feed day: the pull run's per-day line, so totals reconcile with the feed. */
export interface RevenueDayReport {
  readonly day: string;
  readonly phase: RevenuePhase;
  /** The day's state after this pull. */
  readonly state: DayState;
  /** The day's total in this pull, matched and unmatched, as the feed reported it. */
  readonly amount: string;
  /** Revenue whose sub-id matched no click (or was empty or unusable). */
  readonly unmatched_amount: string;
  readonly currency: string | null;
  readonly sub_ids: number;
  readonly unmatched_sub_ids: number;
  /** Conversions of this day from earlier pulls whose sub-id the feed no longer reports (left as they are). */
  readonly vanished: number;
  /** An estimate of a day already final: not registered. */
  readonly ignored: boolean;
}

const LOCK_DAY: PreparedStatement = {
  // The upsert takes the day's row lock until commit: pulls of one day (schedule, backfill) serialize here.
  name: 'tally_revenue_day_lock_v1',
  text: `INSERT INTO revenue_days (connection_id, day) VALUES ($1, $2)
         ON CONFLICT (connection_id, day) DO UPDATE SET connection_id = EXCLUDED.connection_id
         RETURNING state, pulls`,
};

const NOTE_IGNORED: PreparedStatement = {
  name: 'tally_revenue_day_ignored_v1',
  text: `UPDATE revenue_days SET pulls = pulls + 1, last_pulled_at = now(),
                                final_attempted_at = CASE WHEN $3 = 'final' THEN now() ELSE final_attempted_at END
          WHERE connection_id = $1 AND day = $2`,
};

const STORE_DAY: PreparedStatement = {
  name: 'tally_revenue_day_store_v1',
  text: `UPDATE revenue_days SET state = $3, amount = $4, unmatched_amount = $5, currency = $6, sub_ids = $7, unmatched_sub_ids = $8,
                                network_status = $9, pulls = pulls + 1, last_pulled_at = now(),
                                final_at = CASE WHEN $3 = 'final' THEN coalesce(final_at, now()) ELSE final_at END,
                                final_attempted_at = CASE WHEN $10 = 'final' THEN now() ELSE final_attempted_at END
          WHERE connection_id = $1 AND day = $2`,
};

/** Scale of a conversion's payout. */
const CONVERSION_DECIMALS = 6;

const EXISTING: PreparedStatement = {
  name: 'tally_revenue_day_existing_v1',
  text: 'SELECT lower(click_id) AS click_id FROM conversions WHERE connection_id = $1 AND type = $2 AND txid = $3',
};

const VANISHED: PreparedStatement = {
  name: 'tally_revenue_day_vanished_v1',
  text: `SELECT count(*)::int AS count FROM conversions
          WHERE connection_id = $1 AND type = $2 AND txid = $3 AND NOT (id = ANY($4::bigint[]))`,
};

/** The pipeline input of one sub-id's day: one conversion of type `revenue`, txid `<feed>:<day>`. */
function inputOf(feedId: string, timeZone: string, totals: DayTotals, index: number): RegistrationInput {
  const total = totals.subIds[index]!;
  const fields: Record<string, string> = {
    txid: `${feedId}:${totals.day}`,
    // Conversions hold 6 decimals (NUMERIC(20,6)); feeds may send more (float tails such as
    // 0.026999999). The day's exact total stays on revenue_days.
    payout: roundDecimal(total.amount, CONVERSION_DECIMALS),
    status: totals.state === 'final' ? 'approved' : 'pending',
    ct: REVENUE_TYPE,
    timestamp: feedNoon(totals.day, timeZone).toISOString(),
  };
  if (total.subId !== null) fields.click_id = total.subId;
  if (total.currency !== null) fields.payout_currency = total.currency;
  if (total.networkStatus !== null) fields.network_status = total.networkStatus;
  // The log keeps the feed's rows this conversion sums.
  return { fields, request: { feed: feedId, day: totals.day, sub_id: total.subId, rows: total.rows.map((row) => row.raw) } };
}

/**
 * Stores one feed day inside the caller's transaction: locks the day, and unless the day is
 * final and this pull only estimates it, registers one conversion per sub-id through the
 * pipeline (restatements come back `updated`, unknown sub-ids `unknown_click_id`) and records
 * the day's sums. Returns the pipeline's counts and the day's report line.
 */
export async function storeRevenueDay(
  transaction: Transaction,
  registrar: Registrar,
  connection: LoadedConnection,
  timeZone: string,
  phase: RevenuePhase,
  totals: DayTotals,
): Promise<{ stats: PullStats; report: RevenueDayReport }> {
  const { row, connector } = connection;
  const [stored] = await transaction.query<{ state: DayState; pulls: number }>(LOCK_DAY, [row.id, totals.day]);
  const base = { day: totals.day, phase, amount: totals.amount, currency: totals.currency, sub_ids: totals.subIds.length };
  if (!storesOver(stored?.state, totals.state)) {
    await transaction.query(NOTE_IGNORED, [row.id, totals.day, phase]);
    const stats = countOutcomes([]);
    stats.fetched = totals.subIds.length;
    stats.unchanged = totals.subIds.length;
    return { stats, report: { ...base, state: 'final', unmatched_amount: '0', unmatched_sub_ids: 0, vanished: 0, ignored: true } };
  }
  // A sub-id whose day adds up to zero earned nothing: it is registered only to restate a
  // conversion it already has (an estimate taken back), never as a new zero-revenue conversion,
  // which would count in conversions. Read under the day's lock, so no other pull of the day races it.
  // Sums are canonical decimals (revenue-totals.ts): zero is "0".
  const zero = (amount: string) => amount === '0';
  let existing = new Set<string>();
  if (totals.subIds.some((total) => zero(total.amount))) {
    const rows = await transaction.query<{ click_id: string }>(EXISTING, [row.id, REVENUE_TYPE, `${connector.id}:${totals.day}`]);
    existing = new Set(rows.map((found) => found.click_id));
  }
  const kept = totals.subIds.flatMap((total, index) => (!zero(total.amount) || (total.subId !== null && existing.has(total.subId.toLowerCase())) ? [index] : []));
  const skipped = totals.subIds.length - kept.length;
  const inputs = kept.map((index) => inputOf(connector.id, timeZone, totals, index));
  const outcomes =
    inputs.length > 0
      ? await registrar.register(inputs, {
          source: 'api',
          connectionId: row.id,
          networkId: row.network_id,
          offerId: row.offer_id,
          defaultType: REVENUE_TYPE,
          // Every tick re-reads the estimate days: only changes and rejections go to the log.
          logUnchanged: false,
          transaction,
        })
      : [];
  // Unmatched: no click to give it to. A sub-id rejected for another reason is counted as rejected on the run, not here.
  const unmatched = kept.flatMap((subIdIndex, index) => (isUnmatched(outcomes[index]) ? [totals.subIds[subIdIndex]!] : []));
  const reported = outcomes.flatMap((outcome) => (outcome.conversionId !== null ? [outcome.conversionId] : []));
  const [vanished] = await transaction.query<{ count: number }>(VANISHED, [row.id, REVENUE_TYPE, `${connector.id}:${totals.day}`, reported]);
  const unmatchedAmount = sumDecimals(unmatched.map((total) => total.amount));
  const networkStatus = totals.subIds.find((total) => total.networkStatus !== null)?.networkStatus ?? null;
  await transaction.query(STORE_DAY, [row.id, totals.day, totals.state, totals.amount, unmatchedAmount, totals.currency, totals.subIds.length, unmatched.length, networkStatus, phase]);
  const stats = countOutcomes(outcomes);
  stats.fetched += skipped;
  stats.unchanged += skipped;
  return {
    stats,
    report: { ...base, state: totals.state, unmatched_amount: unmatchedAmount, unmatched_sub_ids: unmatched.length, vanished: vanished?.count ?? 0, ignored: false },
  };
}
