/**
 * Calendar days in an IANA time zone, for APIs whose date filters are whole days (or date-times)
 * read in a zone of their own, and for quotas that reset at a zone's midnight. Pure; Intl only.
 */

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(timeZone, format);
  }
  return format;
}

/** True when the runtime knows the zone. */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Wall-clock fields of an instant in a zone. */
export function wallClock(at: Date, timeZone: string): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const parts = Object.fromEntries(formatter(timeZone).formatToParts(at).map((part) => [part.type, part.value]));
  return { year: Number(parts.year), month: Number(parts.month), day: Number(parts.day), hour: Number(parts.hour), minute: Number(parts.minute), second: Number(parts.second) };
}

/** Milliseconds the zone is ahead of UTC at an instant. */
function offsetMs(at: Date, timeZone: string): number {
  const wall = wallClock(at, timeZone);
  return Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second) - Math.floor(at.getTime() / 1000) * 1000;
}

/** The instant a zone's calendar day (YYYY-MM-DD) begins. */
export function startOfZonedDay(day: string, timeZone: string): Date {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  return fromWallClock(Date.UTC(year, month - 1, date), timeZone);
}

/** The instant a wall-clock time (its fields read as if UTC) shows in a zone. */
function fromWallClock(naive: number, timeZone: string): Date {
  let guess = naive - offsetMs(new Date(naive), timeZone);
  guess = naive - offsetMs(new Date(guess), timeZone);
  return new Date(guess);
}

/**
 * The instant of a `YYYY-MM-DD HH:MM:SS` (or `T`-separated) wall-clock time without an offset, as
 * read in a zone (HasOffers' `Stat.datetime` in the network's zone); undefined when it is not one.
 */
export function instantOfZonedDateTime(text: string, timeZone: string): Date | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/.exec(text.trim());
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number) as [number, number, number, number, number, number, number];
  const naive = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(naive);
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return undefined;
  return fromWallClock(naive, timeZone);
}

/** The zone's calendar day (YYYY-MM-DD) an instant falls on. */
export function zonedDay(at: Date, timeZone: string): string {
  const wall = wallClock(at, timeZone);
  return `${wall.year}-${String(wall.month).padStart(2, '0')}-${String(wall.day).padStart(2, '0')}`;
}

/** The calendar day `days` after `day` (negative: before). */
export function addDays(day: string, days: number): string {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, date) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Whole days from `from` to `to` (both YYYY-MM-DD). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

/** `YYYY-MM-DD HH:MM:SS` (or with a `T`) wall-clock time of an instant in a zone. */
export function zonedDateTime(at: Date, timeZone: string, separator: ' ' | 'T' = ' '): string {
  const wall = wallClock(at, timeZone);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${wall.year}-${pad(wall.month)}-${pad(wall.day)}${separator}${pad(wall.hour)}:${pad(wall.minute)}:${pad(wall.second)}`;
}
