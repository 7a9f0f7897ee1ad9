import { createHash, randomUUID } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { Db } from '../db/database';
import { Rollback, transaction as withPgTransaction, type Transaction as PgTransaction, type PreparedStatement } from '../db/sql';
import { normalizeConversion, type NormalizedConversion, type NormalizeResult, type Rejection } from './normalize';
import { rejectionMessages } from './rejection-messages';
import type { DuplicatePolicy, RegisterOptions, RegistrationInput, RegistrationOutcome } from './types';

/** Settings that decide how conversions are priced. */
export interface RegistrarSettings {
  /** Currency that `display_payout` is computed in for new conversions. */
  readonly displayCurrency: string;
  /** The account default: last step of the currency precedence. */
  readonly defaultCurrency: string;
  /** Told about every settled batch (metrics). */
  readonly onOutcomes?: (source: string, outcomes: readonly RegistrationOutcome[]) => void;
  /** Told about every statement the pipeline runs (diagnostics and tests). */
  readonly onStatement?: (name: string) => void;
}

/** A click as the pipeline needs it: where it went and how that offer is priced. */
interface MatchedClick {
  click_id: string;
  /** Postgres text form, passed back untouched (no Date round trip for 10,000 rows). */
  visited_at: string;
  campaign_id: string;
  offer_id: string;
  payout_mode: 'auto' | 'manual';
  offer_payout: string | null;
  offer_currency: string | null;
  network_id: string | null;
  network_currency: string | null;
  duplicate_policy: DuplicatePolicy | null;
  postback_ips: string[] | null;
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

type Resolved = { -readonly [K in keyof RegistrationOutcome]: RegistrationOutcome[K] };

/** A registration-log row whose outcome is already known (rejections, in-batch repeats). */
interface KnownLogRow {
  readonly index: number;
  readonly outcome: Resolved;
}


/**
 * The pipeline's statements, prepared once per connection (see withPgTransaction). Bump the
 * version suffix of a name whenever its text changes.
 */
const STATEMENTS = {
  types: { name: 'tally_types_v1', text: 'SELECT name FROM conversion_types' },
  addTypes: { name: 'tally_add_types_v1', text: 'INSERT INTO conversion_types (name) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING' },
  savepoint: { name: 'tally_savepoint_v1', text: 'SAVEPOINT tally_dry_run' },
  rollbackToSavepoint: { name: 'tally_rollback_savepoint_v1', text: 'ROLLBACK TO SAVEPOINT tally_dry_run' },
  lockClicks: {
    name: 'tally_lock_clicks_v1',
    text: `SELECT cl.click_id, cl.visited_at::text AS visited_at, cl.campaign_id, o.id AS offer_id, o.payout_mode, o.payout AS offer_payout,
              o.currency AS offer_currency, n.id AS network_id, n.currency AS network_currency, n.duplicate_policy,
              n.postback_ips::text[] AS postback_ips
         FROM clicks cl
         JOIN offers o ON o.id = coalesce($1::uuid, cl.offer_id)
         LEFT JOIN networks n ON n.id = coalesce($2::uuid, o.network_id)
        WHERE cl.click_id = ANY ($3::text[])
        ORDER BY cl.click_id
          FOR NO KEY UPDATE OF cl`,
  },
  upsertAndLog: {
    name: 'tally_upsert_and_log_v1',
    text: `WITH meta AS (
         SELECT * FROM jsonb_to_recordset(\$4::jsonb) AS m(n int, campaign_id uuid, offer_id uuid, network_id uuid, policy text)
       ),
       input AS (
         SELECT r.o AS ord, r.c AS click_id, r.t AS type, r.x AS txid,
                coalesce(r.k, CASE WHEN r.x IS NOT NULL THEN 'tx:' || r.x ELSE '' END) AS dedup_key,
                m.policy, r.s AS status, r.p AS payout, r.cu AS currency,
                CASE WHEN r.rs THEN r.rp ELSE r.p END AS reported_payout,
                CASE WHEN r.rs THEN r.rc WHEN r.p IS NULL THEN NULL ELSE r.cu END AS reported_currency,
                coalesce(r.ra, \$5::timestamptz) AS received_at,
                coalesce(r.at, r.ra, \$5::timestamptz) AS occurred_at,
                r.v AS visit_at, m.campaign_id, m.offer_id, m.network_id, r.pa AS params,
                r.l AS line, r.rm AS rematch_of, r.w AS warnings, r.rq AS request
           FROM jsonb_to_recordset(\$1::jsonb)
             AS r(o int, c text, t text, x text, k text, s text, p numeric, cu text, rs boolean, rp numeric, rc text, at timestamptz,
                  v timestamptz, ra timestamptz, m int, pa jsonb, l int, rm bigint, w jsonb, rq jsonb)
           JOIN meta m ON m.n = r.m
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
           FROM input i
           -- The existing conversion this input refers to, if any: one index probe on
           -- (click_id, type, dedup_key) per input, never a scan of the table.
           LEFT JOIN LATERAL (
                SELECT c.id, c.dedup_key, c.status, c.payout, c.currency, c.reported_payout, c.reported_currency
                  FROM conversions c
                 WHERE c.click_id = i.click_id AND c.type = i.type
                   AND CASE WHEN i.txid IS NOT NULL THEN c.dedup_key = i.dedup_key OR (c.dedup_key = '' AND c.source <> \$6)
                            WHEN i.policy = 'accept' THEN c.dedup_key = i.dedup_key
                            ELSE true END
                 ORDER BY (c.dedup_key = i.dedup_key) DESC, c.id DESC
                 LIMIT 1) t ON true
       ),
       rates AS MATERIALIZED (
         -- Materialized: inlined, the rate function would run once per row instead of once per pair.
         SELECT k.currency, k.day, tally_fx_rate(k.currency, \$7, k.day) AS rate
           FROM jsonb_to_recordset(\$3::jsonb) AS k(currency text, day date)
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
                connection_id = coalesce(c.connection_id, \$8::uuid),
                params = c.params || coalesce(p.params, '{}'::jsonb),
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
                round(p.new_payout * fx.rate, 6), \$7, fx.rate, p.occurred_at, p.visit_at, p.received_at, \$6,
                \$8::uuid, \$9::uuid, p.campaign_id, p.offer_id, p.network_id, coalesce(p.params, '{}'::jsonb)
           -- A scalar lookup in the one- or two-row rates table; as a join, the planner (which
           -- cannot estimate jsonb_to_recordset) hashed the 10,000-row side. OFFSET 0 keeps the
           -- lookup from being inlined twice.
           FROM (SELECT p.*, (SELECT r.rate FROM rates r WHERE r.currency = p.new_currency AND r.day = (p.occurred_at AT TIME ZONE 'UTC')::date) AS rate
                   FROM plan p WHERE p.action = 'insert' OFFSET 0) p
           CROSS JOIN LATERAL (SELECT p.rate) fx
         ON CONFLICT (click_id, type, dedup_key) DO NOTHING
         RETURNING id, click_id, type, dedup_key
       ),
       settled AS (
         SELECT p.ord, p.action, p.received_at, p.click_id, p.txid, p.type, p.line, p.rematch_of, p.warnings, p.request,
                coalesce(ins.id, p.target_id) AS conversion_id,
                CASE p.action
                  WHEN 'insert' THEN NULL
                  WHEN 'update' THEN 'changed'
                  WHEN 'adopt' THEN 'adopted'
                  ELSE CASE WHEN p.txid IS NULL AND p.policy = 'ignore' THEN 'duplicate_policy' ELSE 'unchanged' END
                END AS reason
           FROM plan p
           LEFT JOIN inserted ins ON p.action = 'insert' AND ins.click_id = p.click_id AND ins.type = p.type AND ins.dedup_key = p.dedup_key
       ),
       logged AS (
         INSERT INTO registration_log (received_at, source, outcome, reason, message, click_id, txid, type, conversion_id,
                                       connection_id, upload_id, upload_line, rematch_of, warnings, fields, request)
         SELECT s.received_at, \$6,
                CASE s.action WHEN 'insert' THEN 'accepted' WHEN 'duplicate' THEN 'duplicate' ELSE 'updated' END,
                s.reason, NULL, s.click_id, s.txid, s.type, s.conversion_id, \$8::uuid, \$9::uuid, s.line, s.rematch_of,
                s.warnings, NULL, coalesce(s.request, 'null'::jsonb)
           FROM settled s
          WHERE s.conversion_id IS NOT NULL AND (\$10 OR s.reason IS DISTINCT FROM 'unchanged')
         UNION ALL
         SELECT k.received_at, \$6, k.outcome, k.reason, k.message, k.click_id, k.txid, k.type, k.conversion_id,
                \$8::uuid, \$9::uuid, k.line, k.rematch_of, k.warnings, k.fields, coalesce(k.request, 'null'::jsonb)
           FROM jsonb_to_recordset(\$2::jsonb)
             AS k(received_at timestamptz, outcome text, reason text, message text, click_id text, txid text, type text,
                  conversion_id bigint, line int, rematch_of bigint, warnings jsonb, fields jsonb, request jsonb)
       )
       SELECT ord, action, conversion_id::text AS conversion_id FROM settled`,
  },
} satisfies Record<string, PreparedStatement>;

/** Bound on retry rounds for inserts that lost a race; each retry reads the winner's row. */
const MAX_CONFLICT_RETRIES = 5;

/**
 * The one write path for conversions. Every route hands a batch to {@link Registrar.register};
 * it runs the six steps of the design in one transaction of three statements (click lookup and
 * lock; upsert and log; commit) and returns one outcome per input, in input order. When the
 * promise resolves the outcome is committed: conversion and log row together, or neither.
 */
export class Registrar {
  private readonly knownTypes = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly settings: RegistrarSettings,
  ) {}

