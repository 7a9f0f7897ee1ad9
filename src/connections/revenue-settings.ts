import type { AnyConnector, RevenueFeed } from '../../connectors/kit/types';
import { InputError } from '../util/errors';

/** A revenue-feed connection's schedule: every `every_minutes` for `estimate_days`, then a final pull on day `final_after_days`. */
export interface RevenueSettings {
  readonly estimateDays: number;
  readonly finalAfterDays: number;
}

/** The stored schedule of a connection (NULL columns use the feed's defaults). */
export interface StoredRevenueSchedule {
  readonly estimate_days: number | null;
  readonly final_after_days: number | null;
}

/** The feed facts of a revenue connector, or undefined for a conversion connector. */
export function feedOf(connector: AnyConnector): RevenueFeed | undefined {
  return connector.kind === 'revenue' ? connector.feed : undefined;
}

/** A connection's effective schedule: its own values, else the feed's documented defaults. */
export function revenueSettings(feed: RevenueFeed, stored: StoredRevenueSchedule): RevenueSettings {
  return { estimateDays: stored.estimate_days ?? feed.estimateDays, finalAfterDays: stored.final_after_days ?? feed.finalAfterDays };
}

/**
 * Checks `estimate_days` / `final_after_days` sent for a connection: only revenue feeds take
 * them, and a day must be estimated before it can be final. `current` is the stored schedule
 * when the connection already exists (a PATCH may send one of the two).
 */
export function validateRevenueSchedule(connector: AnyConnector, sent: Partial<StoredRevenueSchedule>, current: StoredRevenueSchedule = { estimate_days: null, final_after_days: null }): void {
  const given = sent.estimate_days !== undefined || sent.final_after_days !== undefined;
  const feed = feedOf(connector);
  if (!feed) {
    if (given && (sent.estimate_days !== null || sent.final_after_days !== null)) {
      throw new InputError(`estimate_days and final_after_days are for revenue feeds; ${connector.id} pulls conversions (use lookback_days)`, 'invalid_schedule');
    }
    return;
  }
  const merged = revenueSettings(feed, {
    estimate_days: sent.estimate_days === undefined ? current.estimate_days : sent.estimate_days,
    final_after_days: sent.final_after_days === undefined ? current.final_after_days : sent.final_after_days,
  });
  if (merged.estimateDays > merged.finalAfterDays) {
    throw new InputError(
      `estimate_days (${merged.estimateDays}) must not exceed final_after_days (${merged.finalAfterDays}): a day is pulled as an estimate for estimate_days, then once more as final on day final_after_days`,
      'invalid_schedule',
    );
  }
}
