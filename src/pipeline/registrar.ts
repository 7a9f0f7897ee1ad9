import type { Db } from '../db/database';
import { Rollback, transaction as inTransaction, type Transaction } from '../db/sql';
import { isStorageDataError, StorageConflictError } from './storage-errors';
import { encodeRound, type BatchContext } from './batch-payload';
import { normalizeConversion, type NormalizeResult } from './normalize';
import { rejectionMessages, type SettledResult } from './outcomes';
import { planBatch, rejected, settledOutcome, type KnownLogRow, type MatchedClick, type Priced, type Resolved } from './planner';
import { STATEMENTS } from './statements';
import { toMatchedClick, type ClickRow } from './click-lookup';
import type { RegisterOptions, RegistrationInput, RegistrationOutcome } from './types';
import { storableAddress } from '../util/ip-address';

/** Settings that decide how conversions are priced and trusted. */
export interface RegistrarSettings {
  /** Currency that `display_payout` is computed in for new conversions. */
  readonly displayCurrency: string;
  /** The account default: last step of the currency precedence. */
  readonly defaultCurrency: string;
  /** Digest (see trust/token-digest) of POSTBACK_TOKEN when set. */
  readonly globalTokenDigest?: string | null;
  /** Told about every settled batch (metrics). */
  readonly onOutcomes?: (source: string, outcomes: readonly RegistrationOutcome[]) => void;
  /** Told about every statement the pipeline runs (diagnostics and tests). */
  readonly onStatement?: (name: string) => void;
  /** Told when a batch had to be split to isolate an input that could not be stored. */
  readonly onIsolation?: (size: number) => void;
}

/** Bound on retry rounds for inserts that lost a race; each retry reads the winner's row. */
const MAX_CONFLICT_RETRIES = 5;

/**
 * The one write path for conversions. Every route hands a batch to {@link Registrar.register};
 * it runs the design's six steps in one transaction (click lookup and lock; one statement per
 * round that upserts and logs; commit) and returns one outcome per input, in input order. When
 * the promise resolves the outcomes are committed: conversion and log row together, or neither.
 *
 * Decisions live elsewhere: validation in normalize.ts, trust in trust/trust-policy.ts, pricing
 * and identity in planner.ts, the upsert's result in statements.ts. This class only runs them,
 * and keeps one input from costing another: a batch statement that fails on its data is split
 * until the failing input is isolated and rejected `storage_error`; the rest commit.
 */
export class Registrar {
  private readonly knownTypes = new Set<string>();
  /** Whether the ledger is range-partitioned (an operator's opt-in): decides the statement's variant. */
  private partitionedLedger: Promise<boolean> | undefined;

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
    const receivedAt = (index: number): Date => inputs[index]?.receivedAt ?? batchReceivedAt;
    const normalized = inputs.map((input, index): NormalizeResult =>
      input.rejection
        ? { ok: false, rejection: { reason: input.rejection.reason, message: input.rejection.message, clickId: null, txid: input.rejection.txid ?? null } }
        : normalizeConversion(input.fields, { receivedAt: receivedAt(index), defaultType: options.defaultType }),
    );
    const batch: BatchContext = { inputs, normalized, options, receivedAt };
    const outcomes: Resolved[] = new Array(inputs.length);
    const all = inputs.map((_, index) => index);