  /**
   * Registers a batch of conversions from one source.
   *
   * Concurrency: the matched clicks are row-locked (`FOR NO KEY UPDATE`, in click-id order) for
   * the transaction, so registrations touching the same click serialize across processes and the
   * adoption and duplicate-policy rules see each other's rows. The unique identity
   * `(click_id, type, dedup_key)` with `ON CONFLICT` is the backstop that guarantees one row per
   * conversion regardless.
   */
  async register(inputs: readonly RegistrationInput[], options: RegisterOptions): Promise<RegistrationOutcome[]> {
    if (inputs.length === 0) return [];
    const batchReceivedAt = options.receivedAt ?? new Date();
    const normalized = inputs.map((input) =>
      normalizeConversion(input.fields, { receivedAt: input.receivedAt ?? batchReceivedAt, defaultType: options.defaultType }),
    );
    const receivedAt = (index: number): Date => inputs[index]?.receivedAt ?? batchReceivedAt;

    let createdTypes: string[] = [];
    const work = async (trx: PgTransaction): Promise<Resolved[]> => {
      const outcomes: Resolved[] = new Array(inputs.length);
      const known: KnownLogRow[] = [];
      const valid: { index: number; conversion: NormalizedConversion }[] = [];
      normalized.forEach((result, index) => {
        if (result.ok) valid.push({ index, conversion: result.value });
        else known.push({ index, outcome: (outcomes[index] = rejected(result.rejection, [])) });
      });

      createdTypes = await this.ensureTypes(trx, valid.map((item) => item.conversion.type));
      const clicks = await this.lockClicks(trx, valid.map((item) => item.conversion.clickId), options);

      const priced: Priced[] = [];
      for (const { index, conversion } of valid) {
        const click = clicks.get(conversion.clickId);
        if (click && options.source === 'postback' && !ipAllowed(click, inputs[index]?.clientIp)) {
          const rejection = { reason: 'ip_not_allowed', message: rejectionMessages.ipNotAllowed(inputs[index]?.clientIp), clickId: conversion.clickId };
          known.push({ index, outcome: (outcomes[index] = rejected(rejection, conversion.warnings)) });
        } else if (click) {
          priced.push(this.price(index, conversion, click, receivedAt(index), options));
        } else {
          const rejection = { reason: 'unknown_click_id', message: rejectionMessages.unknownClickId(conversion.clickId), clickId: conversion.clickId };
          known.push({ index, outcome: (outcomes[index] = rejected(rejection, conversion.warnings)) });
        }
      }

      await this.upsertAndLog(trx, { priced, known, inputs, normalized, options, receivedAt, outcomes });
      return outcomes;
    };

    let resolved: Resolved[];
    if (options.dryRun && options.transaction) {
      // Inside the caller's transaction a dry run is a savepoint rolled back.
      const transaction = options.transaction;
      await this.run(transaction, STATEMENTS.savepoint, []);
      try {
        resolved = await work(transaction);
      } finally {
        await this.run(transaction, STATEMENTS.rollbackToSavepoint, []);
      }
    } else if (options.dryRun) {
      let captured: Resolved[] = [];
      try {
        await withPgTransaction(this.db, async (transaction) => {
          captured = await work(transaction);
          throw new Rollback();
        });
      } catch (error) {
        if (!(error instanceof Rollback)) throw error;
      }
      resolved = captured;
    } else if (options.transaction) {
      resolved = await work(options.transaction);
    } else {
      resolved = await withPgTransaction(this.db, work);
      // Remember new types only once committed; inside a caller's transaction they may still roll back.
      createdTypes.forEach((type) => this.knownTypes.add(type));
    }
    this.settings.onOutcomes?.(options.source, resolved);
    return resolved;
  }

