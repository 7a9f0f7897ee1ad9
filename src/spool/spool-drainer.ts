import { sameIntakeOptions } from '../intake/conversion-intake';
import type { Logger } from '../log/logger';
import type { Metrics } from '../observability/metrics';
import type { Registrar } from '../pipeline/registrar';
import type { LogBatch, SegmentLog } from './segment-log';
import { decodeSpooledPostback, type SpooledPostback } from './spool-entry';

export interface DrainerOptions {
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** `follow` keeps waiting for appends (the process's own log); `until-empty` ends when the log is empty (an adopted one). */
  readonly mode: 'follow' | 'until-empty';
  /** Entries read and registered per round (each run of equal options is one pipeline batch). */
  readonly batchSize?: number;
  /** Waits before a failed batch is tried again: from `retryMinMs`, doubling up to `retryMaxMs`. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** Awaited before each round: the own log waits here while older, adopted backlogs drain first. */
  readonly before?: () => Promise<void>;
  /** Keeps an entry this version cannot read (it is never registered, so it must not vanish). */
  readonly quarantine?: (payload: Buffer, reason: string) => Promise<void>;
}

class DrainStopped extends Error {}

/** The parameters a postback may carry its click ID in (see received-conversion.ts). */
const CLICK_ID_PARAMS = ['click_id', 'cf_click_id', 'cid', 'clickid'];

/** Which click an entry reports for, as far as its raw fields say (a rough key: over-splitting is harmless). */
function clickKey(entry: SpooledPostback): string {
  for (const name of CLICK_ID_PARAMS) {
    const value = entry.input.fields[name];
    if (typeof value === 'string' && value.trim() !== '') return value.trim().toLowerCase();
  }
  return '';
}

/**
 * Registers a spool log's entries through the pipeline in arrival order, one batch at a time,
 * and moves the log's cursor past a batch only once every entry of it is committed. A batch that
 * fails (Postgres still away) is tried again with backoff, never skipped. If the process dies
 * between the commit and the cursor, the next owner registers those entries again: each carries
 * the intake id it got at receipt, which the ledger makes unique, so the second time is a no-op.
 */
export class SpoolDrainer {
  private stopped = false;
  private loop: Promise<void> | undefined;
  private interrupt: (() => void) | undefined;
  private head: Date | undefined;

  constructor(
    readonly log: SegmentLog,
    private readonly registrar: Pick<Registrar, 'register'>,
    private readonly options: DrainerOptions,
  ) {}

  /** Receipt time of the oldest entry not yet registered, when the drainer has read it. */
  get oldestPendingAt(): Date | undefined {
    return this.log.pendingEntries > 0 ? this.head : undefined;
  }

  /** Tells the drainer an entry was appended (its age counts from there while nothing older waits). */
  noteAppend(receivedAt: Date): void {
    if (this.head === undefined) this.head = receivedAt;
  }

  /** Starts draining; the promise settles when the log is empty (`until-empty`) or the drainer stops. */
  start(): Promise<void> {
    this.loop ??= this.run().catch((error: unknown) => {
      if (!(error instanceof DrainStopped)) this.options.logger.error({ err: (error as Error).message, dir: this.log.dir }, 'spool drain stopped on an error; the entries stay on disk');
    });
    return this.loop;
  }

