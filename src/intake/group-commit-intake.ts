import type { Registrar } from '../pipeline/registrar';
import type { RegistrationInput, RegistrationOutcome } from '../pipeline/types';
import { sameIntakeOptions, type ConversionIntake, type IntakeOptions } from './conversion-intake';

interface Pending {
  readonly input: RegistrationInput;
  readonly resolve: (outcome: RegistrationOutcome) => void;
  readonly reject: (error: unknown) => void;
}

interface Group {
  readonly options: IntakeOptions;
  items: Pending[];
  timer: NodeJS.Timeout | undefined;
}

export interface GroupCommitOptions {
  /** How long the first submission of a batch waits for company. */
  readonly maxWaitMs?: number;
  /** A batch this large is flushed at once. */
  readonly maxBatchSize?: number;
  /** Batches committing at the same time (each holds a database connection). */
  readonly maxInFlight?: number;
  /**
   * Submissions held in memory at once (collecting, queued or committing). Beyond it `submit`
   * fails with {@link IntakeFullError} at once instead of growing memory without bound.
   */
  readonly maxPending?: number;
}

/** The in-memory intake is full: the caller answers 503 with Retry-After (or spools, once a spool exists). */
export class IntakeFullError extends Error {
  constructor(readonly limit: number) {
    super(`the intake holds ${limit} postbacks waiting for the database; retry shortly`);
    this.name = 'IntakeFullError';
  }
}

/**
 * Group commit for postbacks: submissions arriving within a few milliseconds of each other are
 * registered as one pipeline batch (one transaction, three statements), so throughput does not
 * hinge on one commit per request. Every submission still resolves with its own outcome, after
 * the batch is committed. When all in-flight slots are busy, new submissions keep collecting and
 * go out as the next, larger batch.
 */
export class GroupCommitIntake implements ConversionIntake {
  private readonly groups = new Map<string, Group>();
  private readonly ready: Group[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly maxWaitMs: number;
  private readonly maxBatchSize: number;
  private readonly maxInFlight: number;
  private readonly maxPending: number;
  private pending = 0;

  constructor(
    private readonly registrar: Registrar,
    options: GroupCommitOptions = {},
    private readonly onBatch?: (size: number) => void,
  ) {
    this.maxWaitMs = options.maxWaitMs ?? 2;
    this.maxBatchSize = options.maxBatchSize ?? 500;
    this.maxInFlight = options.maxInFlight ?? 4;
    this.maxPending = options.maxPending ?? 10_000;
  }

  /** Submissions held in memory right now. */
  get size(): number {
    return this.pending;
  }

  submit(input: RegistrationInput, options: IntakeOptions): Promise<RegistrationOutcome> {
    if (this.pending >= this.maxPending) return Promise.reject(new IntakeFullError(this.maxPending));
    this.pending += 1;
    const settle = <T>(fn: (value: T) => void) => (value: T): void => {
      this.pending -= 1;
      fn(value);
    };
    return new Promise<RegistrationOutcome>((resolveOutcome, rejectOutcome) => {
      const resolve = settle(resolveOutcome);
      const reject = settle(rejectOutcome);
      const key = JSON.stringify([options.source, options.connectionId ?? null, options.uploadId ?? null, options.networkId ?? null, options.offerId ?? null, options.defaultType ?? null]);
      let group = this.groups.get(key);
      if (!group) {
        group = { options, items: [], timer: undefined };
        this.groups.set(key, group);
      }
      group.items.push({ input, resolve, reject });
      if (group.items.length >= this.maxBatchSize) {
        this.close(key, group);
      } else if (!group.timer) {
        const current = group;
        group.timer = setTimeout(() => this.close(key, current), this.maxWaitMs);
      }
    });
  }

  async drain(): Promise<void> {
    for (const [key, group] of [...this.groups]) this.close(key, group);
    while (this.inFlight.size > 0 || this.ready.length > 0) {
      this.pump();
      await Promise.allSettled([...this.inFlight]);
    }
  }

  /** Stops collecting into a group and queues it for commit. */
  private close(key: string, group: Group): void {
    if (group.timer) clearTimeout(group.timer);
    group.timer = undefined;
    if (this.groups.get(key) === group) this.groups.delete(key);
    this.ready.push(group);
    this.pump();
  }

  private pump(): void {
    while (this.inFlight.size < this.maxInFlight && this.ready.length > 0) {
      const group = this.ready.shift() as Group;
      // Groups with equal options that queued up while the slots were busy go out together.
      for (let index = 0; index < this.ready.length && group.items.length < this.maxBatchSize * 4; ) {
        const other = this.ready[index] as Group;
        if (sameIntakeOptions(other.options, group.options)) {
          group.items.push(...other.items);
          this.ready.splice(index, 1);
        } else {
          index += 1;
        }
      }
      const flight = this.commit(group).finally(() => {
        this.inFlight.delete(flight);
        this.pump();
      });
      this.inFlight.add(flight);
    }
  }

  private async commit(group: Group): Promise<void> {
    const items = group.items;
    this.onBatch?.(items.length);
    try {
      const outcomes = await this.registrar.register(
        items.map((item) => item.input),
        { ...group.options },
      );
      items.forEach((item, index) => item.resolve(outcomes[index] as RegistrationOutcome));
    } catch (error) {
      items.forEach((item) => item.reject(error));
    }
  }
}
