/**
 * Peak memory of `tally upload` on a 1,000,000-line CSV (every line a new conversion of an
 * existing click), measured on the real CLI process with GNU time, plus its rows/s; then the same
 * file again, which must register nothing new.
 *
 *   npm run build && node dist/bench/upload-memory.js [lines=1000000]
 */
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCampaign, createOffer, insertClicks } from '../src/catalog/catalog';
import { createNetwork } from '../src/catalog/network-store';
import { query } from '../src/db/sql';
import { dropBenchDatabase, fmt, freshBenchDatabase, machineLine, runTallyMeasured, table } from './support';

const DB_NAME = 'tally_bench_upload';

async function writeCsv(path: string, lines: number): Promise<void> {
  const out = createWriteStream(path);
  out.write('click_id,payout,transaction_id,conversion_type,timestamp\r\n');
  const timestamp = new Date(Date.now() - 86_400_000).toISOString();
  for (let index = 0; index < lines; index += 1) {
    if (!out.write(`u${index},${index % 500}.${String(index % 100).padStart(2, '0')},TX-${index},sale,${timestamp}\r\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function main(): Promise<void> {
  const lines = Number(process.argv[2] ?? 1_000_000);
  const { db, url } = await freshBenchDatabase(DB_NAME);
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-upload-'));
  try {
    const network = await createNetwork(db, Buffer.alloc(32, 1), { name: 'bench', currency: 'USD' });
    const offer = await createOffer(db, { name: 'bench', url: 'https://example.com', network_id: network.id });
    const campaign = await createCampaign(db, { name: 'bench', offer_id: offer.id });
    const visitedAt = new Date(Date.now() - 2 * 86_400_000);
    for (let start = 0; start < lines; start += 50_000) {
      const count = Math.min(50_000, lines - start);
      await insertClicks(db, Array.from({ length: count }, (_, offset) => ({ click_id: `u${start + offset}`, campaign_id: campaign.id, visited_at: visitedAt })));
    }
    const file = join(dir, 'conversions.csv');
    await writeCsv(file, lines);
    await db.raw('VACUUM ANALYZE');

    const results: (string | number)[][] = [['run', 'lines', 'seconds', 'rows/s', 'peak RSS MB', 'summary']];
    for (const label of ['first upload', 'same file again']) {
      const { seconds, peakMb, stdout } = await runTallyMeasured(['upload', file, '--errors-only'], { DATABASE_URL: url });
      results.push([label, fmt(lines), seconds.toFixed(1), fmt(lines / seconds), peakMb.toFixed(0), stdout.trim().split('\n').pop() ?? '']);
    }
    const [{ count }] = (await query<{ count: string }>(db, 'SELECT count(*)::text AS count FROM conversions')) as [{ count: string }];
    if (Number(count) !== lines) throw new Error(`expected ${lines} conversions after two uploads, found ${count}`);

    console.log(`upload memory — ${machineLine()}`);
    console.log(`CSV of ${fmt(lines)} lines (${(statSync(file).size / 2 ** 20).toFixed(0)} MB), every line a new conversion of an existing click\n`);
    console.log(table(results));
    console.log(`\nconversions stored after both uploads: ${fmt(Number(count))}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await db.destroy();
    if (!process.env.BENCH_KEEP) await dropBenchDatabase(DB_NAME);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
