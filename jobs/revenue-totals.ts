import type { NormalizedRevenueRow, RevenueFeed, RevenuePhase } from '../connectors/kit/types';
import { ConnectorResponseError } from '../connectors/kit/errors';
import { sumDecimals } from '../src/money/decimal';

export type DayState = 'estimated' | 'final';

/** One sub-id's revenue on one day: the sum of all its rows across pages, report lines and streams. */
export interface SubIdTotal {
  /** The sub-id as the feed sent it (trimmed); null for rows without one. */
  readonly subId: string | null;
  readonly amount: string;
  readonly currency: string | null;
  readonly networkStatus: string | null;
  readonly rows: readonly NormalizedRevenueRow[];
}

/** A feed day as one pull saw it. */
export interface DayTotals {
  readonly day: string;
  /** The day's stage in this pull (see {@link pulledState}). */
  readonly state: DayState;
  readonly amount: string;
  readonly currency: string | null;
  readonly subIds: readonly SubIdTotal[];
}

/**
 * Whether a pull shows a day final: for a feed with a flag, every row of the day says final
 * (a day without rows is not shown final: the feed said nothing); for a feed without one, the
 * pull is the day's final pull (it is `final_after_days` old).
 */
export function pulledState(feed: RevenueFeed, phase: RevenuePhase, rows: readonly NormalizedRevenueRow[]): DayState {
  if (feed.finalBy === 'age') return phase === 'final' ? 'final' : 'estimated';
  return rows.length > 0 && rows.every((row) => row.final === true) ? 'final' : 'estimated';
}

/**
 * The one rule about finality: a day stored as final takes no estimate (a later estimate of it
 * is ignored, never registered); a final pull may restate a final day.
 */
export function storesOver(stored: DayState | undefined, pulled: DayState): boolean {
  return !(stored === 'final' && pulled === 'estimated');
}

/** The word a sub-id's rows give for the day's stage: one of a row that agrees with the day's state. */
function wordOf(rows: readonly NormalizedRevenueRow[], state: DayState): string | null {
  const agreeing = rows.find((row) => row.network_status !== null && (row.final === true) === (state === 'final'));
  return agreeing?.network_status ?? rows.find((row) => row.network_status !== null)?.network_status ?? null;
}

/**
 * Sums a day's rows per sub-id (click IDs compare case-insensitively, so `ABC` and `abc` are one)
 * with exact decimals. A sub-id reported in two currencies on one day cannot be one conversion.
 */
export function totalsOfDay(feed: RevenueFeed, phase: RevenuePhase, day: string, rows: readonly NormalizedRevenueRow[]): DayTotals {
  const state = pulledState(feed, phase, rows);
  const bySubId = new Map<string | null, NormalizedRevenueRow[]>();
  for (const row of rows) {
    const key = row.sub_id === null ? null : row.sub_id.trim().toLowerCase();
    const group = bySubId.get(key);
    if (group) group.push(row);
    else bySubId.set(key, [row]);
  }
  const subIds: SubIdTotal[] = [];
  for (const [key, group] of bySubId) {
    const currencies = new Set(group.map((row) => row.currency));
    if (currencies.size > 1) throw new ConnectorResponseError(`the feed reported sub-id ${JSON.stringify(key)} on ${day} in several currencies (${[...currencies].join(', ')}); one conversion cannot hold them`);
    subIds.push({
      subId: key === null ? null : (group[0]?.sub_id?.trim() ?? key),
      amount: sumDecimals(group.map((row) => row.amount)),
      currency: group[0]?.currency ?? null,
      networkStatus: wordOf(group, state),
      rows: group,
    });
  }
  const currencies = new Set(subIds.map((total) => total.currency));
  return { day, state, amount: sumDecimals(subIds.map((total) => total.amount)), currency: currencies.size === 1 ? ([...currencies][0] ?? null) : null, subIds };
}
