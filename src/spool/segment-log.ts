import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { encodeFrame, FRAME_HEADER_BYTES, payloadIntact, readFrameHeader } from './spool-frame';
import { syncDirectory } from './sync-directory';

/** A place in the log: segment number and byte offset within it. */
export interface LogPosition {
  readonly segment: number;
  readonly offset: number;
}

/** Entries read from the cursor on, with where the cursor goes once they are settled. */
export interface LogBatch {
  readonly payloads: Buffer[];
  readonly next: LogPosition;
  /** Frame bytes the batch spans. */
  readonly bytes: number;
}

export interface SegmentLogOptions {
  /** A segment that has grown past this many bytes is closed and the next append starts a new one. */
  readonly segmentBytes?: number;
  /** Told when bytes of a closed segment cannot be read back (disk damage); they are copied aside as `<segment>.corrupt`. */
  readonly onCorrupt?: (file: string, reason: string) => void;
}

interface PendingAppend {
  readonly frame: Buffer;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

const SEGMENT_PATTERN = /^(\d{16})\.seg$/;
const CURSOR_FILE = 'cursor.json';
const DEFAULT_SEGMENT_BYTES = 4 * 1024 * 1024;

const segmentName = (segment: number): string => `${String(segment).padStart(16, '0')}.seg`;

/**
 * An append-only log in one directory: numbered segment files of checksummed frames, read in
 * order from a cursor that is kept in `cursor.json`. `append` resolves only after the frame is
 * on disk (write + fdatasync); appends that arrive while a sync runs go out together in the next
 * one, so a burst costs one sync, not one per entry. A crash can leave a torn frame at the end of
 * the last segment: it was never acknowledged, and opening the log cuts it off. Settled segments
 * are deleted. Not safe for two processes at once: the spool gives each directory one owner.
 */
export class SegmentLog {
  private readonly sizes = new Map<number, number>();
  private cursor: LogPosition;
  private active: { segment: number; handle: FileHandle; offset: number } | undefined;
  private readHandle: { segment: number; handle: FileHandle } | undefined;
  private queue: PendingAppend[] = [];
  private flushing = false;
  private waiters: (() => void)[] = [];
  private entries: number;
  private bytes: number;
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly dir: string,
    private readonly segmentBytes: number,
    cursor: LogPosition,
    entries: number,
    bytes: number,
  ) {
    this.cursor = cursor;
    this.entries = entries;
    this.bytes = bytes;
  }

  /** A new, empty log that takes appends (the directory must not hold one yet). */
  static async create(dir: string, options: SegmentLogOptions = {}): Promise<SegmentLog> {
    await mkdir(dir, { recursive: true });
    // The log's own directory must survive a power loss too, not only the files in it.
    await syncDirectory(dirname(dir));
    const log = new SegmentLog(dir, options.segmentBytes ?? DEFAULT_SEGMENT_BYTES, { segment: 1, offset: 0 }, 0, 0);
    await log.startSegment(1);
    return log;
  }