  /** Stops after the batch under way (or its wait); unsettled entries stay in the log. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.interrupt?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const batchSize = this.options.batchSize ?? 2000;
    for (let failures = 0; !this.stopped; ) {
      try {
        await this.options.before?.();
        if (this.stopped) return;
        const batch = await this.log.readBatch(batchSize);
        if (batch.payloads.length === 0) {
          this.head = undefined;
          if (this.options.mode === 'until-empty') return;
          await this.wait(this.log.waitForAppend());
          continue;
        }
        await this.settle(batch);
        failures = 0;
      } catch (error) {
        if (error instanceof DrainStopped || this.stopped) throw error;
        // The files themselves failed (a full disk writing the cursor, a read error): the entries
        // are still on disk, so the drain waits and goes on rather than stopping for good. A
        // batch registered before its cursor could be written is registered again as a no-op.
        failures += 1;
        this.options.metrics?.spoolDrainErrors.inc();
        if (failures % 20 === 1) this.options.logger.error({ err: (error as Error).message, dir: this.log.dir, failures }, 'spool drain failed on its files; retrying');
        await this.backoff(failures);
      }
    }
  }

  /** Registers a batch run by run (consecutive entries with equal options), then commits the cursor. */
  private async settle(batch: LogBatch): Promise<void> {
    const entries: SpooledPostback[] = [];
    for (const payload of batch.payloads) {
      try {
        entries.push(decodeSpooledPostback(payload));
      } catch (error) {
        this.options.metrics?.spoolCorrupt.inc();
        this.options.logger.error({ err: (error as Error).message, dir: this.log.dir }, 'a spooled entry cannot be read; kept aside, not registered');
        await this.options.quarantine?.(payload, (error as Error).message);
      }
    }
    this.head = entries[0]?.input.receivedAt;
    for (let start = 0; start < entries.length; ) {
      const first = entries[start] as SpooledPostback;
      const clicks = new Set([clickKey(first)]);
      let end = start + 1;
      for (; end < entries.length; end += 1) {
        const entry = entries[end] as SpooledPostback;
        // A second report for the same click starts a new batch: within one pipeline batch an
        // A-B-A sequence of reports collapses the last A into a repeat of the first, so reports
        // of one conversion are registered one batch after the other, in arrival order.
        if (!sameIntakeOptions(entry.options, first.options) || clicks.has(clickKey(entry))) break;
        clicks.add(clickKey(entry));
      }
      await this.register(entries.slice(start, end));
      start = end;
      this.head = entries[start]?.input.receivedAt;
    }
    await this.log.commit(batch);
  }

  private async register(run: SpooledPostback[]): Promise<void> {
    const { logger, metrics } = this.options;
    for (let attempt = 0; ; attempt += 1) {
      try {
        const outcomes = await this.registrar.register(run.map((entry) => entry.input), { ...(run[0] as SpooledPostback).options });
        outcomes.forEach((outcome, index) => {
          metrics?.spoolDrained.inc({ outcome: outcome.status });
          logger.debug({ reqId: run[index]?.input.intakeId, outcome: outcome.status, reason: outcome.reason }, 'spooled postback registered');
        });
        if (attempt > 0) logger.info({ entries: run.length, attempts: attempt + 1 }, 'spool drain resumed: the database takes postbacks again');
        return;
      } catch (error) {
        if (this.stopped) throw new DrainStopped();
        metrics?.spoolDrainErrors.inc();
        // One line when the trouble starts and one a minute or so after, not one per attempt.
        if (attempt % 20 === 0) {
          logger.warn({ err: (error as Error).message, entries: run.length, firstReqId: run[0]?.input.intakeId, attempt: attempt + 1 }, 'spool drain waits: registering spooled postbacks failed; retrying');
        }
        await this.backoff(attempt);
        if (this.stopped) throw new DrainStopped();
      }
    }
  }

  /** Waits before try `attempt` + 1: from `retryMinMs`, doubling up to `retryMaxMs`, jittered (unless stopped first). */
  private backoff(attempt: number): Promise<void> {
    const delay = Math.min(this.options.retryMaxMs ?? 5_000, (this.options.retryMinMs ?? 200) * 2 ** Math.min(attempt, 16));
    return this.wait(new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * (delay / 2)).unref()));
  }

  /** Waits for `promise` unless the drainer is stopped first. */
  private async wait(promise: Promise<unknown>): Promise<void> {
    await Promise.race([promise, new Promise<void>((resolve) => (this.interrupt = resolve))]);
    this.interrupt = undefined;
  }
}