  /**
   * Logs attempts rejected before they reached the pipeline (e.g. a wrong postback token), so
   * that the registration log still holds every attempt with its reason and raw input.
   */
  async recordRejections(rejections: readonly { input: RegistrationInput; reason: string; message: string }[], options: RegisterOptions): Promise<RegistrationOutcome[]> {
    if (rejections.length === 0) return [];
    const inputs = rejections.map(({ input }) => input);
    const outcomes: Resolved[] = rejections.map(({ reason, message }) => ({ status: 'rejected', reason, message, conversionId: null, clickId: null, warnings: [] }));
    const normalized: NormalizeResult[] = rejections.map(({ reason, message }) => ({ ok: false, rejection: { reason, message, clickId: null } }));
    const batchReceivedAt = options.receivedAt ?? new Date();
    const log = (transaction: PgTransaction) =>
      this.runRound(transaction, [], outcomes.map((outcome, index) => ({ index, outcome })), {
        inputs,
        normalized,
        options,
        receivedAt: (index) => inputs[index]?.receivedAt ?? batchReceivedAt,
        outcomes,
      });
    if (options.transaction) await log(options.transaction);
    else await withPgTransaction(this.db, log);
    this.settings.onOutcomes?.(options.source, outcomes);
    return outcomes;
  }

