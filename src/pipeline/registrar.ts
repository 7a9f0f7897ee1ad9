import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Db } from '../db/database';
import { queryRows } from '../db/query';
import { normalizeConversion, type NormalizedConversion, type Rejection } from './normalize';
import { rejectionMessages } from './rejection-messages';
import type {
  DuplicatePolicy,
  OutcomeStatus,
  RegisterOptions,
  RegistrationInput,
  RegistrationOutcome,
  Source,
} from './types';

/** Settings that decide how conversions are priced. */
export interface RegistrarSettings {
  /** Currency that `display_payout` is computed in for new conversions. */
  readonly displayCurrency: string;
  /** The account default: last step of the currency precedence. */
  readonly defaultCurrency: string;
}

/** A click as the pipeline needs it: where it went and how that offer is priced. */
interface MatchedClick {
  click_id: string;
  visited_at: Date;
  campaign_id: string;
  offer_id: string;
  payout_mode: 'auto' | 'manual';
  offer_payout: string | null;
  offer_currency: string | null;
  network_id: string | null;
  network_currency: string | null;
  duplicate_policy: DuplicatePolicy | null;
}

/** A matched, priced conversion waiting for the upsert. */
interface Priced {
  readonly index: number;
  readonly conversion: NormalizedConversion;
  readonly click: MatchedClick;
  readonly dedupKey: string;
  readonly policy: DuplicatePolicy;
  readonly payout: string | null;
  readonly currency: string;
  readonly reportedPayout: string | null;
  readonly reportedCurrency: string | null;
  readonly receivedAt: Date;
}

type UpsertAction = 'insert' | 'update' | 'adopt' | 'duplicate';

interface Resolved {
  status: OutcomeStatus;
  reason: string | null;
  message: string | null;
  conversionId: string | null;
  clickId: string | null;
  warnings: readonly string[];
}

class DryRunRollback extends Error {}

/** Conversions of one click and type interact (adoption, duplicate policy); at most one per statement. */
const MAX_ROUNDS_PER_ITEM = 5;

/**
 * The one write path for conversions. Every route hands a batch to {@link Registrar.register};
 * it runs the six steps of the design as a few set-based statements inside one transaction and
 * returns one outcome per input, in input order. The outcome is committed (conversion and log
 * row together) when the promise resolves.
 */
