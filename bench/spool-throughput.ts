/**
 * The local spool under load, with real `tally serve` processes:
 *   1. Postgres unreachable: 64 connections for N seconds against /cf/cv — every answer is a 202
 *      from the spool (append + fsync), req/s and latency;
 *   2. the process stops (its backlog stays on disk); a new `serve` with Postgres adopts the spool
 *      and drains it: entries/s;
 *   3. every acknowledged postback is looked up: present exactly once.
 *
 *   npm run build && node dist/bench/spool-throughput.js [seconds=20]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { query } from '../src/db/sql';
import { benchClicks, dropBenchDatabase, fmt, freshBenchDatabase, machineLine, table } from './support';

const DB_NAME = 'tally_bench_spool';
const REPO = join(__dirname, '..', '..');

async function serve(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [join(REPO, 'bin', 'tally.js'), 'serve'], { cwd: REPO, env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'error', ADMIN_TOKEN: 'bench-admin-token-0123456789', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  for (let waited = 0; waited < 30_000; waited += 50) {
    const match = /listening on (http:\/\/[^\s]+)/.exec(output);
    if (match?.[1]) return { child, url: match[1] };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill();
  throw new Error(`serve did not start: ${output}`);
}

async function spoolEntries(url: string): Promise<number> {
  const body = (await (await fetch(`${url}/readyz`)).json()) as { spool?: { entries: number } };
  return body.spool?.entries ?? -1;
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 20);
  const { db, url: databaseUrl } = await freshBenchDatabase(DB_NAME);
  const spoolDir = mkdtempSync(join(tmpdir(), 'tally-bench-spool-'));
  const children: ChildProcess[] = [];
  try {
    const clicks = await benchClicks(db, 5000);
    const common = { SPOOL_DIR: spoolDir, SPOOL_MAX_MB: '4096', TALLY_STATE_DIR: join(spoolDir, '..', 'tally-bench-spool-state'), SECRET_KEY: '2'.repeat(64) };

    // 1. Postgres away: nothing answers on port 1.
    const away = await serve({ ...common, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/unreachable' });
    children.push(away.child);
    const acknowledged: string[] = [];
    let sequence = 0;
    const result = await autocannon({
      url: away.url,
      connections: 64,
      duration: seconds,
      requests: [
        {
          setupRequest: (request: Record<string, unknown>, context: Record<string, unknown>) => {
            sequence += 1;
            context.txid = `spool-${sequence}`;
            return { ...request, method: 'GET', path: `/cf/cv?click_id=${clicks[sequence % clicks.length]}&txid=spool-${sequence}&payout=1.25&ct=sale` };
          },
          onResponse: (status: number, _body: string, context: Record<string, unknown>) => {
            if (status === 202) acknowledged.push(context.txid as string);
          },
        },
      ],
    } as unknown as autocannon.Options);
    const spooled = await spoolEntries(away.url);
    away.child.kill('SIGTERM');
    await once(away.child, 'exit');

    // 2. A serve with Postgres adopts and drains the spool.
    const started = process.hrtime.bigint();
    const back = await serve({ ...common, DATABASE_URL: databaseUrl });
    children.push(back.child);
    while ((await spoolEntries(back.url)) !== 0) await new Promise((resolve) => setTimeout(resolve, 50));
    const drainSeconds = Number(process.hrtime.bigint() - started) / 1e9;

    const [stored] = await query<{ rows: string; distinct_txids: string }>(db, 'SELECT count(*)::text AS rows, count(DISTINCT txid)::text AS distinct_txids FROM conversions WHERE txid = ANY ($1::text[])', [acknowledged]);
    const missing = acknowledged.length - Number(stored?.distinct_txids ?? 0);
    const doubled = Number(stored?.rows ?? 0) - Number(stored?.distinct_txids ?? 0);

    console.log(`spool throughput — ${machineLine()}`);
    console.log('tally serve with Postgres unreachable (every postback appended to the spool and fsync\'d before its 202), then a new serve draining it\n');
    console.log(
      table([
        ['run', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors'],
        [`/cf/cv spooled (Postgres away), 64 connections, ${seconds} s`, fmt(result.requests.average), result.latency.p50, result.latency.p99, result.non2xx, result.errors + result.timeouts],
      ]),
    );
    console.log(`\nspooled: ${fmt(spooled)} postbacks; adopted and drained by a new serve in ${drainSeconds.toFixed(1)} s (process start included): ${fmt(spooled / drainSeconds)} postbacks/s`);
    console.log(`acknowledged (202): ${fmt(acknowledged.length)}; stored: ${fmt(Number(stored?.distinct_txids ?? 0))}; missing: ${missing}; stored twice: ${doubled}`);
    if (missing !== 0 || doubled !== 0) process.exitCode = 1;
  } finally {
    for (const child of children) {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit').catch(() => undefined);
      }
    }
    await db.destroy();
    rmSync(spoolDir, { recursive: true, force: true });
    if (!process.env.BENCH_KEEP) await dropBenchDatabase(DB_NAME);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