  private run<Row>(transaction: PgTransaction, statement: PreparedStatement, values: readonly unknown[]): Promise<Row[]> {
    this.settings.onStatement?.(statement.name);
    return transaction.query<Row>(statement, values);
  }

  /**
   * Inserts conversion types not seen before (with default flags). Types are never deleted, so
   * once a name is known to exist it needs no further check.
   */
  private async ensureTypes(trx: PgTransaction, types: readonly string[]): Promise<string[]> {
    if (this.knownTypes.size === 0) {
      const rows = await this.run<{ name: string }>(trx, STATEMENTS.types, []);
      rows.forEach((row) => this.knownTypes.add(row.name));
    }
    const missing = [...new Set(types)].filter((type) => !this.knownTypes.has(type));
    if (missing.length > 0) await this.run(trx, STATEMENTS.addTypes, [missing]);
    return missing;
  }

  /** Step 2: one round trip finds every click of the batch and locks it for this transaction. */
  private async lockClicks(trx: PgTransaction, clickIds: readonly string[], options: RegisterOptions): Promise<Map<string, MatchedClick>> {
    const distinct = [...new Set(clickIds)];
    if (distinct.length === 0) return new Map();
    const rows = await this.run<MatchedClick>(trx, STATEMENTS.lockClicks, [options.offerId ?? null, options.networkId ?? null, distinct]);
    return new Map(rows.map((row) => [row.click_id, row]));
  }

