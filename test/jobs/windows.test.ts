import { backfillWindow, DAY_MS, pullWindow, splitWindow } from '../../jobs/windows';

const at = (iso: string) => new Date(iso);

test('the first pull reaches back the lookback from now; later ones from the checkpoint', () => {
  const now = at('2026-03-10T12:00:00Z');
  expect(pullWindow(null, 30, now)).toEqual({ from: at('2026-02-08T12:00:00Z'), to: now });
  expect(pullWindow(at('2026-03-10T11:00:00Z'), 2, now)).toEqual({ from: at('2026-03-08T11:00:00Z'), to: now });
  // A checkpoint ahead of the clock (clock skew) never makes the window start in the future.
  expect(pullWindow(at('2026-03-11T00:00:00Z'), 1, now)).toEqual({ from: at('2026-03-09T12:00:00Z'), to: now });
  expect(pullWindow(at('2026-03-10T11:00:00Z'), 0, now)).toEqual({ from: at('2026-03-10T11:00:00Z'), to: now });
});

test('a lookback across a DST change is whole 24-hour days in UTC, whatever zone the operator is in', () => {
  // US clocks sprang forward on 2026-03-08, EU clocks on 2026-03-29.
  const us = pullWindow(at('2026-03-09T05:00:00Z'), 2, at('2026-03-09T06:00:00Z'));
  expect(us.from.toISOString()).toBe('2026-03-07T05:00:00.000Z');
  const eu = pullWindow(at('2026-03-30T00:00:00Z'), 1, at('2026-03-30T01:00:00Z'));
  expect(eu.to.getTime() - eu.from.getTime()).toBe(DAY_MS + 3_600_000);
  expect(eu.from.toISOString()).toBe('2026-03-29T00:00:00.000Z');
});

test('splitting covers the window exactly, in order, in chunks of at most the max window', () => {
  const window = { from: at('2026-01-01T00:00:00Z'), to: at('2026-03-17T06:30:00Z') };
  const chunks = splitWindow(window, 30);
  expect(chunks.map((chunk) => [chunk.from.toISOString(), chunk.to.toISOString()])).toEqual([
    ['2026-01-01T00:00:00.000Z', '2026-01-31T00:00:00.000Z'],
    ['2026-01-31T00:00:00.000Z', '2026-03-02T00:00:00.000Z'],
    ['2026-03-02T00:00:00.000Z', '2026-03-17T06:30:00.000Z'],
  ]);
  for (let index = 1; index < chunks.length; index += 1) expect(chunks[index]?.from).toEqual(chunks[index - 1]?.to);
  expect(splitWindow({ from: window.from, to: window.from }, 30)).toEqual([]);
  // Impact's 45-day limit across the EU DST change: still exact 45 × 24 h.
  const impact = splitWindow({ from: at('2026-03-01T00:00:00Z'), to: at('2026-06-01T00:00:00Z') }, 45);
  expect(impact.map((chunk) => (chunk.to.getTime() - chunk.from.getTime()) / DAY_MS)).toEqual([45, 45, 2]);
});

test('a backfill range is whole UTC days, both ends inclusive', () => {
  expect(backfillWindow('2026-03-28', '2026-03-29')).toEqual({ from: at('2026-03-28T00:00:00Z'), to: at('2026-03-30T00:00:00Z') });
  expect(splitWindow(backfillWindow('2026-01-01', '2026-01-01'), 30)).toHaveLength(1);
});