  /**
   * Opens an existing log to read what it holds (a spool whose process is gone): deletes segments
   * before the cursor, counts the entries after it, and cuts off a torn frame at the very end.
   * It takes no appends.
   */
  static async recover(dir: string, options: SegmentLogOptions = {}): Promise<SegmentLog> {
    const segments = (await readdir(dir))
      .map((name) => SEGMENT_PATTERN.exec(name)?.[1])
      .filter((digits): digits is string => digits !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    let cursor = await readCursor(dir);
    const first = segments[0];
    if (first === undefined) return new SegmentLog(dir, options.segmentBytes ?? DEFAULT_SEGMENT_BYTES, { segment: 1, offset: 0 }, 0, 0);
    // Segments from the cursor's on are never deleted; a missing or unknown cursor means "from the start".
    if (cursor === undefined || !segments.includes(cursor.segment)) cursor = { segment: first, offset: 0 };
    const log = new SegmentLog(dir, options.segmentBytes ?? DEFAULT_SEGMENT_BYTES, cursor, 0, 0);
    for (const [index, segment] of segments.entries()) {
      const file = join(dir, segmentName(segment));
      if (segment < cursor.segment) {
        await unlink(file).catch(() => undefined);
        continue;
      }
      const from = segment === cursor.segment ? cursor.offset : 0;
      const scan = await scanSegment(file, from);
      if (scan.validEnd < scan.size) {
        const last = index === segments.length - 1;
        // A torn frame at the end of the last segment was being written when the process died:
        // never acknowledged, so cutting it off loses nothing. Anywhere else it is damage.
        if (!last) {
          await copyTail(file, scan.validEnd, `${file}.corrupt`);
          options.onCorrupt?.(file, scan.reason ?? 'unreadable frame');
        }
        const handle = await open(file, 'r+');
        try {
          await handle.truncate(scan.validEnd);
          await handle.datasync();
        } finally {
          await handle.close();
        }
      }
      log.sizes.set(segment, scan.validEnd);
      log.entries += scan.frames;
      log.bytes += scan.validEnd - from;
    }
    return log;
  }

  /** Entries appended (or recovered) and not yet settled. */
  get pendingEntries(): number {
    return this.entries;
  }

  /** Frame bytes of those entries. */
  get pendingBytes(): number {
    return this.bytes;
  }

  /**
   * Appends one entry. It counts as pending at once, so whoever looks next sees the backlog; the
   * promise resolves once it is durable and rejects if it could not be written (then it was
   * never there).
   */
  append(payload: Buffer): Promise<void> {
    if (this.closed || !this.active) return Promise.reject(new Error('the spool log is closed or read-only'));
    const frame = encodeFrame(payload);
    this.entries += 1;
    this.bytes += frame.length;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ frame, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /** Reads up to `max` durable entries from the cursor on; nothing moves until {@link commit}. */
  async readBatch(max: number): Promise<LogBatch> {
    const payloads: Buffer[] = [];
    let position = this.cursor;
    let bytes = 0;
    while (payloads.length < max) {
      const end = this.sizes.get(position.segment);
      if (end === undefined) break;
      if (position.offset >= end) {
        const next = this.nextSegment(position.segment);
        if (next === undefined) break;
        position = { segment: next, offset: 0 };
        continue;
      }
      const handle = await this.readerFor(position.segment);
      const header = Buffer.alloc(FRAME_HEADER_BYTES);
      await readFully(handle, header, position.offset);
      const parsed = readFrameHeader(header);
      if (!parsed.ok) throw new Error(`spool segment ${segmentName(position.segment)} in ${this.dir} is unreadable at byte ${position.offset}: ${parsed.reason}`);
      const payload = Buffer.alloc(parsed.length);
      await readFully(handle, payload, position.offset + FRAME_HEADER_BYTES);
      if (!payloadIntact(payload, parsed.checksum)) throw new Error(`spool segment ${segmentName(position.segment)} in ${this.dir} fails its checksum at byte ${position.offset}`);
      payloads.push(payload);
      const size = FRAME_HEADER_BYTES + parsed.length;
      bytes += size;
      position = { segment: position.segment, offset: position.offset + size };
    }
    return { payloads, next: position, bytes };
  }

  /** Moves the cursor past a batch that is settled, keeps it in `cursor.json` and deletes finished segments. */
  async commit(batch: LogBatch): Promise<void> {
    if (batch.payloads.length === 0) return;
    this.cursor = batch.next;
    this.entries -= batch.payloads.length;
    this.bytes -= batch.bytes;
    const temporary = join(this.dir, `${CURSOR_FILE}.tmp`);
    await writeFile(temporary, JSON.stringify(this.cursor), { flush: true });
    await rename(temporary, join(this.dir, CURSOR_FILE));
    for (const segment of [...this.sizes.keys()]) {
      if (segment >= this.cursor.segment) continue;
      if (this.readHandle?.segment === segment) {
        await this.readHandle.handle.close();
        this.readHandle = undefined;
      }
      this.sizes.delete(segment);
      await unlink(join(this.dir, segmentName(segment))).catch(() => undefined);
    }
  }

  /** Resolves when an append has become durable (or the log closes). */
  waitForAppend(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Waits for appends under way, then closes the files. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      while (this.flushing) await new Promise<void>((resolve) => this.waiters.push(resolve));
      this.closed = true;
      this.wake();
      await this.readHandle?.handle.close();
      this.readHandle = undefined;
      await this.active?.handle.close();
      this.active = undefined;
    })();
    return this.closing;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  private nextSegment(after: number): number | undefined {
    let next: number | undefined;
    for (const segment of this.sizes.keys()) if (segment > after && (next === undefined || segment < next)) next = segment;
    return next;
  }

  private async readerFor(segment: number): Promise<FileHandle> {
    if (this.readHandle?.segment === segment) return this.readHandle.handle;
    await this.readHandle?.handle.close();
    this.readHandle = { segment, handle: await open(join(this.dir, segmentName(segment)), 'r') };
    return this.readHandle.handle;
  }

  private async startSegment(segment: number): Promise<void> {
    const handle = await open(join(this.dir, segmentName(segment)), constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY);
    await syncDirectory(this.dir);
    this.active = { segment, handle, offset: 0 };
    this.sizes.set(segment, 0);
  }

  /** Writes everything queued with one sync, again while more arrived meanwhile. */
  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        const data = Buffer.concat(batch.map((item) => item.frame));
        const active = this.active;
        try {
          if (!active) throw new Error('the spool log is closed');
          if (active.offset >= this.segmentBytes) {
            await active.handle.close();
            await this.startSegment(active.segment + 1);
          }
          const current = this.active as NonNullable<typeof this.active>;
          for (let written = 0; written < data.length; ) {
            const { bytesWritten } = await current.handle.write(data, written, data.length - written, current.offset + written);
            written += bytesWritten;
          }
          await current.handle.datasync();
          current.offset += data.length;
          this.sizes.set(current.segment, current.offset);
          batch.forEach((item) => item.resolve());
        } catch (error) {
          // Nothing of this batch is acknowledged: take it back out of the counts and the file.
          this.entries -= batch.length;
          this.bytes -= data.length;
          await this.active?.handle.truncate(this.active.offset).catch(() => undefined);
          batch.forEach((item) => item.reject(error));
        }
        this.wake();
      }
    } finally {
      this.flushing = false;
      this.wake();
    }
  }
}