  /** Steps 3 and 4: payout mode and currency precedence. FX happens in SQL, in decimal. */
  private price(index: number, conversion: NormalizedConversion, click: MatchedClick, receivedAt: Date, options: RegisterOptions): Priced {
    const fallbackCurrency = click.offer_currency?.trim() || click.network_currency?.trim() || this.settings.defaultCurrency;
    const reportedCurrency = conversion.payoutCurrency ?? fallbackCurrency;
    const policy: DuplicatePolicy = click.duplicate_policy ?? 'ignore';
    const dedupKey = conversion.txid !== null ? `tx:${conversion.txid}` : policy === 'accept' ? acceptKey(conversion, options) : '';
    const reported = { reportedPayout: conversion.payout, reportedCurrency: conversion.payout === null ? null : reportedCurrency };
    if (click.payout_mode === 'manual' && click.offer_payout !== null) {
      return { index, conversion, click, dedupKey, policy, receivedAt, payout: click.offer_payout, currency: fallbackCurrency, ...reported };
    }
    return { index, conversion, click, dedupKey, policy, receivedAt, payout: conversion.payout, currency: reportedCurrency, ...reported };
  }

  /**
   * Steps 5 and 6. Conversions of the same click and type go into separate rounds, in input
   * order, so that each statement sees the effect of the previous one (usually there is one
   * round). Exact repeats inside a batch are answered as duplicates without a round of their own.
   * Each round is one statement that upserts its conversions and logs every attempt it settles;
   * the first round also logs the batch's rejections.
   */
  private async upsertAndLog(
    trx: PgTransaction,
    batch: {
      priced: readonly Priced[];
      known: KnownLogRow[];
      inputs: readonly RegistrationInput[];
      normalized: readonly NormalizeResult[];
      options: RegisterOptions;
      receivedAt: (index: number) => Date;
      outcomes: Resolved[];
    },
  ): Promise<void> {
    const rounds: Priced[][] = [];
    const roundOfSlot = new Map<string, number>();
    const firstOfRepeat = new Map<string, number>();
    const repeats: { item: Priced; original: number }[] = [];
    for (const item of batch.priced) {
      // Random accept-policy keys never repeat, so those conversions are never collapsed.
      const repeatKey = `${item.click.click_id}\u0000${item.conversion.type}\u0000${item.dedupKey}\u0000${item.conversion.status}\u0000${item.payout}\u0000${item.currency}\u0000${item.reportedPayout}`;
      const original = firstOfRepeat.get(repeatKey);
      if (original !== undefined) {
        repeats.push({ item, original });
        continue;
      }
      firstOfRepeat.set(repeatKey, item.index);
      const slot = `${item.click.click_id}\u0000${item.conversion.type}`;
      const round = (roundOfSlot.get(slot) ?? -1) + 1;
      roundOfSlot.set(slot, round);
      (rounds[round] ??= []).push(item);
    }

    let pending: Priced[][] = rounds.length > 0 ? rounds : [[]];
    let knownToLog = batch.known;
    let retries = 0;
    while (pending.length > 0) {
      const [round = [], ...rest] = pending;
      const conflicted = await this.runRound(trx, round, knownToLog, batch);
      knownToLog = [];
      // An insert that conflicted lost a race to another transaction that wrote the same identity
      // after our snapshot; the next round reads that row and answers duplicate or updated.
      if (conflicted.length > 0) {
        retries += 1;
        if (retries > MAX_CONFLICT_RETRIES) throw new Error('registration kept conflicting with concurrent writes; the batch was rolled back and is safe to retry');
      }
      pending = conflicted.length > 0 ? [conflicted, ...rest] : rest;
    }

    if (repeats.length > 0) {
      const repeatRows = repeats.map(({ item, original }) => {
        const first = batch.outcomes[original];
        const duplicateOfPolicy = item.conversion.txid === null && item.policy === 'ignore';
        const outcome: Resolved = {
          status: 'duplicate',
          reason: duplicateOfPolicy ? 'duplicate_policy' : 'unchanged',
          message: 'same conversion as an earlier one in this batch',
          conversionId: first?.conversionId ?? null,
          clickId: item.click.click_id,
          warnings: item.conversion.warnings,
        };
        batch.outcomes[item.index] = outcome;
        return { index: item.index, outcome };
      });
      await this.runRound(trx, [], repeatRows, batch);
    }
  }

