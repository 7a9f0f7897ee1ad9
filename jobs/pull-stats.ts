import type { RegistrationOutcome } from '../src/pipeline/types';

/** What a pull did with the records it fetched. */
export interface PullStats {
  fetched: number;
  inserted: number;
  updated: number;
  unchanged: number;
  unmatched: number;
  rejected: number;
}

export const emptyStats = (): PullStats => ({ fetched: 0, inserted: 0, updated: 0, unchanged: 0, unmatched: 0, rejected: 0 });

/** Counts one page's outcomes. Records without a click ID count as unmatched, like unknown ones. */
/** A rejection that means the record matched no click (counted as unmatched, not rejected). */
export function isUnmatched(outcome: RegistrationOutcome | undefined): boolean {
  return outcome?.status === 'rejected' && (outcome.reason === 'unknown_click_id' || outcome.reason === 'missing_click_id');
}

export function countOutcomes(outcomes: readonly RegistrationOutcome[]): PullStats {
  const stats = emptyStats();
  for (const outcome of outcomes) {
    stats.fetched += 1;
    if (outcome.status === 'accepted') stats.inserted += 1;
    else if (outcome.status === 'updated') stats.updated += 1;
    else if (outcome.status === 'duplicate') stats.unchanged += 1;
    else if (isUnmatched(outcome)) stats.unmatched += 1;
    else stats.rejected += 1;
  }
  return stats;
}

export function addStats(total: PullStats, page: PullStats): void {
  for (const key of Object.keys(total) as (keyof PullStats)[]) total[key] += page[key];
}
