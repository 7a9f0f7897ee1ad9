import { ConnectorConfigError } from '../connectors/kit/errors';
import type { ConnectorContext, NormalizedRevenueRow, PullWindow, RejectedRecord, RevenueFeed } from '../connectors/kit/types';
import { addDays, zonedDay } from '../connectors/kit/zoned-time';
import { markConnectionHealth, type LoadedConnection } from '../src/connections/connection-store';
import { feedOf, revenueSettings, type RevenueSettings } from '../src/connections/revenue-settings';
import type { Db } from '../src/db/database';
import { query, transaction, type PreparedStatement, type Transaction } from '../src/db/sql';
import type { Registrar } from '../src/pipeline/registrar';
import { connectorContextFor, type JobDeps } from './job-deps';
import { rejectedRecordInput, type OnPageStored } from './pull-chunk';
import type { PullResult, PullTrigger } from './pull-job';
import { addStats, countOutcomes, emptyStats, type PullStats } from './pull-stats';
import { storeRevenueDay, type RevenueDayReport } from './revenue-day-store';
import { backfillDays, dayGroups, FINAL_RETRY_DAYS, feedDaysWindow, scheduledDays, type KnownDay, type PlannedDay } from './revenue-schedule';
import { totalsOfDay } from './revenue-totals';
import { closeAbandonedRuns } from './abandoned-runs';

/** Called in the transaction of every stored day; `last` marks the final day of the pull or chunk. */
export type OnDayStored = (transaction: Transaction, stats: PullStats, last: boolean, report: RevenueDayReport | undefined) => Promise<void>;

const COUNT_REVENUE_RUN: PreparedStatement = {
  name: 'tally_count_revenue_run_v1',
  text: `UPDATE pull_runs SET fetched = fetched + $2, inserted = inserted + $3, updated = updated + $4, unchanged = unchanged + $5,
                             unmatched = unmatched + $6, rejected = rejected + $7, revenue = coalesce(revenue, '[]'::jsonb) || $8::jsonb
          WHERE id = $1`,
};

function feedOrThrow(connection: LoadedConnection): RevenueFeed {
  const feed = feedOf(connection.connector);
  if (!feed) throw new ConnectorConfigError(`${connection.connector.name} pulls conversions, not a revenue feed`);
  return feed;
}

function settingsOf(connection: LoadedConnection, feed: RevenueFeed): RevenueSettings {
  return revenueSettings(feed, { estimate_days: connection.row.estimate_days ?? null, final_after_days: connection.row.final_after_days ?? null });
}

/**
 * Pulls feed days and stores each: days of one phase in a row are one connector pull (all its
 * pages are read first, because a day's rows are summed per sub-id across pages, report lines
 * and streams); then each day is stored in a transaction of its own. Days without rows are
 * stored too (their state and "pulled" time move on).
 */
export async function pullRevenueDays(
  deps: { db: Db; registrar: Registrar },
  connection: LoadedConnection,
  context: ConnectorContext<Record<string, unknown>>,
  days: readonly PlannedDay[],
  onDayStored: OnDayStored,
): Promise<PullStats> {
  const feed = feedOrThrow(connection);
  const connector = connection.connector;
  const total = emptyStats();
  if (days.length === 0) {
    await transaction(deps.db, (trx) => onDayStored(trx, emptyStats(), true, undefined));
    return total;
  }
  const groups = dayGroups(days, connector.maxWindowDays);
  for (const [groupIndex, group] of groups.entries()) {
    const phase = group[0]!.phase;
    const window = feedDaysWindow(group[0]!.day, group[group.length - 1]!.day, feed.timeZone, phase);
    const rowsByDay = new Map<string, NormalizedRevenueRow[]>(group.map((planned) => [planned.day, []]));
    if (connector.kind !== 'revenue') throw new ConnectorConfigError(`${connector.name} is not a revenue feed`);
    // A row the feed sent that cannot be read is logged as a rejection of its own (with its raw
    // form), never allowed to fail the whole pull; the day's total is what could be read.
    const unreadable: RejectedRecord[] = [];
    for await (const page of connector.pull({ ...context, rejected: (record) => unreadable.push(record) }, window)) {
      for (const row of page) rowsByDay.get(row.day)?.push(row);
    }
    if (unreadable.length > 0) {
      const rejectedStats = await transaction(deps.db, async (trx) => {
        const outcomes = await deps.registrar.register(unreadable.map(rejectedRecordInput), {
          source: 'api', connectionId: connection.row.id, networkId: connection.row.network_id, offerId: connection.row.offer_id, logUnchanged: false, transaction: trx,
        });
        return countOutcomes(outcomes);
      });
      addStats(total, rejectedStats);
    }
    for (const [dayIndex, planned] of group.entries()) {
      const totals = totalsOfDay(feed, phase, planned.day, rowsByDay.get(planned.day) ?? []);
      const last = groupIndex === groups.length - 1 && dayIndex === group.length - 1;
      const stats = await transaction(deps.db, async (trx) => {
        const stored = await storeRevenueDay(trx, deps.registrar, connection, feed.timeZone, phase, totals);
        await onDayStored(trx, stored.stats, last, stored.report);
        return stored.stats;
      });
      addStats(total, stats);
    }
  }
  return total;
}

