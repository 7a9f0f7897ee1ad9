import type { ConversionStatus, NormalizedConversion } from '../connectors/kit/types';
import type { PreparedStatement, Transaction } from '../src/db/sql';
import { cleanText, describeHostileCharacter, hasHostileCharacters } from '../src/pipeline/characters';
import type { IntakeRejection } from '../src/pipeline/types';

/**
 * Conversions that net over several records (DESIGN "Records that change after the fact": CJ's
 * corrections arrive as new records pointing at the original action). This is the one place that
 * decides how they net:
 *
 * - every part (record) a pull has ever seen is kept in `conversion_parts`, refreshed on each
 *   sighting;
 * - the conversion's payout is the exact decimal sum of all its parts' amounts (Postgres NUMERIC);
 * - its status and network status are the latest posted part's (the network's latest word);
 * - its click ID, type and time are the original record's (click ID and type of the latest part
 *   that has one, and the earliest part's time, until the original is seen).
 *
 * A page's groups are locked (transaction-scoped advisory locks, in txid order, before any
 * conversion is registered) so that a pull and a backfill of the same connection cannot both sum
 * without the other's new part.
 */

/** A netted conversion ready for the pipeline, and whether this page brought a part never seen before. */
export interface NettedConversion {
  readonly conversion: NormalizedConversion;
  readonly newPart: boolean;
}

/** A part that cannot be stored: rejected alone, with its reason (and its txid when that is storable, so it is logged once). */
export interface RejectedPart {
  readonly raw: unknown;
  readonly rejection: IntakeRejection;
}

const MAX_ID_LENGTH = 255;

const LOCK_GROUPS: PreparedStatement = {
  name: 'tally_lock_conversion_parts_v1',
  text: `SELECT pg_advisory_xact_lock(hashtextextended($1::text || '/' || g.txid, 0))
           FROM (SELECT u.txid FROM unnest($2::text[]) WITH ORDINALITY AS u(txid, n) ORDER BY u.n) g`,
};

const UPSERT_PARTS: PreparedStatement = {
  name: 'tally_upsert_conversion_parts_v1',
  text: `INSERT INTO conversion_parts AS p (connection_id, txid, part_id, amount, currency, status, network_status, type, click_id, occurred_at, posted_at, original)
         SELECT $1::uuid, r.txid, r.part_id, r.amount, r.currency, r.status, r.network_status, r.type, r.click_id, r.occurred_at, r.posted_at, r.original
           FROM jsonb_to_recordset($2::jsonb) AS r(txid text, part_id text, amount numeric, currency char(3), status text, network_status text,
                                                   type text, click_id text, occurred_at timestamptz, posted_at timestamptz, original boolean)
         ON CONFLICT (connection_id, txid, part_id) DO UPDATE
            SET amount = EXCLUDED.amount, currency = EXCLUDED.currency, status = EXCLUDED.status, network_status = EXCLUDED.network_status,
                type = EXCLUDED.type, click_id = EXCLUDED.click_id, occurred_at = EXCLUDED.occurred_at, posted_at = EXCLUDED.posted_at,
                original = EXCLUDED.original, last_seen_at = now()
         RETURNING p.txid, (p.xmax = 0) AS inserted`,
};

const NET_GROUPS: PreparedStatement = {
  name: 'tally_net_conversion_parts_v1',
  text: `SELECT p.txid,
                sum(p.amount)::text AS payout,
                count(DISTINCT p.currency)::int AS currencies,
                string_agg(DISTINCT p.currency, ', ') AS currency,
                (array_agg(p.status ORDER BY p.posted_at DESC, p.part_id DESC))[1] AS status,
                (array_agg(p.network_status ORDER BY p.posted_at DESC, p.part_id DESC))[1] AS network_status,
                (array_agg(p.click_id ORDER BY p.original DESC, p.posted_at DESC, p.part_id DESC) FILTER (WHERE p.click_id IS NOT NULL))[1] AS click_id,
                (array_agg(p.type ORDER BY p.original DESC, p.posted_at DESC, p.part_id DESC) FILTER (WHERE p.type IS NOT NULL))[1] AS type,
                (array_agg(p.occurred_at ORDER BY p.original DESC, p.posted_at ASC, p.part_id ASC))[1] AS occurred_at,
                jsonb_agg(jsonb_build_object('id', p.part_id, 'amount', p.amount::text, 'original', p.original, 'posted_at', p.posted_at,
                                             'network_status', p.network_status) ORDER BY p.posted_at, p.part_id) AS parts
           FROM conversion_parts p
          WHERE p.connection_id = $1 AND p.txid = ANY ($2::text[])
          GROUP BY p.txid`,
};

