import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log/logger';
import type { Metrics } from '../observability/metrics';
import type { Registrar } from '../pipeline/registrar';
import { SegmentLog } from './segment-log';
import { SpoolDrainer } from './spool-drainer';
import { encodeSpooledPostback, type SpooledPostback } from './spool-entry';
import { adoptOrphans, currentOwner, ownerName } from './spool-owner';
import { FRAME_HEADER_BYTES } from './spool-frame';

/** The spool holds SPOOL_MAX_MB: the postback gets 503 with Retry-After. */
export class SpoolFullError extends Error {
  constructor(readonly limitBytes: number) {
    super(`the local spool holds its limit of ${Math.round(limitBytes / 1024 / 1024)} MB (SPOOL_MAX_MB) while the database is away; retry later`);
    this.name = 'SpoolFullError';
  }
}

/** The spool could not write the postback to disk: it was not made durable. */
export class SpoolWriteError extends Error {
  constructor(cause: unknown) {
    super(`the local spool could not write to disk (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message})`, { cause });
    this.name = 'SpoolWriteError';
  }
}

/** What /readyz reports: `ok` empty, `draining` a backlog waits for the database, `full`, or `unwritable`. */
export type SpoolState = 'ok' | 'draining' | 'full' | 'unwritable';

export interface SpoolSettings {
  /** SPOOL_DIR: this process writes into a subdirectory of its own. */
  readonly dir: string;
  /** SPOOL_MAX_MB in bytes, for this process's own subdirectory. */
  readonly maxBytes: number;
  readonly registrar: Pick<Registrar, 'register'>;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** How often SPOOL_DIR is searched for subdirectories whose process is gone (default 10 s). */
  readonly adoptEveryMs?: number;
  readonly segmentBytes?: number;
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
}

interface Adopted {
  readonly drainer: SpoolDrainer;
  readonly done: Promise<void>;
}

/**
 * The local durable spool (DESIGN "Durability when Postgres is away"). Each process appends to a
 * subdirectory of SPOOL_DIR that it owns, and drains it into the pipeline in arrival order
 * whenever the database takes writes. Subdirectories left by processes that are gone (a crash,
 * a kill -9, an earlier run) are adopted — at start and every few seconds — and drained first:
 * they hold older postbacks, and while any backlog remains new postbacks queue behind it.
 */
export class Spool {
  private readonly adopted = new Set<Adopted>();
  private adopting: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private writeFailed = false;
  /** Size of the last postback refused for room; `full` while it still would not fit. */
  private refusedBytes: number | undefined;
  private quarantined = 0;

  private constructor(
    private readonly settings: SpoolSettings,
    private readonly name: string,
    private readonly own: SegmentLog,
    private readonly drainer: SpoolDrainer,
  ) {}

  /** Creates this process's subdirectory, adopts orphans and starts draining. */
  static async open(settings: SpoolSettings): Promise<Spool> {
    await mkdir(settings.dir, { recursive: true });
    const name = ownerName(currentOwner());
    const own = await SegmentLog.create(join(settings.dir, name), { segmentBytes: settings.segmentBytes, onCorrupt: (file, reason) => corrupt(settings, file, reason) });
    let spool: Spool | undefined;
    const drainer = new SpoolDrainer(own, settings.registrar, {
      ...drainerSettings(settings),
      mode: 'follow',
      // Older postbacks of adopted spools go first.
      before: () => spool?.adoptedDrained() ?? Promise.resolve(),
      quarantine: (payload, reason) => spool?.quarantine(payload, reason) ?? Promise.resolve(),
    });
    spool = new Spool(settings, name, own, drainer);
    await spool.adoptNow();
    void drainer.start();
    spool.timer = setInterval(() => void spool?.adoptNow(), settings.adoptEveryMs ?? 10_000);
    spool.timer.unref();
    return spool;
  }

  /** This process's subdirectory. */
  get ownDir(): string {
    return this.own.dir;
  }

  /** Whether postbacks are waiting in any spool this process drains: new ones must queue behind them. */
  get hasBacklog(): boolean {
    if (this.own.pendingEntries > 0) return true;
    for (const adopted of this.adopted) if (adopted.drainer.log.pendingEntries > 0) return true;
    return false;
  }

  get state(): SpoolState {
    if (this.writeFailed) return 'unwritable';
    if (this.refusedBytes !== undefined) {
      if (this.own.pendingBytes + this.refusedBytes > this.settings.maxBytes) return 'full';
      this.refusedBytes = undefined;
    }
    return this.hasBacklog ? 'draining' : 'ok';
  }

  /** Whether a postback can be made durable here now (for /readyz). */
  get acceptsPostbacks(): boolean {
    const state = this.state;
    return state === 'ok' || state === 'draining';
  }

