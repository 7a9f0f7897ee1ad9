// Times, statuses and names as the pages show them.

/** The browser's time zone (the console's default). */
export const BROWSER_TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** A timestamp in the operator's locale and the given zone, to the second. */
export function formatTime(iso, timeZone = BROWSER_TIME_ZONE) {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(undefined, { timeZone, year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(date);
}

/** "3 min ago", "in 40 s": for health and schedules. */
export function relativeTime(iso, now = Date.now()) {
  if (!iso) return '—';
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  const [value, unit] = abs < 60 ? [abs, 's'] : abs < 3600 ? [Math.round(abs / 60), 'min'] : abs < 86400 ? [Math.round(abs / 3600), 'h'] : [Math.round(abs / 86400), 'd'];
  return seconds >= 0 ? `in ${value} ${unit}` : `${value} ${unit} ago`;
}

/** Today's calendar date (YYYY-MM-DD) in a time zone. */
export function todayIn(timeZone) {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

/** A calendar date `days` after another (negative: before); calendar arithmetic only, no time zone. */
export function addDays(day, days) {
  const [year, month, date] = day.split('-').map(Number);
  return new Date(Date.UTC(year, month - 1, date + days)).toISOString().slice(0, 10);
}

/** Every IANA time zone the browser knows, UTC first. */
export function timeZones() {
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [BROWSER_TIME_ZONE];
  return ['UTC', ...zones.filter((zone) => zone !== 'UTC')];
}

/** A datetime-local value (browser time) as ISO 8601 UTC, or undefined when empty. */
export function localInputToIso(value) {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** ISO 8601 to a datetime-local value in browser time. */
export function isoToLocalInput(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const pad = (number) => String(number).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export const OUTCOME_TONE = { accepted: 'ok', updated: 'ok', duplicate: 'warn', rejected: 'fail' };
export const ROUTE_NAMES = { postback: 'S2S postback', pixel: 'Image pixel', script: 'Script', api: 'API pull', upload: 'Upload' };
export const STATUS_TONE = { approved: 'ok', pending: 'warn', declined: 'fail', completed: 'ok', running: 'info', queued: 'info', waiting: 'warn', failed: 'fail', cancelled: 'warn', rate_limited: 'warn', skipped: 'info' };
