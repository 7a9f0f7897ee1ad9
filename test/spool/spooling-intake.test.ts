import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import pg from 'pg';
import type { FastifyInstance } from 'fastify';
import { createDb, type Db } from '../../src/db/database';
import { buildApp } from '../../src/http/app';
import type { AppContext } from '../../src/http/context';
import { GroupCommitIntake } from '../../src/intake/group-commit-intake';
import { SpoolingIntake } from '../../src/intake/spooling-intake';
import { silentLogger } from '../../src/log/logger';
import { Metrics } from '../../src/observability/metrics';
import { registerServeGauges } from '../../src/observability/gauges';
import { createRegistrar } from '../../src/runtime/services';
import { SegmentLog } from '../../src/spool/segment-log';
import { encodeSpooledPostback } from '../../src/spool/spool-entry';
import { currentOwner, ownerName } from '../../src/spool/spool-owner';
import { Spool } from '../../src/spool/spool';
import { auth, testConfig } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createClicks, createFunnel } from '../support/fixtures';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';

/**
 * The spool in front of the real pipeline on the real Postgres, which a TCP proxy takes away and
 * brings back. "Slow commits" are real too: another transaction holds the click's row lock.
 */
jest.setTimeout(60_000);

let testDb: TestDatabase;
let campaignId: string;
const dirs: string[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase();
  campaignId = (await createFunnel(testDb.db)).campaignId;
});

afterAll(async () => {
  await testDb.drop();
  dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
});

interface Harness {
  readonly app: FastifyInstance;
  readonly proxy: TcpProxy;
  readonly spool: Spool;
  readonly metrics: Metrics;
  readonly direct: GroupCommitIntake;
  readonly db: Db;
  readonly dir: string;
  close(): Promise<void>;
}

async function harness(options: { afterMs?: number; maxBytes?: number; maxPending?: number; dir?: string } = {}): Promise<Harness> {
  const target = new URL(testDb.url);
  const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
  const db = createDb(proxy.via(testDb.url), { poolMax: 6 });
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'tally-spool-'));
  dirs.push(dir);
  const config = testConfig({ databaseUrl: proxy.via(testDb.url), spool: { enabled: true, dir, maxBytes: options.maxBytes ?? 64 * 1024 * 1024, afterMs: options.afterMs ?? 2000 } });
  const metrics = new Metrics({ defaultMetrics: false });
  const registrar = createRegistrar(db, config, metrics);
  const direct = new GroupCommitIntake(registrar, { maxWaitMs: 2, maxInFlight: 2, maxPending: options.maxPending ?? 10_000 });
  const spool = await Spool.open({ dir, maxBytes: config.spool.maxBytes, registrar, logger: silentLogger(), metrics, retryMinMs: 20, retryMaxMs: 200, adoptEveryMs: 100 });
  const intake = new SpoolingIntake(direct, spool, { afterMs: config.spool.afterMs, logger: silentLogger(), metrics });
  registerServeGauges(metrics, { db, spool });
  const ctx: AppContext = { config, db, registrar, intake, metrics, logger: silentLogger(), spool };
  const app = await buildApp(ctx);
  await app.ready();
  return {
    app, proxy, spool, metrics, direct, db, dir,
    async close() {
      proxy.restore();
      await app.close();
      await spool.stop(5_000);
      await db.destroy();
      await proxy.close();
    },
  };
}

const postback = (h: Harness, query: Record<string, string>, headers: Record<string, string> = {}) =>
  h.app.inject({ method: 'GET', url: `/cf/cv?${new URLSearchParams(query).toString()}`, headers });

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  for (const started = Date.now(); Date.now() - started < timeoutMs; ) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const drained = (h: Harness) => until(() => h.spool.stats().entries === 0, 'the spool to drain');

async function conversionsOf(clickIds: readonly string[]) {
  return testDb.db('conversions').whereIn('click_id', clickIds).orderBy('id').select('click_id', 'txid', 'status', 'payout', 'revision');
}

