import { countConversions, report } from './support/figures';
import { burst, type Postback } from './support/load';
import { waitFor } from './support/ports';
import { seedClicks, startFaultCase, type FaultCase } from './support/fault-case';
import { TallyProcess } from './support/tally-process';

/**
 * Every postback sent three times (the second copies racing each other, the third while Postgres
 * is away, so they come back through the spool) and every upload uploaded twice: the totals do
 * not move after the first time.
 */
const NAME = 'replays';
const POSTBACKS = 3_000;
const UPLOAD_ROWS = 3_000;

let fault: FaultCase;
let serve: TallyProcess;
let clickIds: string[];

beforeAll(async () => {
  fault = await startFaultCase(NAME);
  clickIds = await seedClicks(fault.env, 1000);
  serve = await TallyProcess.serve(fault.env);
});

afterAll(async () => {
  await serve?.stop();
  await fault?.stop();
});

interface Totals {
  rows: { type: string; conversions: number; revenue: string }[];
}
const totals = () => serve.api<Totals>('GET', '/api/v1/reports?group_by=type&from=2020-01-01&to=2030-12-31&tz=UTC');
const drained = () =>
  waitFor(async () => (await (await fetch(`${serve.baseUrl}/readyz`)).json()) as { checks: Record<string, string>; spool: { entries: number } }, (body) => body.checks.postgres === 'ok' && body.spool.entries === 0, 'the spool to drain', 120_000, 250);

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index -= 1) {
    const other = Math.floor(Math.random() * (index + 1));
    [copy[index], copy[other]] = [copy[other] as T, copy[index] as T];
  }
  return copy;
}

test('postbacks replayed three times and uploads uploaded twice leave the totals unchanged', async () => {
  const postbacks: Postback[] = Array.from({ length: POSTBACKS }, (_, index) => ({ txid: `replay-${index}`, clickId: clickIds[index % clickIds.length] as string, payout: `${(index % 40) + 1}.25` }));
  const first = await burst(serve.baseUrl, postbacks, 64);
  expect(first.every((result) => result.status === 200)).toBe(true);
  const afterFirst = await totals();

  // Second copies in random order, many at once: replays race each other and nothing else.
  const second = await burst(serve.baseUrl, shuffled(postbacks), 64);
  // Third copies while Postgres is away: answered 202 from the spool, registered when it is back.
  await fault.postgres.stop();
  const third = await burst(serve.baseUrl, shuffled(postbacks), 64);
  await fault.postgres.start();
  await drained();
  expect([...second, ...third].every((result) => result.acknowledged)).toBe(true);
  expect(third.every((result) => result.status === 202)).toBe(true);
  expect(await totals()).toEqual(afterFirst);

  const csv = ['click_id,payout,transaction_id,conversion_type,timestamp',
    ...Array.from({ length: UPLOAD_ROWS }, (_, index) => `${clickIds[(index * 7) % clickIds.length]},${(index % 25) + 0.5},upload-${index},sale,2026-11-01T10:00:00+00:00`)].join('\n');
  const uploadedOnce = await serve.api<{ rows: number; accepted: number; duplicates: number }>('POST', '/api/v1/uploads', csv);
  expect(uploadedOnce).toMatchObject({ rows: UPLOAD_ROWS, accepted: UPLOAD_ROWS });
  const afterUpload = await totals();
  const uploadedTwice = await serve.api<{ rows: number; accepted: number; duplicates: number }>('POST', '/api/v1/uploads', csv);
  expect(uploadedTwice).toMatchObject({ rows: UPLOAD_ROWS, accepted: 0, duplicates: UPLOAD_ROWS });
  expect(await totals()).toEqual(afterUpload);
  expect(afterUpload).not.toEqual(afterFirst);

  const sent = [...first, ...second, ...third];
  const uploadTxids = Array.from({ length: UPLOAD_ROWS }, (_, index) => `upload-${index}`);
  const figures = await countConversions(
    fault.env.databaseUrl,
    [...sent.map((result) => result.txid), ...uploadTxids, ...uploadTxids],
    [...sent.filter((result) => result.acknowledged).map((result) => result.txid), ...uploadTxids, ...uploadTxids],
  );
  const distinct = POSTBACKS + UPLOAD_ROWS;
  report(NAME, figures, `${distinct} distinct conversions; totals unchanged by ${2 * POSTBACKS} replayed postbacks (${third.length} of them spooled) and ${UPLOAD_ROWS} re-uploaded rows`);
  expect(figures).toMatchObject({ sent: 3 * POSTBACKS + 2 * UPLOAD_ROWS, acknowledged: 3 * POSTBACKS + 2 * UPLOAD_ROWS, duplicates: 0, lost: 0 });
});
