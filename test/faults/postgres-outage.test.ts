import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { countConversions, report } from './support/figures';
import { steadyLoad } from './support/load';
import { sleep, waitFor } from './support/ports';
import { seedClicks, startFaultCase, type FaultCase } from './support/fault-case';
import { metricValue, OUTPUT, TallyProcess } from './support/tally-process';

/**
 * Postgres stopped (immediate shutdown) for 10 s while postbacks arrive at a steady 150/s: not one
 * valid postback is refused, and afterwards every acknowledged one is stored exactly once.
 */
const NAME = 'postgres-outage';
let fault: FaultCase;
let serve: TallyProcess;
let clickIds: string[];

beforeAll(async () => {
  fault = await startFaultCase(NAME, { SPOOL_AFTER_MS: '1000' });
  clickIds = await seedClicks(fault.env, 500);
  serve = await TallyProcess.serve(fault.env);
});

afterAll(async () => {
  await serve?.stop();
  await fault?.stop();
});

test('Postgres away for 10 s under steady postbacks: zero refused, every acknowledged one stored exactly once', async () => {
  let outage: Promise<void> | undefined;
  let during: Promise<{ status: number; body: { checks: Record<string, string> } }> | undefined;
  const results = await steadyLoad({
    target: () => serve.baseUrl,
    perSecond: 150,
    durationMs: 30_000,
    postback: (index) => ({ txid: `pgdown-${index}`, clickId: clickIds[index % clickIds.length] as string }),
    onTick: (elapsed) => {
      if (elapsed >= 8_000 && !outage) {
        outage = (async () => {
          await fault.postgres.stop();
          await sleep(5_000);
          during = fetch(`${serve.baseUrl}/readyz`).then(async (response) => ({ status: response.status, body: (await response.json()) as { checks: Record<string, string> } }));
          await sleep(5_000);
          await fault.postgres.start();
        })();
      }
    },
  });
  await outage;
  // While Postgres was away, /readyz kept the process in the load balancer and said why.
  expect(await during).toEqual({ status: 200, body: expect.objectContaining({ status: 'ready', checks: expect.objectContaining({ postgres: 'unreachable', spool: 'draining' }) }) });

  await waitFor(async () => (await (await fetch(`${serve.baseUrl}/readyz`)).json()) as { checks: Record<string, string>; spool: { entries: number } }, (body) => body.checks.postgres === 'ok' && body.spool.entries === 0, 'the spool to drain', 120_000, 250);
  const acknowledged = results.filter((result) => result.acknowledged).map((result) => result.txid);
  const figures = await countConversions(fault.env.databaseUrl, results.map((result) => result.txid), acknowledged);
  const queued = results.filter((result) => result.status === 202).length;
  report(NAME, figures, `${queued} answered 202 from the spool`);

  expect(results.filter((result) => !result.acknowledged)).toEqual([]);
  expect(queued).toBeGreaterThan(1000);
  expect(figures).toMatchObject({ lost: 0, duplicates: 0, stored: results.length });

  const metrics = await serve.metrics();
  expect(metricValue(metrics, 'tally_postbacks_total', 'route="postback",outcome="queued"')).toBe(queued);
  expect(metricValue(metrics, 'tally_spool_entries')).toBe(0);
  expect(metricValue(metrics, 'tally_spool_drained_total', 'outcome="accepted"')).toBeGreaterThan(0);
  expect(readFileSync(join(OUTPUT, `${NAME}-serve.log`), 'utf8')).toMatch(/spool drain waits/);
});
