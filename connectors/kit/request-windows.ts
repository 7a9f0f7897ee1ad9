import type { DateFormat, DateParamsSpec } from './spec';
import type { PullWindow } from './types';
import { addDays, daysBetween, startOfZonedDay, zonedDateTime, zonedDay } from './zoned-time';

const DAY_MS = 86_400_000;

/** One request's span as instants, and the two date values the API receives for it. */
export interface RequestWindow {
  readonly from: Date;
  readonly to: Date;
  readonly fromValue: string | number;
  readonly toValue: string | number;
}

/** Writes an instant as the API expects. */
export function formatDate(at: Date, format: DateFormat, timeZone: string): string | number {
  if (typeof format === 'function') return format(at, timeZone);
  switch (format) {
    case 'date':
      return zonedDay(at, timeZone);
    case 'datetime':
      return zonedDateTime(at, timeZone);
    case 'iso8601':
      return new Date(Math.floor(at.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    case 'unix_seconds':
      return Math.floor(at.getTime() / 1000);
  }
}

/**
 * The request windows that cover a pull window: whole days in the API's zone when it filters by
 * day (padded when the zone is a guess), each at most `maxDays` long; the `to` value is the last
 * day or second included when the API's end is inclusive, the first one excluded otherwise.
 */
export function requestWindows(window: PullWindow, dates: DateParamsSpec): RequestWindow[] {
  return dates.wholeDays ? dayWindows(window, dates) : instantWindows(window, dates);
}

function dayWindows(window: PullWindow, dates: DateParamsSpec): RequestWindow[] {
  const pad = dates.padDays ?? 0;
  const first = addDays(zonedDay(window.from, dates.timeZone), -pad);
  const end = addDays(zonedDay(new Date(window.to.getTime() - 1), dates.timeZone), 1 + pad);
  const out: RequestWindow[] = [];
  for (let day = first; daysBetween(day, end) > 0; ) {
    const next = daysBetween(day, end) > dates.maxDays ? addDays(day, dates.maxDays) : end;
    const from = startOfZonedDay(day, dates.timeZone);
    const to = startOfZonedDay(next, dates.timeZone);
    const lastIncluded = dates.format === 'date' ? startOfZonedDay(addDays(next, -1), dates.timeZone) : new Date(to.getTime() - 1000);
    out.push({
      from,
      to,
      fromValue: formatDate(from, dates.format, dates.timeZone),
      toValue: formatDate(dates.end === 'inclusive' ? lastIncluded : to, dates.format, dates.timeZone),
    });
    day = next;
  }
  return out;
}

function instantWindows(window: PullWindow, dates: DateParamsSpec): RequestWindow[] {
  const start = Math.floor(window.from.getTime() / 1000) * 1000;
  const end = Math.ceil(window.to.getTime() / 1000) * 1000;
  const step = dates.maxDays * DAY_MS;
  const out: RequestWindow[] = [];
  for (let at = start; at < end; at += step) {
    const from = new Date(at);
    const to = new Date(Math.min(at + step, end));
    out.push({
      from,
      to,
      fromValue: formatDate(from, dates.format, dates.timeZone),
      toValue: formatDate(dates.end === 'inclusive' ? new Date(to.getTime() - 1000) : to, dates.format, dates.timeZone),
    });
  }
  return out;
}

/** Days of one request beyond the pull window's own span: what the jobs must leave room for. */
export function alignmentSlackDays(dates: DateParamsSpec): number {
  return (dates.wholeDays ? 1 : 0) + 2 * (dates.padDays ?? 0);
}
