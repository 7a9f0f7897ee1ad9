import { ConnectorConfigError } from '../connectors/kit/errors';
import type { ConnectorContext, PullWindow, RejectedRecord } from '../connectors/kit/types';
import type { Db } from '../src/db/database';
import { transaction, type Transaction } from '../src/db/sql';
import type { Registrar } from '../src/pipeline/registrar';
import type { RegistrationInput } from '../src/pipeline/types';
import type { LoadedConnection } from '../src/connections/connection-store';
import { registerPulledPage } from './pulled-page';
import { countOutcomes, type PullStats } from './pull-stats';

export { toRegistrationInput } from './pulled-page';

/** A record the connector could not read, as a rejection the pipeline logs with its raw form. */
export function rejectedRecordInput(record: RejectedRecord): RegistrationInput {
  return { fields: {}, request: record.raw, rejection: { reason: record.reason, message: record.message, txid: record.txid } };
}

/** Called in the transaction of every stored page; `last` marks the chunk's final page. */
export type OnPageStored = (transaction: Transaction, page: PullStats, last: boolean) => Promise<void>;

/**
 * Pulls one window chunk through the pipeline. Each page is registered in its own transaction
 * as soon as it arrives; the next page is fetched first so that the last one is known, and its
 * transaction also records the chunk as stored (checkpoint or backfill chunk). Pages are not
 * time-ordered, so only a completely stored chunk may move a checkpoint. An empty chunk is
 * recorded in a transaction of its own.
 */
export async function pullChunk(
  deps: { db: Db; registrar: Registrar },
  connection: LoadedConnection,
  context: ConnectorContext<Record<string, unknown>>,
  chunk: PullWindow,
  onPageStored: OnPageStored,
): Promise<PullStats> {
  const { row } = connection;
  const options = {
    source: 'api' as const,
    connectionId: row.id,
    networkId: row.network_id,
    offerId: row.offer_id,
    defaultType: row.conversion_type,
    // Re-pulling the lookback re-reads every record; only changes and rejections go to the log.
    logUnchanged: false,
  };
  const total: PullStats = { fetched: 0, inserted: 0, updated: 0, unchanged: 0, unmatched: 0, rejected: 0 };
  const { connector } = connection;
  // Revenue feeds yield revenue rows, which the revenue job sums per sub-id and day.
  if (connector.kind !== 'conversion') throw new ConnectorConfigError(`${connector.name} is a revenue feed: its rows are not conversions to pull one by one`);
  // Records the connector cannot read are registered as rejections with the page they came in.
  const unreadable: RejectedRecord[] = [];
  const pages = connector.pull({ ...context, rejected: (record) => unreadable.push(record) }, chunk)[Symbol.asyncIterator]();
  let current = await pages.next();
  if (current.done && unreadable.length === 0) {
    await transaction(deps.db, (transaction) => onPageStored(transaction, countOutcomes([]), true));
    return total;
  }
  for (;;) {
    const rejectedBefore = unreadable.splice(0).map(rejectedRecordInput);
    const next = current.done ? current : await pages.next();
    const last = next.done === true;
    const conversions = current.done ? [] : current.value;
    const stats = await transaction(deps.db, async (transaction) => {
      const outcomes = await registerPulledPage(deps.registrar, transaction, conversions, { ...options, transaction }, rejectedBefore);
      const page = countOutcomes(outcomes);
      await onPageStored(transaction, page, last);
      return page;
    });
    for (const key of Object.keys(total) as (keyof PullStats)[]) total[key] += stats[key];
    if (last) return total;
    current = next;
  }
}
