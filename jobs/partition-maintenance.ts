import type { Db } from '../src/db/database';
import { query } from '../src/db/sql';

/** Months of partitions kept ready ahead of time, so that rows never wait in the default partition. */
export const MONTHS_AHEAD = 12;

/**
 * For an install that opted into monthly partitioning (docs/operations.md): creates the coming
 * months' partitions of conversions and registration_log. A no-op otherwise. Run daily with the
 * retention job.
 */
export async function extendMonthlyPartitions(db: Db, monthsAhead = MONTHS_AHEAD): Promise<number> {
  const [row] = await query<{ made: string }>(db, `
    SELECT coalesce(sum(tally_month_partitions(c.oid::regclass, date_trunc('month', now())::date, (date_trunc('month', now()) + make_interval(months => $1 + 1))::date)), 0)::text AS made
      FROM pg_class c
     WHERE c.oid IN (to_regclass('conversions'), to_regclass('registration_log')) AND c.relkind = 'p'`, [monthsAhead]);
  return Number(row?.made ?? 0);
}