  /** Entries, bytes and the oldest receipt time over every log this process drains. */
  stats(): { entries: number; bytes: number; oldestAt: Date | undefined } {
    let entries = this.own.pendingEntries;
    let bytes = this.own.pendingBytes;
    let oldestAt = this.drainer.oldestPendingAt;
    for (const { drainer } of this.adopted) {
      entries += drainer.log.pendingEntries;
      bytes += drainer.log.pendingBytes;
      const at = drainer.oldestPendingAt;
      if (at && (!oldestAt || at < oldestAt)) oldestAt = at;
    }
    return { entries, bytes, oldestAt };
  }

  /**
   * Appends a postback and resolves once it is on disk (fsync'd). Throws SpoolFullError at
   * SPOOL_MAX_MB and SpoolWriteError when the disk fails; either way nothing was stored.
   */
  async append(entry: SpooledPostback): Promise<void> {
    const payload = encodeSpooledPostback(entry);
    const size = payload.length + FRAME_HEADER_BYTES;
    if (this.own.pendingBytes + size > this.settings.maxBytes) {
      this.refusedBytes = size;
      throw new SpoolFullError(this.settings.maxBytes);
    }
    this.drainer.noteAppend(entry.input.receivedAt);
    try {
      await this.own.append(payload);
      this.writeFailed = false;
    } catch (error) {
      this.writeFailed = true;
      throw new SpoolWriteError(error);
    }
  }

  /**
   * Stops: gives the own backlog up to `graceMs` to drain, then stops the drains. What is left
   * stays on disk for the next process on this machine; an empty own subdirectory is removed.
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.adopting;
    const deadline = Date.now() + graceMs;
    while (this.hasBacklog && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await Promise.all([this.drainer.stop(), ...[...this.adopted].map(({ drainer }) => drainer.stop())]);
    const left = this.stats().entries;
    await this.own.close();
    for (const { drainer } of this.adopted) await drainer.log.close();
    if (this.own.pendingEntries === 0) await rm(this.own.dir, { recursive: true, force: true });
    if (left > 0) this.settings.logger.warn({ entries: left, dir: this.settings.dir }, 'postbacks remain in the spool; the next tally serve on this machine registers them');
  }

  /** Resolves once no adopted spool has entries left (the own drain waits on it). */
  private async adoptedDrained(): Promise<void> {
    await this.adopting;
    while (this.adopted.size > 0) await Promise.race([...this.adopted].map((adopted) => adopted.done));
  }

  /** Adopts subdirectories whose process is gone and drains each until it is empty, then removes it. */
  private adoptNow(): Promise<void> {
    this.adopting ??= (async () => {
      try {
        for (const dir of await adoptOrphans(this.settings.dir, this.name)) {
          const log = await SegmentLog.recover(dir, { segmentBytes: this.settings.segmentBytes, onCorrupt: (file, reason) => corrupt(this.settings, file, reason) });
          this.settings.logger.info({ dir, entries: log.pendingEntries }, 'adopted the spool of a process that is gone');
          const drainer = new SpoolDrainer(log, this.settings.registrar, { ...drainerSettings(this.settings), mode: 'until-empty', quarantine: (payload, reason) => this.quarantine(payload, reason) });
          const adopted: Adopted = {
            drainer,
            done: drainer.start().then(async () => {
              this.adopted.delete(adopted);
              await log.close();
              if (log.pendingEntries === 0) await rm(dir, { recursive: true, force: true });
            }),
          };
          this.adopted.add(adopted);
        }
      } catch (error) {
        this.settings.logger.error({ err: (error as Error).message, dir: this.settings.dir }, 'could not look for orphaned spools');
      } finally {
        this.adopting = undefined;
      }
    })();
    return this.adopting;
  }

  /** Keeps an unreadable entry in SPOOL_DIR/unreadable/ for an operator. */
  private async quarantine(payload: Buffer, reason: string): Promise<void> {
    const dir = join(this.settings.dir, 'unreadable');
    await mkdir(dir, { recursive: true });
    this.quarantined += 1;
    await writeFile(join(dir, `${this.name}-${Date.now()}-${this.quarantined}.bin`), payload, { flush: true });
    this.settings.logger.error({ dir, reason }, 'a spooled entry was kept aside unregistered');
  }
}

function drainerSettings(settings: SpoolSettings) {
  return {
    logger: settings.logger,
    ...(settings.metrics ? { metrics: settings.metrics } : {}),
    ...(settings.retryMinMs !== undefined ? { retryMinMs: settings.retryMinMs } : {}),
    ...(settings.retryMaxMs !== undefined ? { retryMaxMs: settings.retryMaxMs } : {}),
  };
}

function corrupt(settings: SpoolSettings, file: string, reason: string): void {
  settings.metrics?.spoolCorrupt.inc();
  settings.logger.error({ file, reason }, 'spool data could not be read back; the unreadable part was copied aside as .corrupt');
}
