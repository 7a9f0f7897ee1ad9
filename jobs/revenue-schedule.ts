/**
 * Which feed days a revenue pull asks for, and as what. Pure: days are YYYY-MM-DD in the feed's
 * zone; a day's age is whole days before today (today is 0).
 */
import { addDays, daysBetween, startOfZonedDay, wallClock } from '../connectors/kit/zoned-time';
import type { PullWindow, RevenuePhase } from '../connectors/kit/types';
import type { RevenueSettings } from '../src/connections/revenue-settings';

/** A non-final day past its final pull is tried again once a day for this many days. */
export const FINAL_RETRY_DAYS = 7;
const DAY_MS = 86_400_000;

export interface PlannedDay {
  readonly day: string;
  readonly phase: RevenuePhase;
}

/** What the schedule knows about a day it pulled before. */
export interface KnownDay {
  readonly state: 'estimated' | 'final';
  readonly finalAttemptedAt: Date | null;
}

/** Estimates until a day is `final_after_days` old, its final numbers from then on (backfills too). */
export function phaseOf(age: number, settings: RevenueSettings): RevenuePhase {
  return age >= settings.finalAfterDays ? 'final' : 'estimate';
}

/**
 * The days a scheduled (or manual) pull takes: every non-final day younger than `estimate_days`
 * as an estimate; none between `estimate_days` and `final_after_days`; each non-final day from
 * `final_after_days` on once as final (again a day later while the feed still calls it
 * estimated, for {@link FINAL_RETRY_DAYS} days). A final day is never pulled again by the schedule.
 */
export function scheduledDays(today: string, settings: RevenueSettings, known: ReadonlyMap<string, KnownDay>, now: Date): PlannedDay[] {
  const days: PlannedDay[] = [];
  for (let age = settings.finalAfterDays + FINAL_RETRY_DAYS; age >= 0; age -= 1) {
    const day = addDays(today, -age);
    const state = known.get(day);
    if (state?.state === 'final') continue;
    if (age < settings.estimateDays) days.push({ day, phase: 'estimate' });
    else if (age >= settings.finalAfterDays) {
      const attempted = state?.finalAttemptedAt;
      if (!attempted || now.getTime() - attempted.getTime() >= DAY_MS - 60_000) days.push({ day, phase: 'final' });
    }
  }
  return days;
}

/** The feed days of a backfill chunk (whole UTC days `from`..`to`), each as its age decides. */
export function backfillDays(chunk: PullWindow, today: string, settings: RevenueSettings): PlannedDay[] {
  const first = chunk.from.toISOString().slice(0, 10);
  const last = new Date(chunk.to.getTime() - 1).toISOString().slice(0, 10);
  const days: PlannedDay[] = [];
  for (let day = first; day <= last; day = addDays(day, 1)) days.push({ day, phase: phaseOf(daysBetween(day, today), settings) });
  return days;
}

/** Consecutive days of one phase, at most `maxDays` long: one connector pull each. */
export function dayGroups(days: readonly PlannedDay[], maxDays: number): PlannedDay[][] {
  const sorted = [...days].sort((a, b) => a.day.localeCompare(b.day));
  const groups: PlannedDay[][] = [];
  for (const planned of sorted) {
    const group = groups[groups.length - 1];
    const previous = group?.[group.length - 1];
    if (group && previous && previous.phase === planned.phase && daysBetween(previous.day, planned.day) === 1 && group.length < Math.max(1, Math.floor(maxDays))) group.push(planned);
    else groups.push([planned]);
  }
  return groups;
}

/** The pull window of whole feed days `first`..`last` in the feed's zone. */
export function feedDaysWindow(first: string, last: string, timeZone: string, phase?: RevenuePhase): PullWindow {
  return { from: startOfZonedDay(first, timeZone), to: startOfZonedDay(addDays(last, 1), timeZone), ...(phase ? { phase } : {}) };
}

/** Noon of a feed day in the feed's zone: the conversion time of its revenue (the day is the same in any zone within ±12 h). */
export function feedNoon(day: string, timeZone: string): Date {
  const guess = startOfZonedDay(day, timeZone).getTime() + 12 * 3_600_000;
  // Days of a DST change are 23 or 25 hours long: move to the wall clock's 12:00.
  return new Date(guess + (12 - wallClock(new Date(guess), timeZone).hour) * 3_600_000);
}
