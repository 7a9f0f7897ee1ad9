/**
 * Registration throughput: the pipeline (normalize, click lookup + lock, pricing, FX, dedup,
 * upsert, log) on batches of 10,000 conversions, beside a raw `INSERT … SELECT FROM unnest(…)
 * ON CONFLICT` of the same rows into the same table, interleaved batch by batch in one run.
 *
 *   npm run build && node dist/bench/pipeline-throughput.js [batches=20] [batchSize=10000]
 */
import { createCampaign, createOffer, insertClicks } from '../src/catalog/catalog';
import { createNetwork } from '../src/catalog/network-store';
import { query } from '../src/db/sql';
import { Registrar } from '../src/pipeline/registrar';
import type { RegistrationInput } from '../src/pipeline/types';
import { dropBenchDatabase, fmt, freshBenchDatabase, machineLine, table } from './support';

const DB_NAME = 'tally_bench_pipeline';

async function main(): Promise<void> {
  const batches = Number(process.argv[2] ?? 20);
  const batchSize = Number(process.argv[3] ?? 10_000);
  const { db } = await freshBenchDatabase(DB_NAME);
  try {
    const network = await createNetwork(db, Buffer.alloc(32, 1), { name: 'bench', currency: 'USD' });
    const offer = await createOffer(db, { name: 'bench', url: 'https://example.com', network_id: network.id });
    const campaign = await createCampaign(db, { name: 'bench', offer_id: offer.id });
    const visitedAt = new Date(Date.now() - 86_400_000);
    const makeClicks = async (prefix: string): Promise<string[][]> => {
      const all: string[][] = [];
      for (let batch = 0; batch < batches; batch += 1) {
        const ids = Array.from({ length: batchSize }, (_, index) => `${prefix}${batch}x${index}`);
        await insertClicks(db, ids.map((click_id) => ({ click_id, campaign_id: campaign.id, visited_at: visitedAt })));
        all.push(ids);
      }
      return all;
    };
    const rawClicks = await makeClicks('raw');
    const floorClicks = await makeClicks('floor');
    const pipeClicks = await makeClicks('pipe');
    await db.raw('VACUUM ANALYZE');
    const registrar = new Registrar(db, { displayCurrency: 'USD', defaultCurrency: 'USD' });
    const occurredAt = new Date(Date.now() - 3_600_000);

    const rawUpsert = async (ids: string[]): Promise<void> => {
      await query(db, `INSERT INTO conversions (click_id, type, txid, dedup_key, status, payout, currency, display_payout, display_currency, fx_rate,
                                  occurred_at, visit_at, source, campaign_id, offer_id, network_id)
         SELECT c, 'sale', t, 'tx:' || t, 'approved', p, 'USD', p, 'USD', 1, $1::timestamptz, $2::timestamptz, 'api', $3::uuid, $4::uuid, $5::uuid
           FROM unnest($6::text[], $7::text[], $8::numeric[]) AS u(c, t, p)
         ON CONFLICT (click_id, type, dedup_key) DO UPDATE SET status = EXCLUDED.status, payout = EXCLUDED.payout
          WHERE (conversions.status, conversions.payout) IS DISTINCT FROM (EXCLUDED.status, EXCLUDED.payout)`,
        [occurredAt, visitedAt, campaign.id, offer.id, network.id, ids, ids.map((id) => `T-${id}`), ids.map((_, index) => `${index % 100}.25`)],
      );
    };
    // The floor for any pipeline that keeps a log row per attempt: the same raw upsert plus a raw
    // insert of one log row per conversion, in one transaction, with no lookup or logic at all.
    const rawWithLog = async (ids: string[]): Promise<void> => {
      await db.transaction(async (trx) => {
        await query(trx, `INSERT INTO conversions (click_id, type, txid, dedup_key, status, payout, currency, display_payout, display_currency, fx_rate,
                                    occurred_at, visit_at, source, campaign_id, offer_id, network_id)
           SELECT c, 'sale', t, 'tx:' || t, 'approved', p, 'USD', p, 'USD', 1, $1::timestamptz, $2::timestamptz, 'api', $3::uuid, $4::uuid, $5::uuid
             FROM unnest($6::text[], $7::text[], $8::numeric[]) AS u(c, t, p)
           ON CONFLICT (click_id, type, dedup_key) DO NOTHING`,
          [occurredAt, visitedAt, campaign.id, offer.id, network.id, ids, ids.map((id) => `T-${id}`), ids.map((_, index) => `${index % 100}.25`)],
        );
        await query(trx, `INSERT INTO registration_log (source, outcome, click_id, txid, type, conversion_id, request)
           SELECT 'api', 'accepted', c, t, 'sale', 1, jsonb_build_object('click_id', c, 'txid', t, 'payout', p, 'ct', 'sale')
             FROM unnest($1::text[], $2::text[], $3::text[]) AS u(c, t, p)`,
          [ids, ids.map((id) => `T-${id}`), ids.map((_, index) => `${index % 100}.25`)],
        );
      });
    };
    const pipeline = async (ids: string[], logUnchanged = true): Promise<void> => {
      const inputs: RegistrationInput[] = ids.map((id, index) => ({
        fields: { click_id: id, txid: `T-${id}`, payout: `${index % 100}.25`, ct: 'sale', status: 'approved', timestamp: occurredAt.toISOString() },
      }));
      const outcomes = await registrar.register(inputs, { source: 'api', logUnchanged });
      if (outcomes.some((outcome) => outcome.status === 'rejected')) throw new Error('unexpected rejection in benchmark');
    };

    const timings = { rawNew: 0, floorNew: 0, pipeNew: 0, rawReplay: 0, pipeReplay: 0, pipeReplayQuiet: 0 };
    const time = async (fn: () => Promise<void>): Promise<number> => {
      const started = process.hrtime.bigint();
      await fn();
      return Number(process.hrtime.bigint() - started) / 1e9;
    };
    // Warm-up batch of each outside the measurement (plans, caches).
    for (let batch = 0; batch < batches; batch += 1) {
      timings.rawNew += await time(() => rawUpsert(rawClicks[batch]!));
      timings.floorNew += await time(() => rawWithLog(floorClicks[batch]!));
      timings.pipeNew += await time(() => pipeline(pipeClicks[batch]!));
    }
    for (let batch = 0; batch < batches; batch += 1) {
      timings.rawReplay += await time(() => rawUpsert(rawClicks[batch]!));
      timings.pipeReplay += await time(() => pipeline(pipeClicks[batch]!));
      timings.pipeReplayQuiet += await time(() => pipeline(pipeClicks[batch]!, false));
    }
    const rows = batches * batchSize;
    const rate = (seconds: number): number => rows / seconds;
    const [{ count }] = (await query<{ count: string }>(db, 'SELECT count(*)::text AS count FROM conversions')) as [{ count: string }];
    if (Number(count) !== rows * 3) throw new Error(`expected ${rows * 3} conversions, found ${count}`);

    console.log(`pipeline throughput — ${machineLine()}`);
    console.log(`${batches} batches x ${fmt(batchSize)} conversions, each path on its own clicks, interleaved\n`);
    const pct = (raw: number, other: number): string => `${((raw / other) * 100).toFixed(0)}%`;
    console.log(
      table([
        ['', 'rows/s', 'vs raw upsert'],
        ['raw UNNEST upsert, new conversions', fmt(rate(timings.rawNew)), '100%'],
        ['floor: raw upsert + raw log rows, new', fmt(rate(timings.floorNew)), pct(timings.rawNew, timings.floorNew)],
        ['pipeline, new conversions', fmt(rate(timings.pipeNew)), pct(timings.rawNew, timings.pipeNew)],
        ['raw UNNEST upsert, replay (unchanged)', fmt(rate(timings.rawReplay)), '100%'],
        ['pipeline, replay, every attempt logged', fmt(rate(timings.pipeReplay)), pct(timings.rawReplay, timings.pipeReplay)],
        ['pipeline, replay, unchanged not logged (pulls)', fmt(rate(timings.pipeReplayQuiet)), pct(timings.rawReplay, timings.pipeReplayQuiet)],
      ]),
    );
    console.log('\nThe pipeline also looks up and row-locks the clicks, prices, converts FX, applies the dedup rules and writes one');
    console.log('registration-log row per attempt with its raw input. The floor row is that log write alone, without any of the rest.');
  } finally {
    await db.destroy();
    if (!process.env.BENCH_KEEP) await dropBenchDatabase(DB_NAME);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
