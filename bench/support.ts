import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { createDb, type Db } from '../src/db/database';
import { migrateLatest } from '../src/db/migrate';
import { createCampaign, createOffer, insertClicks } from '../src/catalog/catalog';
import { createNetwork } from '../src/catalog/network-store';

/** Base URL of the Postgres server benchmarks use (BENCH_DATABASE_URL overrides). */
export function benchServerUrl(): URL {
  return new URL(process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
}

/** Drops and recreates a database for one benchmark, migrated. */
export async function freshBenchDatabase(name: string): Promise<{ db: Db; url: string }> {
  const admin = new pg.Client({ connectionString: benchServerUrl().toString() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  await admin.end();
  const url = benchServerUrl();
  url.pathname = `/${name}`;
  const db = createDb(url.toString(), { poolMax: 4, applicationName: 'tally-bench' });
  await migrateLatest(db);
  return { db, url: url.toString() };
}

export async function dropBenchDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: benchServerUrl().toString() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  await admin.end();
}

/** Numbers with thousands separators. */
export const fmt = (value: number): string => Math.round(value).toLocaleString('en-US');

/** A small fixed-width table for the console. */
export function table(rows: (string | number)[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => String(row[column]).length)));
  return rows.map((row) => row.map((cell, column) => String(cell).padEnd(widths[column]!)).join('  ')).join('\n');
}

/** Machine facts printed above every result, so figures can be compared honestly. */
export function machineLine(): string {
  const os = require('node:os') as typeof import('node:os');
  return `node ${process.version}, ${os.cpus().length} cpus (${os.cpus()[0]?.model ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB`;
}

/**
 * Runs the real CLI (`node bin/tally.js …`) under GNU time; resolves with its wall time, peak
 * resident memory and stdout. Asynchronous, so a local API served by the bench process keeps
 * answering while it runs.
 */
export async function runTallyMeasured(args: readonly string[], env: Record<string, string>): Promise<{ seconds: number; peakMb: number; stdout: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-time-'));
  const timeFile = join(dir, 'time.txt');
  try {
    const started = process.hrtime.bigint();
    const { stdout } = await promisify(execFile)('/usr/bin/time', ['-o', timeFile, '-f', '%M', process.execPath, join(__dirname, '..', '..', 'bin', 'tally.js'), ...args], {
      env: { ...process.env, LOG_LEVEL: 'warn', TALLY_STATE_DIR: join(dir, 'state'), ...env },
      maxBuffer: 256 * 1024 * 1024,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const peakKb = Number(readFileSync(timeFile, 'utf8').trim().split('\n').pop());
    return { seconds, peakMb: peakKb / 1024, stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A network, an offer and a campaign with `count` new clicks: what postback benchmarks send to. */
export async function benchClicks(db: Db, count: number): Promise<string[]> {
  const network = await createNetwork(db, Buffer.alloc(32, 1), { name: 'bench', currency: 'USD' });
  const offer = await createOffer(db, { name: 'bench', url: 'https://example.com/?s2={cf_click_id}', network_id: network.id });
  const campaign = await createCampaign(db, { name: 'bench', offer_id: offer.id });
  return insertClicks(db, Array.from({ length: count }, () => ({ campaign_id: campaign.id })));
}