async function ledgerOf(intakeIds: readonly string[]) {
  return testDb.db('registration_log').whereIn('intake_id', intakeIds).orderBy('id').select('id', 'intake_id', 'outcome', 'reason', 'received_at', testDb.db.raw('host(client_ip) AS client_ip'));
}

/** Holds a click's row lock in a transaction of its own: commits that touch the click wait. */
async function lockClick(clickId: string): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: testDb.url });
  await client.connect();
  await client.query('BEGIN');
  await client.query('SELECT 1 FROM clicks WHERE click_id = $1 FOR UPDATE', [clickId]);
  return async () => {
    await client.query('COMMIT');
    await client.end();
  };
}

test('with Postgres away postbacks are answered 202 queued (the pixel its GIF), then registered exactly once with their receipt time, IP and request id', async () => {
  const h = await harness();
  try {
    const clicks = await createClicks(testDb.db, campaignId, 20);
    h.proxy.cut();
    const sentAt = Date.now();
    // The first finds Postgres away; the rest queue behind the backlog it started.
    const send = (clickId: string, index: number) => postback(h, { click_id: clickId, txid: `down-${index}`, payout: '1.50' });
    const first = await send(clicks[0] as string, 0);
    const answers = [first, ...(await Promise.all(clicks.slice(1).map((clickId, index) => send(clickId, index + 1))))];
    for (const answer of answers) {
      expect(answer.statusCode).toBe(202);
      expect(answer.json()).toMatchObject({ status: 'queued' });
    }
    const pixel = await postback(h, { click_id: clicks[0] as string, txid: 'down-pixel', payout: '2.00' }, { accept: 'image/avif,image/webp,*/*' });
    expect(pixel.statusCode).toBe(202);
    expect(pixel.headers['content-type']).toBe('image/gif');

    const ready = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', checks: { postgres: 'unreachable', spool: 'draining' }, spool: { entries: 21 } });
    const metrics = (await h.app.inject({ method: 'GET', url: '/metrics', headers: auth })).body;
    expect(metrics).toMatch(/tally_postbacks_total\{route="postback",outcome="queued"\} 20/);
    expect(metrics).toMatch(/tally_postbacks_total\{route="pixel",outcome="queued"\} 1/);
    expect(metrics).toMatch(/tally_spool_entries 21/);
    expect(metrics).toMatch(/tally_spool_appended_total\{reason="database_error"\} 1/);
    expect(metrics).toMatch(/tally_spool_appended_total\{reason="backlog"\} 20/);
    expect(await conversionsOf(clicks)).toEqual([]);

    const restoredAt = Date.now();
    h.proxy.restore();
    await drained(h);
    const stored = await conversionsOf(clicks);
    expect(stored).toHaveLength(21);
    expect(new Set(stored.map((row) => row.txid)).size).toBe(21);
    const requestIds = [...answers, pixel].map((answer) => answer.headers['x-request-id'] as string);
    const ledger = await ledgerOf(requestIds);
    expect(ledger).toHaveLength(21);
    // Request ids are the server's time-ordered UUIDv7s (the ledger's intake-id index appends).
    for (const id of requestIds) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    for (const row of ledger) {
      expect(row).toMatchObject({ outcome: 'accepted', client_ip: '127.0.0.1' });
      // The original receipt time (while Postgres was away), not the drain's.
      expect(new Date(row.received_at).getTime()).toBeGreaterThanOrEqual(sentAt);
      expect(new Date(row.received_at).getTime()).toBeLessThanOrEqual(restoredAt);
    }
    expect((await h.app.inject({ method: 'GET', url: '/readyz' })).json()).toMatchObject({ status: 'ready', checks: { postgres: 'ok', spool: 'ok' } });
    expect((await postback(h, { click_id: clicks[1] as string, txid: 'after', payout: '1' })).statusCode).toBe(200);
  } finally {
    await h.close();
  }
});