export class Registrar {
  private readonly knownTypes = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly settings: RegistrarSettings,
  ) {}

  /**
   * Registers a batch of conversions from one source.
   * Concurrency: matched clicks are row-locked (`FOR NO KEY UPDATE`, in click-id order) for the
   * transaction, so registrations of the same click from several processes serialize, while the
   * unique identity `(click_id, type, dedup_key)` with `ON CONFLICT` guarantees one row per
   * conversion regardless.
   */
  async register(inputs: readonly RegistrationInput[], options: RegisterOptions): Promise<RegistrationOutcome[]> {
    if (inputs.length === 0) return [];
    const batchReceivedAt = options.receivedAt ?? new Date();
    const normalized = inputs.map((input) =>
      normalizeConversion(input.fields, { receivedAt: input.receivedAt ?? batchReceivedAt, defaultType: options.defaultType }),
    );

    let createdTypes: string[] = [];
    const work = async (trx: Knex.Transaction): Promise<Resolved[]> => {
      const outcomes: Resolved[] = new Array(inputs.length);
      const accepted: { index: number; conversion: NormalizedConversion }[] = [];
      normalized.forEach((result, index) => {
        if (result.ok) accepted.push({ index, conversion: result.value });
        else outcomes[index] = rejected(result.rejection, []);
      });

      createdTypes = await this.ensureTypes(trx, accepted.map((item) => item.conversion.type));
      const clicks = await this.lockClicks(trx, accepted.map((item) => item.conversion.clickId), options);

      const priced: Priced[] = [];
      for (const { index, conversion } of accepted) {
        const click = clicks.get(conversion.clickId);
        if (!click) {
          outcomes[index] = rejected(
            { reason: 'unknown_click_id', message: rejectionMessages.unknownClickId(conversion.clickId), clickId: conversion.clickId },
            conversion.warnings,
          );
          continue;
        }
        priced.push(this.price(index, conversion, click, inputs[index]?.receivedAt ?? batchReceivedAt, options));
      }

      await this.upsert(trx, priced, options, outcomes);
      await this.log(trx, inputs, normalized, outcomes, options, batchReceivedAt);
      return outcomes;
    };

    let resolved: Resolved[];
    if (options.dryRun) {
      let captured: Resolved[] | undefined;
      try {
        await (options.transaction ?? this.db).transaction(async (trx) => {
          captured = await work(trx);
          throw new DryRunRollback();
        });
      } catch (error) {
        if (!(error instanceof DryRunRollback)) throw error;
      }
      resolved = captured ?? [];
    } else if (options.transaction) {
      resolved = await work(options.transaction);
    } else {
      resolved = await this.db.transaction(work);
      // Remember new types only once committed; inside a caller's transaction they may still roll back.
      createdTypes.forEach((type) => this.knownTypes.add(type));
    }
    return resolved.map((outcome) => ({ ...outcome }));
  }

  /** Inserts conversion types not seen before (with default flags) so the foreign key holds. */
  private async ensureTypes(trx: Knex.Transaction, types: readonly string[]): Promise<string[]> {
    if (this.knownTypes.size === 0) {
      const rows: { name: string }[] = await trx('conversion_types').select('name');
      rows.forEach((row) => this.knownTypes.add(row.name));
    }
    const missing = [...new Set(types)].filter((type) => !this.knownTypes.has(type));
    if (missing.length > 0) {
      await trx.raw('INSERT INTO conversion_types (name) SELECT unnest(?::text[]) ON CONFLICT DO NOTHING', [missing]);
    }
    return missing;
  }

  /** Step 2: one round trip finds every click of the batch and locks it for this transaction. */
  private async lockClicks(trx: Knex.Transaction, clickIds: readonly string[], options: RegisterOptions): Promise<Map<string, MatchedClick>> {
    const distinct = [...new Set(clickIds)];
    if (distinct.length === 0) return new Map();
    const rows = await queryRows<MatchedClick>(
      trx,
      `SELECT cl.click_id, cl.visited_at, cl.campaign_id, o.id AS offer_id, o.payout_mode, o.payout AS offer_payout,
              o.currency AS offer_currency, n.id AS network_id, n.currency AS network_currency, n.duplicate_policy
         FROM clicks cl
         JOIN offers o ON o.id = coalesce(?::uuid, cl.offer_id)
         LEFT JOIN networks n ON n.id = coalesce(?::uuid, o.network_id)
        WHERE cl.click_id = ANY (?::text[])
        ORDER BY cl.click_id
          FOR NO KEY UPDATE OF cl`,
      [options.offerId ?? null, options.networkId ?? null, distinct],
    );
    return new Map(rows.map((row) => [row.click_id, row]));
  }

  /** Steps 3 and 4: payout mode and currency precedence. FX happens in SQL, in decimal. */
  private price(index: number, conversion: NormalizedConversion, click: MatchedClick, receivedAt: Date, options: RegisterOptions): Priced {
    const fallbackCurrency = click.offer_currency?.trim() || click.network_currency?.trim() || this.settings.defaultCurrency;
    const reportedCurrency = conversion.payoutCurrency ?? fallbackCurrency;
    const policy: DuplicatePolicy = click.duplicate_policy ?? 'ignore';
    const dedupKey = conversion.txid !== null ? `tx:${conversion.txid}` : policy === 'accept' ? acceptKey(conversion, options) : '';
    if (click.payout_mode === 'manual' && click.offer_payout !== null) {
      return {
        index, conversion, click, dedupKey, policy, receivedAt,
        payout: click.offer_payout,
        currency: fallbackCurrency,
        reportedPayout: conversion.payout,
        reportedCurrency: conversion.payout === null ? null : reportedCurrency,
      };
    }
    return {
      index, conversion, click, dedupKey, policy, receivedAt,
      payout: conversion.payout,
      currency: reportedCurrency,
      reportedPayout: conversion.payout,
      reportedCurrency: conversion.payout === null ? null : reportedCurrency,
    };
  }

  /**
   * Step 5. Conversions of the same click and type go into separate rounds, in input order, so
   * that each statement sees the effect of the previous one; exact repeats inside a batch are
   * answered as duplicates without a round of their own.
   */
  private async upsert(trx: Knex.Transaction, priced: readonly Priced[], options: RegisterOptions, outcomes: Resolved[]): Promise<void> {
    const rounds: Priced[][] = [];
    const roundOfKey = new Map<string, number>();
    const firstOfRepeat = new Map<string, number>();
    const repeats: { item: Priced; original: number }[] = [];
    for (const item of priced) {
      // Random accept-policy keys never repeat, so such conversions are never collapsed.
      const repeatKey = JSON.stringify([item.click.click_id, item.conversion.type, item.dedupKey, item.conversion.status, item.payout, item.currency, item.reportedPayout]);
      const original = firstOfRepeat.get(repeatKey);
      if (original !== undefined) {
        repeats.push({ item, original });
        continue;
      }
      firstOfRepeat.set(repeatKey, item.index);
      const slotKey = `${item.click.click_id}\u0000${item.conversion.type}`;
      const round = (roundOfKey.get(slotKey) ?? -1) + 1;
      roundOfKey.set(slotKey, round);
      (rounds[round] ??= []).push(item);
    }

    let pending = rounds;
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      if (attempt >= MAX_ROUNDS_PER_ITEM * Math.max(1, rounds.length)) {
        throw new Error('registration could not settle concurrent conflicts; the batch was rolled back and can be retried');
      }
      const [round, ...rest] = pending;
      pending = rest;
      if (!round || round.length === 0) continue;
      const conflicted = await this.upsertRound(trx, round, options.source, options, outcomes);
      // A conflict means another transaction inserted the same identity between our read and
      // write; the next round reads it and answers duplicate or updated.
      if (conflicted.length > 0) pending = [conflicted, ...pending];
    }

    for (const { item, original } of repeats) {
      const first = outcomes[original];
      outcomes[item.index] = {
        status: 'duplicate',
        reason: 'unchanged',
        message: 'same conversion as an earlier one in this batch',
        conversionId: first?.conversionId ?? null,
        clickId: item.click.click_id,
        warnings: item.conversion.warnings,
      };
    }
  }

  /** One statement: find each input's existing conversion, decide, update, insert. */
  private async upsertRound(trx: Knex.Transaction, round: readonly Priced[], source: Source, options: RegisterOptions, outcomes: Resolved[]): Promise<Priced[]> {
    const ords = round.map((_, position) => position);
    const column = <T>(pick: (item: Priced) => T): T[] => round.map(pick);
    const rows = await queryRows<{ ord: number; action: UpsertAction; conversion_id: string | null }>(
      trx,
      `WITH input AS (
         SELECT * FROM unnest(?::int[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::numeric[], ?::text[],
                              ?::numeric[], ?::text[], ?::timestamptz[], ?::timestamptz[], ?::timestamptz[], ?::uuid[], ?::uuid[], ?::uuid[], ?::jsonb[])
           AS i(ord, click_id, type, txid, dedup_key, policy, status, payout, currency,
                reported_payout, reported_currency, occurred_at, visit_at, received_at, campaign_id, offer_id, network_id, params)
       ),
       target AS (
         SELECT DISTINCT ON (i.ord) i.ord, c.id, c.dedup_key, c.status, c.payout, c.currency, c.reported_payout, c.reported_currency
           FROM input i
           JOIN conversions c ON c.click_id = i.click_id AND c.type = i.type
          WHERE CASE WHEN i.txid IS NOT NULL THEN c.dedup_key = i.dedup_key OR (c.dedup_key = '' AND c.source <> ?)
                     WHEN i.policy = 'accept' THEN c.dedup_key = i.dedup_key
                     ELSE true END
          ORDER BY i.ord, (c.dedup_key = i.dedup_key) DESC, c.id DESC
       ),
       plan AS (
         SELECT i.*, t.id AS target_id,
                coalesce(i.status, t.status, 'approved') AS new_status,
                coalesce(i.payout, t.payout, 0) AS new_payout,
                CASE WHEN i.payout IS NULL AND t.id IS NOT NULL THEN t.currency ELSE i.currency::char(3) END AS new_currency,
                coalesce(i.reported_payout, t.reported_payout) AS new_reported_payout,
                CASE WHEN i.reported_payout IS NULL THEN t.reported_currency ELSE i.reported_currency::char(3) END AS new_reported_currency,
                CASE
                  WHEN t.id IS NULL THEN 'insert'
                  WHEN i.txid IS NOT NULL AND t.dedup_key <> i.dedup_key THEN 'adopt'
                  WHEN i.txid IS NULL AND i.policy = 'ignore' THEN 'duplicate'
                  WHEN (t.status, t.payout, t.currency, t.reported_payout, t.reported_currency) IS DISTINCT FROM
                       (coalesce(i.status, t.status), coalesce(i.payout, t.payout),
                        CASE WHEN i.payout IS NULL THEN t.currency ELSE i.currency::char(3) END,
                        coalesce(i.reported_payout, t.reported_payout),
                        CASE WHEN i.reported_payout IS NULL THEN t.reported_currency ELSE i.reported_currency::char(3) END)
                    THEN 'update'
                  ELSE 'duplicate'
                END AS action
           FROM input i LEFT JOIN target t ON t.ord = i.ord
       ),
       rates AS (
         SELECT k.currency, k.day, tally_fx_rate(k.currency, ?, k.day) AS rate
           FROM (SELECT DISTINCT new_currency AS currency, (occurred_at AT TIME ZONE 'UTC')::date AS day FROM plan WHERE action = 'insert') k
       ),
       changed AS (
         UPDATE conversions c
            SET status = p.new_status,
                payout = p.new_payout,
                currency = p.new_currency,
                reported_payout = p.new_reported_payout,
                reported_currency = p.new_reported_currency,
                fx_rate = tally_fx_rate(p.new_currency, c.display_currency, (c.occurred_at AT TIME ZONE 'UTC')::date),
                display_payout = round(p.new_payout * tally_fx_rate(p.new_currency, c.display_currency, (c.occurred_at AT TIME ZONE 'UTC')::date), 6),
                txid = CASE WHEN p.action = 'adopt' THEN p.txid ELSE c.txid END,
                dedup_key = CASE WHEN p.action = 'adopt' THEN p.dedup_key ELSE c.dedup_key END,
                connection_id = coalesce(c.connection_id, ?::uuid),
                params = c.params || p.params,
                updated_at = now(),
                revision = c.revision + 1
           FROM plan p
          WHERE c.id = p.target_id AND p.action IN ('update', 'adopt')
          RETURNING c.id
       ),
       inserted AS (
         INSERT INTO conversions (click_id, type, txid, dedup_key, status, payout, currency, reported_payout, reported_currency,
                                  display_payout, display_currency, fx_rate, occurred_at, visit_at, received_at, source,
                                  connection_id, upload_id, campaign_id, offer_id, network_id, params)
         SELECT p.click_id, p.type, p.txid, p.dedup_key, p.new_status, p.new_payout, p.new_currency, p.new_reported_payout, p.new_reported_currency,
                round(p.new_payout * r.rate, 6), ?, r.rate, p.occurred_at, p.visit_at, p.received_at, ?,
                ?::uuid, ?::uuid, p.campaign_id, p.offer_id, p.network_id, p.params
           FROM plan p
           LEFT JOIN rates r ON r.currency = p.new_currency AND r.day = (p.occurred_at AT TIME ZONE 'UTC')::date
          WHERE p.action = 'insert'
         ON CONFLICT (click_id, type, dedup_key) DO NOTHING
         RETURNING id, click_id, type, dedup_key
       )
       SELECT p.ord, p.action, coalesce(ins.id, p.target_id)::text AS conversion_id
         FROM plan p
         LEFT JOIN inserted ins ON p.action = 'insert' AND ins.click_id = p.click_id AND ins.type = p.type AND ins.dedup_key = p.dedup_key`,
      [
        ords,
        column((item) => item.click.click_id),
        column((item) => item.conversion.type),
        column((item) => item.conversion.txid),
        column((item) => item.dedupKey),
        column((item) => item.policy),
        column((item) => item.conversion.status),
        column((item) => item.payout),
        column((item) => item.currency),
        column((item) => item.reportedPayout),
        column((item) => item.reportedCurrency),
        column((item) => item.conversion.occurredAt),
        column((item) => item.click.visited_at),
        column((item) => item.receivedAt),
        column((item) => item.click.campaign_id),
        column((item) => item.click.offer_id),
        column((item) => item.click.network_id),
        column((item) => JSON.stringify(item.conversion.params)),
        source,
        this.settings.displayCurrency,
        options.connectionId ?? null,
        this.settings.displayCurrency,
        source,
        options.connectionId ?? null,
        options.uploadId ?? null,
      ],
    );

    const conflicted: Priced[] = [];
    for (const row of rows) {
      const item = round[row.ord];
      if (!item) continue;
      if (row.conversion_id === null) {
        conflicted.push(item);
        continue;
      }
      outcomes[item.index] = describe(row.action, item, row.conversion_id);
    }
    return conflicted;
  }

  /** Step 6: every attempt, whatever its outcome, with its raw input, in the same transaction. */
  private async log(
    trx: Knex.Transaction,
    inputs: readonly RegistrationInput[],
    normalized: readonly ReturnType<typeof normalizeConversion>[],
    outcomes: readonly Resolved[],
    options: RegisterOptions,
    batchReceivedAt: Date,
  ): Promise<void> {
    const logUnchanged = options.logUnchanged ?? true;
    const rows = inputs
      .map((input, index) => ({ input, index, outcome: outcomes[index] as Resolved }))
      .filter(({ outcome }) => logUnchanged || !(outcome.status === 'duplicate' && outcome.reason === 'unchanged'));
    if (rows.length === 0) return;
    const pick = <T>(fn: (row: (typeof rows)[number]) => T): T[] => rows.map(fn);
    await queryRows(
      trx,
      `INSERT INTO registration_log (received_at, source, outcome, reason, message, click_id, txid, type, conversion_id,
                                     connection_id, upload_id, upload_line, rematch_of, warnings, fields, request)
       SELECT received_at, ?, outcome, reason, message, click_id, txid, type, conversion_id, ?::uuid, ?::uuid, upload_line,
              rematch_of, warnings, fields, request
         FROM unnest(?::timestamptz[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[],
                     ?::int[], ?::bigint[], ?::jsonb[], ?::jsonb[], ?::jsonb[])
           AS l(received_at, outcome, reason, message, click_id, txid, type, conversion_id, upload_line, rematch_of, warnings, fields, request)`,
      [
        options.source,
        options.connectionId ?? null,
        options.uploadId ?? null,
        pick(({ input }) => input.receivedAt ?? batchReceivedAt),
        pick(({ outcome }) => outcome.status),
        pick(({ outcome }) => outcome.reason),
        pick(({ outcome }) => outcome.message),
        pick(({ outcome }) => outcome.clickId),
        pick(({ index }) => {
          const result = normalized[index];
          return result?.ok ? result.value.txid : null;
        }),
        pick(({ index }) => {
          const result = normalized[index];
          return result?.ok ? result.value.type : null;
        }),
        pick(({ outcome }) => outcome.conversionId),
        pick(({ input }) => input.line ?? null),
        pick(({ input }) => input.rematchOf ?? null),
        pick(({ outcome }) => (outcome.warnings.length > 0 ? JSON.stringify(outcome.warnings) : null)),
        pick(({ outcome, input }) => (outcome.status === 'rejected' ? JSON.stringify(input.fields) : null)),
        pick(({ input }) => JSON.stringify(input.request ?? input.fields)),
      ],
    );
  }
}

