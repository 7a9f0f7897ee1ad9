import { readdirSync } from 'node:fs';
import pg from 'pg';
import { countConversions, report } from './support/figures';
import { burst, steadyLoad } from './support/load';
import { waitFor } from './support/ports';
import { seedClicks, startFaultCase, type FaultCase } from './support/fault-case';
import { TallyProcess, type CaseEnvironment } from './support/tally-process';
import type { ThrowawayPostgres } from './support/throwaway-postgres';

/**
 * `kill -9` of the HTTP process: under load, and in the middle of a spool drain. A new `serve` on
 * the same machine (same SPOOL_DIR) adopts what the dead one left. Every acknowledged postback is
 * stored exactly once.
 */
const NAME = 'serve-kill';
let fault: FaultCase;
let postgres: ThrowawayPostgres;
let env: CaseEnvironment;
let clickIds: string[];
const processes: TallyProcess[] = [];

const serve = async (label: string): Promise<TallyProcess> => {
  const started = await TallyProcess.serve(env, label);
  processes.push(started);
  return started;
};

interface Readiness {
  checks: Record<string, string>;
  spool: { entries: number };
}
const readiness = async (process: TallyProcess): Promise<Readiness> => (await (await fetch(`${process.baseUrl}/readyz`)).json()) as Readiness;

beforeAll(async () => {
  // A short SPOOL_AFTER_MS: under load on two cores some commits are slow, so the spool is in use when the kill comes.
  fault = await startFaultCase(NAME, { SPOOL_AFTER_MS: '200' });
  ({ postgres, env } = fault);
  clickIds = await seedClicks(env, 500);
});

afterAll(async () => {
  for (const process of processes) await process.kill9();
  await fault?.stop();
});

test('kill -9 of serve under steady load: every acknowledged postback stored exactly once', async () => {
  let current = await serve('load-1');
  let killed: Promise<void> | undefined;
  const results = await steadyLoad({
    target: () => current.baseUrl,
    perSecond: 200,
    durationMs: 20_000,
    postback: (index) => ({ txid: `kill-load-${index}`, clickId: clickIds[index % clickIds.length] as string }),
    onTick: (elapsed) => {
      if (elapsed >= 7_000 && !killed) {
        const victim = current;
        killed = (async () => {
          await victim.kill9();
          // The load balancer sends to the replacement as soon as it listens.
          current = await serve('load-2');
        })();
      }
    },
  });
  await killed;
  await waitFor(() => readiness(current), (body) => body.checks.postgres === 'ok' && body.spool.entries === 0, 'the spools to drain', 120_000, 250);
  const acknowledged = results.filter((result) => result.acknowledged).map((result) => result.txid);
  const figures = await countConversions(env.databaseUrl, results.map((result) => result.txid), acknowledged);
  const failed = results.filter((result) => result.status === 0).length;
  report(`${NAME} under load`, figures, `${failed} requests hit a dead or not yet listening process`);
  expect(figures).toMatchObject({ lost: 0, duplicates: 0, stored: acknowledged.length });
  expect(failed).toBeGreaterThan(0);
  // Valid postbacks that reached a live process were never refused.
  expect(results.filter((result) => result.status !== 0 && !result.acknowledged)).toEqual([]);
  await current.stop();
});

test('kill -9 of serve during a spool drain: the next serve adopts the spool and every acknowledged postback is stored exactly once', async () => {
  const first = await serve('drain-1');
  await postgres.stop();
  const postbacks = Array.from({ length: 20_000 }, (_, index) => ({ txid: `kill-drain-${index}`, clickId: clickIds[index % clickIds.length] as string }));
  const results = await burst(first.baseUrl, postbacks, 64);
  expect(results.every((result) => result.status === 202)).toBe(true);
  expect((await readiness(first)).spool.entries).toBe(postbacks.length);

  await postgres.start();
  // Kill once the drain is under way and far from done.
  const atKill = await waitFor(() => readiness(first), (body) => body.spool.entries < postbacks.length * 0.7, 'the drain to be under way', 60_000, 5);
  await first.kill9();
  expect(atKill.spool.entries).toBeGreaterThan(0);
  const client = new pg.Client({ connectionString: env.databaseUrl });
  await client.connect();
  const storedAtKill = Number((await client.query("SELECT count(*) FROM conversions WHERE txid LIKE 'kill-drain-%'")).rows[0].count);
  await client.end();
  expect(storedAtKill).toBeGreaterThan(0);
  expect(storedAtKill).toBeLessThan(postbacks.length);

  const second = await serve('drain-2');
  await waitFor(() => readiness(second), (body) => body.spool.entries === 0 && body.checks.postgres === 'ok', 'the adopted spool to drain', 180_000, 250);
  await waitFor(async () => readdirSync(env.spoolDir).length, (count) => count === 1, 'the adopted spool directory to be removed', 30_000);
  const figures = await countConversions(env.databaseUrl, postbacks.map((postback) => postback.txid), results.map((result) => result.txid));
  report(`${NAME} during drain`, figures, `killed with ${atKill.spool.entries} of ${postbacks.length} still spooled, ${storedAtKill} stored`);
  expect(figures).toMatchObject({ sent: 20_000, acknowledged: 20_000, stored: 20_000, duplicates: 0, lost: 0 });
  await second.stop();
});