/** The days a backfill chunk (whole UTC days, as backfills are created) covers, up to the feed's today. */
export async function pullRevenueChunk(
  deps: JobDeps,
  connection: LoadedConnection,
  context: ConnectorContext<Record<string, unknown>>,
  chunk: PullWindow,
  onPageStored: OnPageStored,
): Promise<PullStats> {
  const feed = feedOrThrow(connection);
  const today = zonedDay(deps.now?.() ?? new Date(), feed.timeZone);
  const days = backfillDays(chunk, today, settingsOf(connection, feed)).filter((planned) => planned.day <= today);
  return pullRevenueDays(deps, connection, context, days, (trx, stats, last) => onPageStored(trx, stats, last));
}

async function knownDays(db: Db, connectionId: string, since: string): Promise<Map<string, KnownDay>> {
  const rows = await query<{ day: string; state: KnownDay['state']; final_attempted_at: Date | null }>(db, 'SELECT day::text AS day, state, final_attempted_at FROM revenue_days WHERE connection_id = $1 AND day >= $2', [connectionId, since]);
  return new Map(rows.map((row) => [row.day, { state: row.state, finalAttemptedAt: row.final_attempted_at }]));
}

/**
 * A scheduled or manual pull of a revenue feed: the days its schedule selects (see
 * `scheduledDays`), each summed per sub-id and registered as one `revenue` conversion per
 * (click, day); every day's totals, matched and unmatched, are written on the run.
 */
export async function runRevenuePull(deps: JobDeps, connection: LoadedConnection, trigger: PullTrigger, jobId: string | undefined, signal: AbortSignal, onRun: (runId: string) => void): Promise<PullResult> {
  const feed = feedOrThrow(connection);
  const settings = settingsOf(connection, feed);
  const now = deps.now?.() ?? new Date();
  const today = zonedDay(now, feed.timeZone);
  const known = await knownDays(deps.db, connection.row.id, addDays(today, -(settings.finalAfterDays + FINAL_RETRY_DAYS)));
  const days = scheduledDays(today, settings, known, now);
  const sorted = days.map((planned) => planned.day).sort();
  const window = sorted.length > 0 ? feedDaysWindow(sorted[0]!, sorted[sorted.length - 1]!, feed.timeZone) : { from: now, to: now };
  const [run] = await query<{ id: string }>(deps.db, 'INSERT INTO pull_runs (connection_id, trigger, job_id, window_from, window_to, revenue) VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING id::text AS id',
    [connection.row.id, trigger, jobId ?? null, window.from, window.to, '[]'],
  );
  const runId = (run as { id: string }).id;
  onRun(runId);
  await closeAbandonedRuns(deps.db, connection.row.id, runId);
  const context = connectorContextFor(deps, connection, signal);
  const stats = await pullRevenueDays(deps, connection, context, days, async (trx, page, _last, report) => {
    await trx.query(COUNT_REVENUE_RUN, [runId, page.fetched, page.inserted, page.updated, page.unchanged, page.unmatched, page.rejected, JSON.stringify(report ? [report] : [])]);
  });
  deps.metrics?.pulledRecords.inc({ connector: connection.connector.id, result: 'fetched' }, stats.fetched);
  await query(deps.db, "UPDATE pull_runs SET status = 'completed', finished_at = now() WHERE id = $1", [runId]);
  await markConnectionHealth(deps.db, connection.row.id, { healthy: true, warnings: connection.connector.warnings(connection.config) });
  deps.logger.info({ connection: connection.row.id, days: days.length, ...stats }, 'revenue pull completed');
  return { status: 'completed', runId, window: { from: window.from.toISOString(), to: window.to.toISOString() }, stats };
}