/** Identity of a txid-less conversion under the accept policy: new every time, or its content. */
function acceptKey(conversion: NormalizedConversion, options: RegisterOptions): string {
  if (!options.identifyAcceptedByContent) return `acc:${randomUUID()}`;
  const content = JSON.stringify([conversion.clickId, conversion.type, conversion.payout, conversion.payoutCurrency, conversion.occurredAt.toISOString()]);
  return `acc:${createHash('sha256').update(content).digest('hex').slice(0, 32)}`;
}

function rejected(rejection: Rejection, warnings: readonly string[]): Resolved {
  return { status: 'rejected', reason: rejection.reason, message: rejection.message, conversionId: null, clickId: rejection.clickId, warnings };
}

function describe(action: UpsertAction, item: Priced, conversionId: string): Resolved {
  const base = { conversionId, clickId: item.click.click_id, warnings: item.conversion.warnings };
  switch (action) {
    case 'insert':
      return { ...base, status: 'accepted', reason: null, message: null };
    case 'update':
      return { ...base, status: 'updated', reason: 'changed', message: 'status or payout changed; the existing conversion was updated' };
    case 'adopt':
      return {
        ...base,
        status: 'updated',
        reason: 'adopted',
        message: `the conversion registered earlier without a txid from another route now carries txid "${item.conversion.txid ?? ''}"`,
      };
    case 'duplicate':
      return item.conversion.txid === null && item.policy === 'ignore'
        ? { ...base, status: 'duplicate', reason: 'duplicate_policy', message: 'this click already has a conversion of this type and the network\'s duplicate policy is "ignore"; send a txid to count separate conversions' }
        : { ...base, status: 'duplicate', reason: 'unchanged', message: 'already registered with the same status and payout' };
  }
}
