/**
 * End-to-end pull throughput: a local paged API speaking Everflow's affiliate reporting shape
 * serves 1,000,000 conversions (generated on the fly, 2,000 per page), pulled by the real
 * `tally backfill` CLI process (connector → pipeline → Postgres, page by page, chunk checkpoints),
 * measured with GNU time for its peak RSS; beside a raw UNNEST upsert of the same rows, same run.
 *
 *   npm run build && node dist/bench/pull-throughput.js [conversions=1000000]
 */
import { createCampaign, createOffer, insertClicks } from '../src/catalog/catalog';
import { createNetwork } from '../src/catalog/network-store';
import { createConnection } from '../src/connections/connection-store';
import { query } from '../src/db/sql';
import { generatedData, startSandboxNetwork } from '../src/demo/sandbox-network';
import { dropBenchDatabase, fmt, freshBenchDatabase, machineLine, runTallyMeasured, table } from './support';

const DB_NAME = 'tally_bench_pull';
const SECRET_KEY = Buffer.alloc(32, 9);
const CLICKS = 20_000;

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 1_000_000);
  const { db, url } = await freshBenchDatabase(DB_NAME);
  // 29 days of data, so the whole range is one 30-day chunk of the Everflow connector.
  const start = Math.floor(Date.UTC(2026, 8, 1) / 1000);
  const step = (29 * 86400) / total;
  const record = (prefix: string, index: number) => ({
    conversion_id: `${prefix}${index}`,
    conversion_unix_timestamp: start + Math.floor(index * step),
    sub1: `pc${index % CLICKS}`,
    revenue: `${index % 90}.${String(index % 100).padStart(2, '0')}`,
    currency_id: 'USD',
    status: (index % 7 === 0 ? 'pending' : 'approved') as 'pending' | 'approved',
  });
  const sandbox = await startSandboxNetwork(generatedData(total, start, step, (index) => record('EF', index)), { apiKey: 'bench-key' });
  try {
    const network = await createNetwork(db, Buffer.alloc(32, 1), { name: 'bench', currency: 'USD' });
    const offer = await createOffer(db, { name: 'bench', url: 'https://example.com', network_id: network.id });
    const campaign = await createCampaign(db, { name: 'bench', offer_id: offer.id });
    for (let first = 0; first < CLICKS; first += 10_000) {
      await insertClicks(db, Array.from({ length: 10_000 }, (_, offset) => ({ click_id: `pc${first + offset}`, campaign_id: campaign.id, visited_at: new Date((start - 86400) * 1000) })));
    }
    const connection = await createConnection(db, SECRET_KEY, { connector: 'everflow', name: 'bench', config: { api_key: 'bench-key', base_url: sandbox.url }, network_id: network.id });

    // Raw UNNEST upsert of the same rows (other txids), batches of 10,000.
    const rawStarted = process.hrtime.bigint();
    for (let first = 0; first < total; first += 10_000) {
      const rows = Array.from({ length: Math.min(10_000, total - first) }, (_, offset) => record('RAW', first + offset));
      await query(db, `INSERT INTO conversions (click_id, type, txid, dedup_key, status, payout, currency, display_payout, display_currency, fx_rate,
                                  occurred_at, visit_at, source, campaign_id, offer_id, network_id, connection_id)
         SELECT c, 'conversion', t, 'tx:' || t, s, p, 'USD', p, 'USD', 1, to_timestamp(o), $1::timestamptz, 'api', $2::uuid, $3::uuid, $4::uuid, $5::uuid
           FROM unnest($6::text[], $7::text[], $8::text[], $9::numeric[], $10::bigint[]) AS u(c, t, s, p, o)
         ON CONFLICT (click_id, type, dedup_key) DO UPDATE SET status = EXCLUDED.status, payout = EXCLUDED.payout
          WHERE (conversions.status, conversions.payout) IS DISTINCT FROM (EXCLUDED.status, EXCLUDED.payout)`,
        [
          new Date((start - 86400) * 1000), campaign.id, offer.id, network.id, connection.id,
          rows.map((row) => row.sub1), rows.map((row) => row.conversion_id), rows.map((row) => row.status), rows.map((row) => row.revenue), rows.map((row) => row.conversion_unix_timestamp),
        ],
      );
    }
    const rawSeconds = Number(process.hrtime.bigint() - rawStarted) / 1e9;

    const from = new Date(start * 1000).toISOString().slice(0, 10);
    const to = new Date((start + 29 * 86400 - 1) * 1000).toISOString().slice(0, 10);
    const { seconds: pullSeconds, peakMb, stdout } = await runTallyMeasured(['backfill', '--connection', connection.id, '--from', from, '--to', to], {
      DATABASE_URL: url, SECRET_KEY: SECRET_KEY.toString('hex'), ADMIN_TOKEN: 'bench-admin-token-0123456789', QUEUE_PREFIX: `bench-pull-${process.pid}`,
    });
    const [stored] = await query<{ count: string }>(db, "SELECT count(*)::text AS count FROM conversions WHERE txid LIKE 'EF%'", []);
    if (Number(stored?.count) !== total) throw new Error(`expected ${total} pulled conversions, found ${stored?.count}\n${stdout}`);

    console.log(`pull throughput — ${machineLine()}`);
    console.log(`${fmt(total)} conversions from a local Everflow-shaped API (2,000 per page, one 30-day chunk), ${fmt(CLICKS)} clicks\n`);
    console.log(
      table([
        ['path', 'seconds', 'rows/s', 'peak RSS MB'],
        ['raw UNNEST upsert, batches of 10,000 (same rows)', rawSeconds.toFixed(1), fmt(total / rawSeconds), '-'],
        ['tally backfill: HTTP + connector + pipeline + log', pullSeconds.toFixed(1), fmt(total / pullSeconds), peakMb.toFixed(0)],
      ]),
    );
    console.log(`\n${stdout.trim().split('\n').pop()}`);
  } finally {
    await sandbox.close();
    await db.destroy();
    if (!process.env.BENCH_KEEP) await dropBenchDatabase(DB_NAME);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