    if (options.dryRun) {
      // A dry run works out every outcome, then rolls back: nothing is stored, not even the log.
      await this.withRollback(options.transaction, (trx) => this.isolated(trx, all, batch, outcomes));
    } else if (options.transaction) {
      await this.isolated(options.transaction, all, batch, outcomes);
    } else {
      await this.committed(all, batch, outcomes);
    }
    // A dry run registered nothing: it does not count in the outcome metrics.
    if (!options.dryRun) this.settings.onOutcomes?.(options.source, outcomes);
    return outcomes;
  }

  /**
   * Inside a transaction: runs `indices` under a savepoint; when the data of one of them makes a
   * statement fail, rolls back to the savepoint and halves the set until that input is alone.
   */
  private async isolated(trx: Transaction, indices: readonly number[], batch: BatchContext, outcomes: Resolved[]): Promise<void> {
    await this.run(trx, STATEMENTS.savepoint, []);
    try {
      await this.registerIn(trx, indices, batch, outcomes);
      await this.run(trx, STATEMENTS.releaseSavepoint, []);
    } catch (error) {
      if (!isStorageDataError(error)) throw error;
      await this.run(trx, STATEMENTS.rollbackToSavepoint, []);
      await this.run(trx, STATEMENTS.releaseSavepoint, []);
      this.settings.onIsolation?.(indices.length);
      if (indices.length === 1) return this.storageError(trx, indices[0] as number, batch, outcomes, error);
      const middle = Math.ceil(indices.length / 2);
      await this.isolated(trx, indices.slice(0, middle), batch, outcomes);
      await this.isolated(trx, indices.slice(middle), batch, outcomes);
    }
  }

  /**
   * In transactions of its own: the whole batch in one, without savepoints (the common case costs
   * nothing extra); if its data fails a statement, each half in its own, recursively.
   */
  private async committed(indices: readonly number[], batch: BatchContext, outcomes: Resolved[]): Promise<void> {
    const created: string[] = [];
    try {
      await inTransaction(this.db, async (trx) => {
        created.length = 0;
        created.push(...(await this.registerIn(trx, indices, batch, outcomes)));
      });
      // Remember new types only once committed.
      created.forEach((type) => this.knownTypes.add(type));
    } catch (error) {
      if (!isStorageDataError(error)) throw error;
      this.settings.onIsolation?.(indices.length);
      if (indices.length === 1) {
        await inTransaction(this.db, (trx) => this.storageError(trx, indices[0] as number, batch, outcomes, error));
        return;
      }
      const middle = Math.ceil(indices.length / 2);
      await this.committed(indices.slice(0, middle), batch, outcomes);
      await this.committed(indices.slice(middle), batch, outcomes);
    }
  }

  private async withRollback(outer: Transaction | undefined, work: (trx: Transaction) => Promise<void>): Promise<void> {
    if (outer) {
      await this.run(outer, { name: 'tally_dry_run_savepoint_v1', text: 'SAVEPOINT tally_dry_run' }, []);
      try {
        await work(outer);
      } finally {
        await this.run(outer, { name: 'tally_dry_run_rollback_v1', text: 'ROLLBACK TO SAVEPOINT tally_dry_run' }, []);
      }
      return;
    }
    try {
      await inTransaction(this.db, async (trx) => {
        await work(trx);
        throw new Rollback();
      });
    } catch (error) {
      if (!(error instanceof Rollback)) throw error;
    }
  }

  /** Steps 2–6 for `indices` of the batch, in `trx`. Returns the conversion types it created. */
  private async registerIn(trx: Transaction, indices: readonly number[], batch: BatchContext, outcomes: Resolved[]): Promise<string[]> {
    const subset = pick(batch, indices);
    const valid = subset.normalized.flatMap((result) => (result.ok ? [result.value] : []));
    const createdTypes = await this.ensureTypes(trx, valid.map((conversion) => conversion.type));
    const clicks = await this.lockClicks(trx, valid.map((conversion) => conversion.clickId), batch.options);
    const local: Resolved[] = new Array(indices.length);
    const plan = planBatch(
      { ...subset, clicks, options: batch.options },
      { defaultCurrency: this.settings.defaultCurrency, globalTokenDigest: this.settings.globalTokenDigest ?? null, now: new Date() },
      local,
    );
    await this.upsertAndLog(trx, plan, subset, local);
    local.forEach((outcome, position) => (outcomes[indices[position] as number] = outcome));
    return createdTypes;
  }

  /** Rejects one input that could not be stored, logging what can be kept of it. */
  private async storageError(trx: Transaction, index: number, batch: BatchContext, outcomes: Resolved[], error: unknown): Promise<void> {
    const detail = `Postgres ${(error as { code?: string }).code ?? 'error'}: ${String((error as Error).message).slice(0, 200)}`;
    const input = batch.inputs[index];
    const normalizedResult = batch.normalized[index];
    const clickId = normalizedResult?.ok ? normalizedResult.value.clickId : null;
    const outcome = rejected({ reason: 'storage_error', message: rejectionMessages.storageError(detail), clickId }, []);
    // The raw input is kept as escaped text: whatever in it broke the statement cannot break this one.
    const escaped = JSON.stringify(input?.request ?? input?.fields ?? null).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    const clientIp = storableAddress(input?.clientIp);
    const stand: RegistrationInput = { fields: {}, request: { unstorable_request: escaped.slice(0, 100_000) }, ...(input?.line !== undefined ? { line: input.line } : {}), ...(clientIp ? { clientIp } : {}) };
    const context: BatchContext = { ...batch, inputs: [stand], normalized: [{ ok: false, rejection: { reason: 'storage_error', message: outcome.message ?? '', clickId } }], receivedAt: () => batch.receivedAt(index) };
    await this.runRound(trx, [], [{ index: 0, outcome, networkId: null }], context);
    outcomes[index] = outcome;
  }

  private run<Row>(trx: Transaction, statement: { name: string; text: string }, values: readonly unknown[]): Promise<Row[]> {
    this.settings.onStatement?.(statement.name);
    return trx.query<Row>(statement, values);
  }

  /**
   * Inserts conversion types not seen before (with default flags). Types are never deleted, so
   * once a name is known to exist it needs no further check.
   */
  private async ensureTypes(trx: Transaction, types: readonly string[]): Promise<string[]> {
    if (this.knownTypes.size === 0) {
      const rows = await this.run<{ name: string }>(trx, STATEMENTS.types, []);
      rows.forEach((row) => this.knownTypes.add(row.name));
    }
    const missing = [...new Set(types)].filter((type) => !this.knownTypes.has(type));
    if (missing.length > 0) await this.run(trx, STATEMENTS.addTypes, [missing]);
    return missing;
  }

  /** Step 2: one round trip finds every click of the batch and locks it for this transaction. */
  private async lockClicks(trx: Transaction, clickIds: readonly string[], options: RegisterOptions): Promise<Map<string, MatchedClick>> {
    const distinct = [...new Set(clickIds)];
    if (distinct.length === 0) return new Map();
    const rows = await this.run<ClickRow>(trx, STATEMENTS.lockClicks, [options.offerId ?? null, options.networkId ?? null, distinct]);
    return new Map(rows.map((row) => [row.click_id, toMatchedClick(row)]));
  }

  /**
   * Steps 5 and 6: each round is one statement that upserts its conversions and logs every
   * attempt it settles; the first round also logs the batch's rejections, the last its repeats.
   */
  private async upsertAndLog(trx: Transaction, plan: ReturnType<typeof planBatch>, batch: BatchContext, outcomes: Resolved[]): Promise<void> {
    let pending: Priced[][] = plan.rounds.length > 0 ? plan.rounds : [[]];
    let knownToLog: readonly KnownLogRow[] = plan.known;
    let retries = 0;
    while (pending.length > 0) {
      const [round = [], ...rest] = pending;
      const conflicted = await this.runRound(trx, round, knownToLog, batch, outcomes);
      knownToLog = [];
      // An insert that conflicted lost a race to another transaction that wrote the same identity
      // after our snapshot; the next round reads that row and answers duplicate or updated.
      if (conflicted.length > 0) {
        retries += 1;
        if (retries > MAX_CONFLICT_RETRIES) throw new StorageConflictError();
      }
      pending = conflicted.length > 0 ? [conflicted, ...rest] : rest;
    }

    if (plan.repeats.length > 0) {
      const repeatRows = plan.repeats.map(({ item, original }) => {
        const outcome = settledOutcome(item.unchangedResult, item, outcomes[original]?.conversionId ?? null);
        outcome.message = `same conversion as an earlier one in this batch: ${outcome.message}`;
        outcomes[item.index] = outcome;
        return { index: item.index, outcome, networkId: item.click.network_id };
      });
      await this.runRound(trx, [], repeatRows, batch, outcomes);
    }
  }

  /** One registration statement; returns the inserts that conflicted (to retry in the next round). */
  private async runRound(trx: Transaction, round: readonly Priced[], known: readonly KnownLogRow[], batch: BatchContext, outcomes?: Resolved[]): Promise<Priced[]> {
    const payload = encodeRound(round, known, batch);
    this.partitionedLedger ??= trx
      .query<{ relkind: string }>("SELECT relkind FROM pg_class WHERE oid = 'registration_log'::regclass")
      .then(([row]) => row?.relkind === 'p');
    const statement = (await this.partitionedLedger) ? STATEMENTS.upsertAndLogPartitioned : STATEMENTS.upsertAndLog;
    const settled = await this.run<{ ord: number; result: SettledResult; conversion_id: string | null }>(trx, statement, [
      payload.conversions,
      payload.known,
      payload.fxPairs,
      payload.meta,
      payload.defaultReceivedAt,
      batch.options.source,
      this.settings.displayCurrency,
      batch.options.connectionId ?? null,
      batch.options.uploadId ?? null,
      batch.options.logUnchanged ?? true,
    ]).catch((error: { code?: string }) => {
      // 42P10: the ledger was partitioned while this process ran; look again on the next batch.
      if (error.code === '42P10') this.partitionedLedger = undefined;
      throw error;
    });
    const conflicted: Priced[] = [];
    for (const row of settled) {
      const item = round[row.ord];
      if (!item) continue;
      if (row.conversion_id === null) conflicted.push(item);
      else if (outcomes) outcomes[item.index] = settledOutcome(row.result, item, row.conversion_id);
    }
    return conflicted;
  }
}

/** The part of a batch at `indices`, re-indexed from 0. */
function pick(batch: BatchContext, indices: readonly number[]): BatchContext {
  if (indices.length === batch.inputs.length) return batch;
  return {
    inputs: indices.map((index) => batch.inputs[index] as RegistrationInput),
    normalized: indices.map((index) => batch.normalized[index] as NormalizeResult),
    options: batch.options,
    receivedAt: (position) => batch.receivedAt(indices[position] as number),
  };
}