test('arrival order holds: reports of one conversion spooled while Postgres is away apply in the order they came', async () => {
  const h = await harness();
  try {
    const [clickId] = await createClicks(testDb.db, campaignId, 1);
    h.proxy.cut();
    // A-B-A: the last report is the same as the second, and must still apply after the third.
    for (const status of ['pending', 'approved', 'declined', 'approved']) {
      expect((await postback(h, { click_id: clickId as string, txid: 'ORDER-1', payout: '9.00', status })).statusCode).toBe(202);
    }
    h.proxy.restore();
    await drained(h);
    expect(await conversionsOf([clickId as string])).toEqual([{ click_id: clickId, txid: 'ORDER-1', status: 'approved', payout: '9.000000', revision: 4 }]);
  } finally {
    await h.close();
  }
});

test('a commit slower than SPOOL_AFTER_MS is answered from the spool; the late commit and the drained copy make one conversion and one ledger row', async () => {
  const h = await harness({ afterMs: 200 });
  try {
    const [slowClick, laterClick] = await createClicks(testDb.db, campaignId, 2);
    const release = await lockClick(slowClick as string);
    const slow = await postback(h, { click_id: slowClick as string, txid: 'SLOW-1', payout: '3.00' });
    expect(slow.statusCode).toBe(202);
    // Postgres is up, but a backlog is draining: a later postback queues behind it.
    const later = await postback(h, { click_id: laterClick as string, txid: 'LATER-1', payout: '4.00' });
    expect(later.statusCode).toBe(202);
    expect(h.spool.stats().entries).toBe(2);
    await release();
    await drained(h);
    expect(await conversionsOf([slowClick as string, laterClick as string])).toHaveLength(2);
    const ledger = await ledgerOf([slow.headers['x-request-id'] as string, later.headers['x-request-id'] as string]);
    expect(ledger.map((row) => row.intake_id)).toEqual([slow.headers['x-request-id'], later.headers['x-request-id']]);
    expect(ledger.map((row) => row.outcome)).toEqual(['accepted', 'accepted']);
    const metrics = (await h.app.inject({ method: 'GET', url: '/metrics', headers: auth })).body;
    expect(metrics).toMatch(/tally_spool_appended_total\{reason="slow_commit"\} 1/);
    expect(metrics).toMatch(/tally_spool_appended_total\{reason="backlog"\} 1/);
  } finally {
    await h.close();
  }
});

test('a full in-memory intake spools instead of refusing', async () => {
  const h = await harness({ maxPending: 1, afterMs: 10_000 });
  try {
    const [blocked, other] = await createClicks(testDb.db, campaignId, 2);
    const release = await lockClick(blocked as string);
    const first = postback(h, { click_id: blocked as string, txid: 'FULL-1', payout: '1.00' });
    await until(() => h.direct.size === 1, 'the first postback to wait in the group commit');
    const second = await postback(h, { click_id: other as string, txid: 'FULL-2', payout: '1.00' });
    expect(second.statusCode).toBe(202);
    await release();
    expect((await first).statusCode).toBe(200);
    await drained(h);
    expect(await conversionsOf([blocked as string, other as string])).toHaveLength(2);
    expect((await h.app.inject({ method: 'GET', url: '/metrics', headers: auth })).body).toMatch(/tally_spool_appended_total\{reason="intake_full"\} 1/);
  } finally {
    await h.close();
  }
});

test('at SPOOL_MAX_MB postbacks get 503 with Retry-After and /readyz says not ready; every 202 is registered later, no 503 is', async () => {
  const h = await harness({ maxBytes: 6 * 1024 });
  try {
    const clicks = await createClicks(testDb.db, campaignId, 40);
    h.proxy.cut();
    const answers: Awaited<ReturnType<typeof postback>>[] = [];
    for (const [index, clickId] of clicks.entries()) answers.push(await postback(h, { click_id: clickId, txid: `FULLSPOOL-${index}`, payout: '1.00' }));
    const queued = answers.filter((answer) => answer.statusCode === 202);
    const refused = answers.filter((answer) => answer.statusCode === 503);
    expect(queued.length).toBeGreaterThan(3);
    expect(refused.length).toBeGreaterThan(0);
    expect(queued.length + refused.length).toBe(40);
    expect(refused[0]?.headers['retry-after']).toBe('30');
    expect(refused[0]?.json().error).toMatchObject({ code: 'busy', message: expect.stringMatching(/SPOOL_MAX_MB/) });
    const ready = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'not_ready', checks: { postgres: 'unreachable', spool: 'full' } });

    h.proxy.restore();
    await drained(h);
    const stored = await conversionsOf(clicks);
    expect(stored.map((row) => row.txid).sort()).toEqual(queued.map((answer) => answers.indexOf(answer)).map((index) => `FULLSPOOL-${index}`).sort());
  } finally {
    await h.close();
  }
});

