/**
 * Window and checkpoint arithmetic for pulls. Everything is in UTC instants: a "day" of lookback
 * is 24 hours, whatever time zone the operator or the network lives in, so DST shifts never
 * shorten or stretch a window.
 */
import type { PullWindow } from '../connectors/kit/types';

export const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The window of a scheduled or manual pull: from the stored checkpoint minus the lookback (or,
 * on the first pull, now minus the lookback) to now. Computed from the checkpoint, never from
 * the scheduler's tick, so a missed or late tick loses nothing.
 */
export function pullWindow(checkpoint: Date | null, lookbackDays: number, now: Date): PullWindow {
  const anchor = checkpoint && checkpoint.getTime() < now.getTime() ? checkpoint : now;
  return { from: new Date(anchor.getTime() - lookbackDays * DAY_MS), to: now };
}

/** Splits [from, to) into consecutive chunks of at most `maxDays`, in order, covering it exactly. */
export function splitWindow(window: PullWindow, maxDays: number): PullWindow[] {
  const chunks: PullWindow[] = [];
  const step = Math.max(1, Math.floor(maxDays * DAY_MS));
  for (let start = window.from.getTime(); start < window.to.getTime(); start += step) {
    chunks.push({ from: new Date(start), to: new Date(Math.min(start + step, window.to.getTime())) });
  }
  return chunks;
}

/** A backfill's range: the UTC days `from`..`to`, both inclusive (YYYY-MM-DD). */
export function backfillWindow(fromDay: string, toDay: string): PullWindow {
  const from = new Date(`${fromDay}T00:00:00.000Z`);
  const to = new Date(new Date(`${toDay}T00:00:00.000Z`).getTime() + DAY_MS);
  return { from, to };
}