  /**
   * One statement: unpack the round (one JSON document; node-pg's escaping of array literals
   * cost more than the statement itself), find each input's existing conversion with one index
   * probe, decide, update, insert, and append every settled attempt to the registration log.
   * Money travels as JSON strings cast to NUMERIC. Returns the inserts that conflicted.
   */
  private async runRound(
    trx: PgTransaction,
    round: readonly Priced[],
    known: readonly KnownLogRow[],
    batch: { inputs: readonly RegistrationInput[]; normalized: readonly NormalizeResult[]; options: RegisterOptions; receivedAt: (index: number) => Date; outcomes: Resolved[] },
  ): Promise<Priced[]> {
    const { inputs, normalized, options } = batch;
    const logUnchanged = options.logUnchanged ?? true;
    // Per-row data goes out as compact JSON: short keys, absent instead of null, and what many
    // rows share (offer/network pricing, the batch receipt time, rates) sent once. The payload's
    // parse is a large part of the statement's cost.
    const defaultReceivedAt = round[0]?.receivedAt.toISOString() ?? new Date().toISOString();
    const metaIndex = new Map<string, number>();
    const meta: { n: number; campaign_id: string; offer_id: string; network_id: string | null; policy: DuplicatePolicy }[] = [];
    const fxPairs = new Map<string, { currency: string; day: string }>();
    const rows = round.map((item, ord) => {
      const input = inputs[item.index];
      const { conversion, click } = item;
      const metaKey = `${click.campaign_id}/${click.offer_id}/${click.network_id ?? ''}/${item.policy}`;
      let m = metaIndex.get(metaKey);
      if (m === undefined) {
        m = meta.length;
        meta.push({ n: m, campaign_id: click.campaign_id, offer_id: click.offer_id, network_id: click.network_id, policy: item.policy });
        metaIndex.set(metaKey, m);
      }
      const occurredAt = conversion.occurredAt.toISOString();
      const receivedAt = item.receivedAt.toISOString();
      fxPairs.set(`${item.currency}/${occurredAt.slice(0, 10)}`, { currency: item.currency, day: occurredAt.slice(0, 10) });
      const reportedSame = item.reportedPayout === item.payout && (item.reportedPayout === null || item.reportedCurrency === item.currency);
      return {
        o: ord,
        c: click.click_id,
        t: conversion.type,
        x: conversion.txid ?? undefined,
        k: item.dedupKey === '' || item.dedupKey === `tx:${conversion.txid ?? ''}` ? undefined : item.dedupKey,
        s: conversion.status ?? undefined,
        p: item.payout ?? undefined,
        cu: item.currency,
        rs: reportedSame ? undefined : true,
        rp: reportedSame ? undefined : (item.reportedPayout ?? undefined),
        rc: reportedSame ? undefined : (item.reportedCurrency ?? undefined),
        at: occurredAt === receivedAt ? undefined : occurredAt,
        v: click.visited_at,
        ra: receivedAt === defaultReceivedAt ? undefined : receivedAt,
        m,
        pa: Object.keys(conversion.params).length > 0 ? conversion.params : undefined,
        l: input?.line,
        rm: input?.rematchOf,
        w: conversion.warnings.length > 0 ? conversion.warnings : undefined,
        rq: input?.request ?? input?.fields,
      };
    });
    const conversionsPayload = JSON.stringify(rows);
    const knownPayload = JSON.stringify(
      known
        .filter(({ outcome }) => logUnchanged || !(outcome.status === 'duplicate' && outcome.reason === 'unchanged'))
        .map(({ index, outcome }) => {
          const input = inputs[index];
          const result = normalized[index];
          return {
            received_at: batch.receivedAt(index).toISOString(),
            outcome: outcome.status,
            reason: outcome.reason,
            message: outcome.message,
            click_id: outcome.clickId,
            txid: result?.ok ? result.value.txid : null,
            type: result?.ok ? result.value.type : null,
            conversion_id: outcome.conversionId,
            line: input?.line ?? null,
            rematch_of: input?.rematchOf ?? null,
            warnings: outcome.warnings.length > 0 ? outcome.warnings : null,
            fields: outcome.status === 'rejected' ? (input?.fields ?? null) : null,
            request: input?.request ?? input?.fields ?? null,
          };
        }),
    );

    const settled = await this.run<{ ord: number; action: UpsertAction; conversion_id: string | null }>(trx, STATEMENTS.upsertAndLog, [
      conversionsPayload,
      knownPayload,
      JSON.stringify([...fxPairs.values()]),
      JSON.stringify(meta),
      defaultReceivedAt,
      options.source,
      this.settings.displayCurrency,
      options.connectionId ?? null,
      options.uploadId ?? null,
      logUnchanged,
    ]);

    const conflicted: Priced[] = [];
    for (const row of settled) {
      const item = round[row.ord];
      if (!item) continue;
      if (row.conversion_id === null) conflicted.push(item);
      else batch.outcomes[item.index] = describe(row.action, item, row.conversion_id);
    }
    return conflicted;
  }
}