interface GroupRow {
  txid: string;
  payout: string | null;
  currencies: number;
  currency: string | null;
  status: ConversionStatus;
  network_status: string | null;
  click_id: string | null;
  type: string | null;
  occurred_at: Date;
  parts: unknown[];
}

/** The txid for the log when it is storable as it is. */
function storableTxid(txid: string): string | null {
  return txid.length <= MAX_ID_LENGTH && !hasHostileCharacters(txid) ? txid : null;
}

/** Why a part cannot be stored as it is, or null. Identifying fields must be exact (pipeline rule). */
function partProblem(conversion: NormalizedConversion): IntakeRejection | null {
  const identifying = { txid: conversion.txid, 'part id': conversion.part?.id ?? '', click_id: conversion.click_id ?? '', type: conversion.type ?? '', currency: conversion.currency ?? '' };
  for (const [name, value] of Object.entries(identifying)) {
    if (hasHostileCharacters(value)) {
      return { reason: 'invalid_characters', message: `${name} contains a character that cannot be part of it (${describeHostileCharacter(value)}); the network must send the value exactly as issued` };
    }
  }
  for (const [name, value] of [['txid', conversion.txid], ['part id', conversion.part?.id ?? '']] as const) {
    if (value.length > MAX_ID_LENGTH) return { reason: 'invalid_txid', message: `the record's ${name} is longer than ${MAX_ID_LENGTH} characters` };
  }
  return null;
}

/**
 * Stores the page's parts and returns one conversion per group (in the order the page first
 * names them) carrying the net of every part seen so far, plus the parts that could not be stored.
 */
export async function netConversionParts(transaction: Transaction, connectionId: string, parted: readonly NormalizedConversion[]): Promise<{ netted: NettedConversion[]; rejected: RejectedPart[] }> {
  const rejected: RejectedPart[] = [];
  const parts = new Map<string, NormalizedConversion>();
  for (const conversion of parted) {
    const problem = partProblem(conversion);
    if (problem) rejected.push({ raw: conversion.raw, rejection: { ...problem, txid: storableTxid(conversion.txid) } });
    // A part listed twice in one page is stored once (its last sighting).
    else parts.set(`${conversion.txid}\u0000${conversion.part?.id}`, conversion);
  }
  if (parts.size === 0) return { netted: [], rejected };
  const groups = [...new Set([...parts.values()].map((conversion) => conversion.txid))];
  await transaction.query(LOCK_GROUPS, [connectionId, [...groups].sort()]);
  const rows = [...parts.values()].map((conversion) => ({
    txid: conversion.txid,
    part_id: conversion.part?.id,
    amount: conversion.payout,
    currency: conversion.currency,
    status: conversion.status,
    network_status: conversion.network_status === null ? null : cleanText(conversion.network_status).text,
    type: conversion.type,
    click_id: conversion.click_id,
    occurred_at: conversion.occurred_at.toISOString(),
    posted_at: conversion.part?.postedAt.toISOString(),
    original: conversion.part?.original,
  }));
  const stored = await transaction.query<{ txid: string; inserted: boolean }>(UPSERT_PARTS, [connectionId, JSON.stringify(rows)]);
  const withNewPart = new Set(stored.filter((row) => row.inserted).map((row) => row.txid));
  const nets = new Map((await transaction.query<GroupRow>(NET_GROUPS, [connectionId, groups])).map((row) => [row.txid, row]));
  const netted: NettedConversion[] = [];
  for (const txid of groups) {
    const net = nets.get(txid) as GroupRow;
    const records = [...parts.values()].filter((conversion) => conversion.txid === txid).map((conversion) => conversion.raw);
    const raw = { records, parts: net.parts };
    if (net.currencies > 1) {
      rejected.push({
        raw,
        rejection: {
          txid,
          reason: 'mixed_currencies',
          message: `the records of ${txid} are in different currencies (${net.currency ?? ''}) and cannot be summed; re-pull their dates (a backfill) so that every part is read with the connection's current currency`,
        },
      });
      continue;
    }
    netted.push({
      newPart: withNewPart.has(txid),
      conversion: {
        click_id: net.click_id,
        txid,
        payout: net.payout,
        currency: net.currency,
        status: net.status,
        network_status: net.network_status,
        type: net.type,
        occurred_at: net.occurred_at,
        raw,
      },
    });
  }
  return { netted, rejected };
}