async function readCursor(dir: string): Promise<LogPosition | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, CURSOR_FILE), 'utf8')) as Partial<LogPosition>;
    if (Number.isSafeInteger(parsed.segment) && Number.isSafeInteger(parsed.offset)) return { segment: parsed.segment as number, offset: parsed.offset as number };
  } catch {
    // No cursor yet, or a torn one: reading again from the first segment only repeats no-ops.
  }
  return undefined;
}

/** Frames of a segment from `from` on: how many are intact and where the intact part ends. */
async function scanSegment(file: string, from: number): Promise<{ frames: number; validEnd: number; size: number; reason?: string }> {
  const handle = await open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    let offset = Math.min(from, size);
    let frames = 0;
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    while (offset < size) {
      if (size - offset < FRAME_HEADER_BYTES) return { frames, validEnd: offset, size, reason: 'truncated header' };
      await readFully(handle, header, offset);
      const parsed = readFrameHeader(header);
      if (!parsed.ok) return { frames, validEnd: offset, size, reason: parsed.reason };
      if (offset + FRAME_HEADER_BYTES + parsed.length > size) return { frames, validEnd: offset, size, reason: 'truncated payload' };
      const payload = Buffer.alloc(parsed.length);
      await readFully(handle, payload, offset + FRAME_HEADER_BYTES);
      if (!payloadIntact(payload, parsed.checksum)) return { frames, validEnd: offset, size, reason: 'checksum mismatch' };
      offset += FRAME_HEADER_BYTES + parsed.length;
      frames += 1;
    }
    return { frames, validEnd: offset, size };
  } finally {
    await handle.close();
  }
}

async function readFully(handle: FileHandle, buffer: Buffer, position: number): Promise<void> {
  for (let read = 0; read < buffer.length; ) {
    const { bytesRead } = await handle.read(buffer, read, buffer.length - read, position + read);
    if (bytesRead === 0) throw new Error(`unexpected end of spool file at byte ${position + read}`);
    read += bytesRead;
  }
}

async function copyTail(file: string, from: number, target: string): Promise<void> {
  const data = await readFile(file);
  await writeFile(target, data.subarray(from), { flush: true });
}