const allowLists = new Map<string, BlockList>();

/** Whether a postback from `ip` may register a conversion of this click's network. */
function ipAllowed(click: MatchedClick, ip: string | undefined): boolean {
  if (!click.postback_ips || click.postback_ips.length === 0) return true;
  if (!ip) return false;
  const address = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
  const family = isIP(address);
  if (family === 0) return false;
  const key = click.postback_ips.join(',');
  let list = allowLists.get(key);
  if (!list) {
    list = new BlockList();
    for (const cidr of click.postback_ips) {
      const [network = '', prefix] = cidr.split('/');
      const type = isIP(network) === 6 ? 'ipv6' : 'ipv4';
      list.addSubnet(network, Number(prefix ?? (type === 'ipv6' ? 128 : 32)), type);
    }
    allowLists.set(key, list);
  }
  return list.check(address, family === 6 ? 'ipv6' : 'ipv4');
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
  const clickId = item.click.click_id;
  const warnings = item.conversion.warnings;
  switch (action) {
    case 'insert':
      return { status: 'accepted', reason: null, message: null, conversionId, clickId, warnings };
    case 'update':
      return { status: 'updated', reason: 'changed', message: outcomeMessages.changed, conversionId, clickId, warnings };
    case 'adopt':
      return { status: 'updated', reason: 'adopted', message: outcomeMessages.adopted, conversionId, clickId, warnings };
    case 'duplicate':
      return item.conversion.txid === null && item.policy === 'ignore'
        ? { status: 'duplicate', reason: 'duplicate_policy', message: outcomeMessages.duplicate_policy, conversionId, clickId, warnings }
        : { status: 'duplicate', reason: 'unchanged', message: outcomeMessages.unchanged, conversionId, clickId, warnings };
  }
}

/** What the non-rejection reasons mean; the log stores only the reason for these. */
export const outcomeMessages = {
  changed: 'status or payout changed; the existing conversion was updated',
  adopted: 'the conversion registered earlier without a txid from another route now carries this txid',
  duplicate_policy: 'this click already has a conversion of this type and the network\'s duplicate policy is "ignore"; send a txid to count separate conversions',
  unchanged: 'already registered with the same status and payout',
} as const;