test('a spool left by a process that died mid-drain is adopted and drained exactly once, even the entries it had already registered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-spool-orphan-'));
  dirs.push(dir);
  const deadPid = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
  const orphanDir = join(dir, ownerName({ ...currentOwner(), pid: deadPid }));
  const clicks = await createClicks(testDb.db, campaignId, 30);
  const receivedAt = new Date(Date.now() - 3_600_000);
  const entries = clicks.map((clickId, index) => ({
    input: { fields: { click_id: clickId, txid: `ORPHAN-${index}`, payout: '2.25' }, request: { method: 'GET', path: '/cf/cv' }, clientIp: '203.0.113.7', tokenDigest: null, intakeId: randomUUID(), receivedAt },
    options: { source: 'postback' as const },
  }));
  const log = await SegmentLog.create(orphanDir);
  for (const entry of entries) await log.append(encodeSpooledPostback(entry));
  await log.close();
  // The dead process had registered the first ten and died before moving its cursor.
  const registrar = createRegistrar(testDb.db, testConfig());
  await registrar.register(entries.slice(0, 10).map((entry) => entry.input), { source: 'postback' });

  const h = await harness({ dir });
  try {
    await drained(h);
    // Adopted by renaming it under this process's name, drained, then removed.
    await until(() => !existsSync(orphanDir) && readdirSync(dir).length === 1, 'the adopted directory to be removed');
    const stored = await conversionsOf(clicks);
    expect(stored).toHaveLength(30);
    expect(new Set(stored.map((row) => row.txid)).size).toBe(30);
    const ledger = await ledgerOf(entries.map((entry) => entry.input.intakeId));
    expect(ledger).toHaveLength(30);
    expect(ledger.every((row) => row.client_ip === '203.0.113.7' && new Date(row.received_at).getTime() === receivedAt.getTime())).toBe(true);
    expect(readdirSync(dir)).toEqual([basename(h.spool.ownDir)]);
  } finally {
    await h.close();
  }
  // A clean stop with an empty spool leaves nothing behind.
  expect(readdirSync(dir)).toEqual([]);
});

test('a poisoned entry among hundreds spooled while Postgres is away is rejected alone when the spool drains; every valid one registers', async () => {
  // 1 IDR = 999,999,999,999 USD: a large IDR payout overflows the display amount, valid by every
  // check before the database, so only the registration statement can refuse it.
  await testDb.db.raw("INSERT INTO fx_rates (rate_date, base, quote, rate) VALUES ('2020-01-01', 'IDR', 'USD', 999999999999) ON CONFLICT DO NOTHING");
  const h = await harness();
  try {
    const clicks = await createClicks(testDb.db, campaignId, 201);
    h.proxy.cut();
    const answers = [];
    for (const [index, clickId] of clicks.entries()) {
      const poisoned = index === 120;
      answers.push(await postback(h, { click_id: clickId, txid: `SPOOLPOISON-${index}`, ...(poisoned ? { payout: '99999999999999', payout_currency: 'IDR' } : { payout: '1.00', param1: 'a\u0000b' }) }));
    }
    expect(answers.map((answer) => answer.statusCode)).toEqual(answers.map(() => 202));
    h.proxy.restore();
    await drained(h);
    const stored = await conversionsOf(clicks);
    expect(stored).toHaveLength(200);
    expect(stored.some((row) => row.txid === 'SPOOLPOISON-120')).toBe(false);
    const rejected = await testDb.db('registration_log').where({ outcome: 'rejected', reason: 'storage_error' }).whereRaw("request::text LIKE '%SPOOLPOISON-120%'");
    expect(rejected).toHaveLength(1);
  } finally {
    await h.close();
  }
});
