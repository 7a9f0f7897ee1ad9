/**
 * Postback throughput and latency of a real `tally serve` process (durable acknowledgement: each
 * 200 is sent after the conversion is committed), beside a bare fastify route, in one run:
 *   1. saturation: 64 connections for 20 s against each;
 *   2. latency: a fixed 2,000 postbacks/s for 60 s (unique txids), p50/p99;
 *   3. afterwards, every acknowledged postback is looked up: present exactly once.
 *
 *   npm run build && node dist/bench/postback-throughput.js [saturationSeconds=20] [fixedSeconds=60] [rate=2000]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { query } from '../src/db/sql';
import { benchClicks, dropBenchDatabase, fmt, freshBenchDatabase, machineLine, table } from './support';

const DB_NAME = 'tally_bench_postback';
const REPO = join(__dirname, '..', '..');

async function startProcess(args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  for (let waited = 0; waited < 30_000; waited += 100) {
    const match = /listening (?:on )?(http:\/\/[^\s]+)/.exec(output);
    if (match?.[1]) return { child, url: match[1] };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill();
  throw new Error(`process did not start: ${output}`);
}

interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  acknowledged: string[];
}

async function load(url: string, options: { seconds: number; connections: number; rate?: number; clicks: string[]; prefix: string }): Promise<LoadResult> {
  const acknowledged: string[] = [];
  let sequence = 0;
  const instance = autocannon({
    url,
    connections: options.connections,
    duration: options.seconds,
    ...(options.rate ? { overallRate: options.rate } : {}),
    requests: [
      {
        setupRequest: (request: Record<string, unknown>, context: Record<string, unknown>) => {
          sequence += 1;
          const txid = `${options.prefix}-${sequence}`;
          context.txid = txid;
          const click = options.clicks[sequence % options.clicks.length];
          return { ...request, method: 'GET', path: `/cf/cv?click_id=${click}&txid=${txid}&payout=1.25&ct=sale` };
        },
        onResponse: (status: number, _body: string, context: Record<string, unknown>) => {
          // 202: spooled (a commit slower than SPOOL_AFTER_MS); registered once the spool drains.
          if (status === 200 || status === 202) acknowledged.push(context.txid as string);
        },
      },
    ],
  } as unknown as autocannon.Options);
  const result = await instance;
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    acknowledged,
  };
}

async function main(): Promise<void> {
  const saturationSeconds = Number(process.argv[2] ?? 20);
  const fixedSeconds = Number(process.argv[3] ?? 60);
  const rate = Number(process.argv[4] ?? 2000);
  const { db, url: databaseUrl } = await freshBenchDatabase(DB_NAME);
  const children: ChildProcess[] = [];
  try {
    const clicks = await benchClicks(db, 5000);

    // BENCH_SERVE_NODE_ARGS: extra node flags for the serve process only (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
    const serveNodeArgs = (process.env.BENCH_SERVE_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const tally = await startProcess([...serveNodeArgs, join(REPO, 'bin', 'tally.js'), 'serve'], {
      DATABASE_URL: databaseUrl, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ADMIN_TOKEN: 'bench-admin-token-0123456789', TALLY_STATE_DIR: '/tmp/tally-bench-state',
    });
    children.push(tally.child);
    const bare = await startProcess([join(__dirname, 'bare-server.js')], { PORT: '0' });
    children.push(bare.child);

    // Warm both up briefly (JIT, connection pools) outside the measurement.
    await load(bare.url, { seconds: 2, connections: 16, clicks, prefix: 'warm-bare' });
    await load(tally.url, { seconds: 2, connections: 16, clicks, prefix: 'warm' });

    const bareSaturation = await load(bare.url, { seconds: saturationSeconds, connections: 64, clicks, prefix: 'bare' });
    const tallySaturation = await load(tally.url, { seconds: saturationSeconds, connections: 64, clicks, prefix: 'sat' });
    const fixed = await load(tally.url, { seconds: fixedSeconds, connections: 64, rate, clicks, prefix: 'fixed' });

    const acknowledged = [...tallySaturation.acknowledged, ...fixed.acknowledged];
    for (;;) {
      const readiness = (await (await fetch(`${tally.url}/readyz`)).json()) as { spool?: { entries: number } };
      if ((readiness.spool?.entries ?? 0) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const [stored] = await query<{ rows: string; distinct_txids: string }>(db, `SELECT count(*)::text AS rows, count(DISTINCT txid)::text AS distinct_txids FROM conversions WHERE txid = ANY ($1::text[])`,
      [acknowledged],
    );
    const missing = acknowledged.length - Number(stored?.distinct_txids ?? 0);
    const doubled = Number(stored?.rows ?? 0) - Number(stored?.distinct_txids ?? 0);

    console.log(`postback throughput — ${machineLine()}`);
    console.log(`tally serve (Postgres synchronous_commit=on, group commit) and a bare fastify route, load from autocannon on the same machine\n`);
    console.log(
      table([
        ['run', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors'],
        [`bare fastify route, 64 connections, ${saturationSeconds} s`, fmt(bareSaturation.requestsPerSecond), bareSaturation.p50, bareSaturation.p99, bareSaturation.non2xx, bareSaturation.errors],
        [`/cf/cv durable, 64 connections, ${saturationSeconds} s`, fmt(tallySaturation.requestsPerSecond), tallySaturation.p50, tallySaturation.p99, tallySaturation.non2xx, tallySaturation.errors],
        [`/cf/cv durable, fixed ${fmt(rate)}/s, ${fixedSeconds} s`, fmt(fixed.requestsPerSecond), fixed.p50, fixed.p99, fixed.non2xx, fixed.errors],
      ]),
    );
    console.log(`\nacknowledged postbacks: ${fmt(acknowledged.length)}; stored: ${fmt(Number(stored?.distinct_txids ?? 0))}; missing: ${missing}; stored twice: ${doubled}`);
    if (missing !== 0 || doubled !== 0) process.exitCode = 1;
  } finally {
    for (const child of children) {
      child.kill('SIGTERM');
      await once(child, 'exit').catch(() => undefined);
    }
    await db.destroy();
    if (!process.env.BENCH_KEEP) await dropBenchDatabase(DB_NAME);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
