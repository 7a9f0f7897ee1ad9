import { Readable } from 'node:stream';
import Redis from 'ioredis';
import { createQueues } from '../../jobs/queues';
import { PullService } from '../../jobs/pull-service';
import { runRetention, RETENTION_BATCH } from '../../jobs/retention-job';
import { query } from '../../src/db/sql';
import { silentLogger } from '../../src/log/logger';
import { Registrar } from '../../src/pipeline/registrar';
import { rematchUnknownClicks } from '../../src/pipeline/rematch';
import { auth, createTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createClicks, createFunnel, type Funnel } from '../support/fixtures';

let testDb: TestDatabase;
let registrar: Registrar;
let funnel: Funnel;
let connectionId: string;

beforeAll(async () => {
  testDb = await createTestDatabase();
  registrar = new Registrar(testDb.db, { displayCurrency: 'USD', defaultCurrency: 'USD' });
  funnel = await createFunnel(testDb.db);
  const [row] = await query<{ id: string }>(testDb.db, "INSERT INTO connections (connector, name, secrets_encrypted) VALUES ('everflow', 'ledger', 'unused') RETURNING id");
  connectionId = row?.id as string;
});

afterAll(async () => {
  await testDb.drop();
});

const pulled = (clickId: string, txid: string, payout: string) => ({ fields: { click_id: clickId, txid, payout, status: 'pending' }, request: { id: txid, payout } });

describe('pulled records that keep being rejected', () => {
  test('are logged once per (connection, txid, reason) and counted; each sighting refreshes the record that re-matching uses', async () => {
    const options = { source: 'api' as const, connectionId, logUnchanged: false };
    await registrar.register([pulled('not-yet-imported', 'EF-1', '1.00')], options);
    await registrar.register([pulled('not-yet-imported', 'EF-1', '1.50')], options);
    // The same record twice in one page folds into the same row.
    await registrar.register([pulled('not-yet-imported', 'EF-1', '2.00'), pulled('not-yet-imported', 'EF-1', '2.00')], options);
    const rows = await testDb.db('registration_log').where({ connection_id: connectionId, txid: 'EF-1' });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ reason: 'unknown_click_id', times_seen: 4, request: { id: 'EF-1', payout: '2.00' } });
    expect(rows[0].last_seen_at.getTime()).toBeGreaterThanOrEqual(rows[0].received_at.getTime());
    // Another reason for the same record is another row.
    await registrar.register([{ fields: { click_id: 'not-yet-imported', txid: 'EF-1', payout: '1.2.3' } }], options);
    expect(await testDb.db('registration_log').where({ connection_id: connectionId, txid: 'EF-1' })).toHaveLength(2);

    // Once the click exists, re-matching registers the latest sighting.
    const campaign = await testDb.db('campaigns').where({ id: funnel.campaignId }).first();
    await testDb.db('clicks').insert({ click_id: 'not-yet-imported', campaign_id: campaign.id, offer_id: campaign.offer_id });
    const summary = await rematchUnknownClicks(testDb.db, registrar, ['not-yet-imported']);
    expect(summary.accepted).toBe(1);
    const [conversion] = await testDb.db('conversions').where({ txid: 'EF-1' });
    expect(conversion).toMatchObject({ payout: '2.000000', status: 'pending' });
  });
});

describe('pulled records that share a txid (a revenue feed day)', () => {
  test('every unknown sub-id of the day is its own log row, counted on its own, and re-matched on its own', async () => {
    const options = { source: 'api' as const, connectionId, logUnchanged: false };
    const day = (clickId: string, payout: string) => ({ fields: { click_id: clickId, txid: 'tonic:2026-11-20', payout, ct: 'revenue', status: 'pending' }, request: { subid4: clickId, revenue: payout } });
    await registrar.register([day('feed-sub-a', '0.40'), day('feed-sub-b', '1.10')], options);
    await registrar.register([day('feed-sub-a', '0.45'), day('feed-sub-b', '1.10')], options);
    const rows = await testDb.db('registration_log').where({ connection_id: connectionId, txid: 'tonic:2026-11-20' }).orderBy('click_id');
    expect(rows.map((row) => [row.click_id, row.times_seen, row.request.revenue])).toEqual([
      ['feed-sub-a', 2, '0.45'],
      ['feed-sub-b', 2, '1.10'],
    ]);
    const campaign = await testDb.db('campaigns').where({ id: funnel.campaignId }).first();
    await testDb.db('clicks').insert([{ click_id: 'feed-sub-b', campaign_id: campaign.id, offer_id: campaign.offer_id }]);
    expect((await rematchUnknownClicks(testDb.db, registrar, ['feed-sub-b'])).accepted).toBe(1);
    expect(await testDb.db('conversions').where({ txid: 'tonic:2026-11-20' }).first()).toMatchObject({ click_id: 'feed-sub-b', payout: '1.100000' });
  });
});

describe('re-matching works in pages', () => {
  test('a backlog larger than a page is re-registered completely, a page at a time', async () => {
    const ids = Array.from({ length: 25 }, (_, index) => `paged-${index}`);
    await registrar.register(ids.map((clickId, index) => ({ fields: { click_id: clickId, txid: `PG-${index}` } })), { source: 'postback' });
    const campaign = await testDb.db('campaigns').where({ id: funnel.campaignId }).first();
    await testDb.db('clicks').insert(ids.map((click_id) => ({ click_id, campaign_id: campaign.id, offer_id: campaign.offer_id })));
    const summary = await rematchUnknownClicks(testDb.db, registrar, ids, 10);
    expect(summary).toEqual({ attempts: 25, accepted: 25, other: 0 });
    expect(await testDb.db('conversions').whereIn('click_id', ids)).toHaveLength(25);
    // Nothing is re-registered twice.
    expect(await rematchUnknownClicks(testDb.db, registrar, ids, 10)).toEqual({ attempts: 0, accepted: 0, other: 0 });
  });
});

describe('retention', () => {
  test('deletes old attempts that created or changed nothing, keeps the history of conversions and everything recent', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    await registrar.register([{ fields: { click_id: clickId, txid: 'RET-1', status: 'pending' } }], { source: 'postback' });
    await registrar.register([{ fields: { click_id: clickId, txid: 'RET-1', status: 'pending' } }], { source: 'postback' });
    await registrar.register([{ fields: { click_id: clickId, txid: 'RET-1', status: 'approved' } }], { source: 'postback' });
    await registrar.register([{ fields: { click_id: 'ret-unknown', txid: 'RET-2' } }], { source: 'postback' });
    await registrar.register([{ fields: { click_id: 'ret-recent', txid: 'RET-3' } }], { source: 'postback' });
    const old = new Date(Date.now() - 200 * 24 * 3600 * 1000);
    await testDb.db('registration_log').whereIn('txid', ['RET-1', 'RET-2']).update({ received_at: old, last_seen_at: old });
    const before = await testDb.db('registration_log').whereIn('txid', ['RET-1', 'RET-2', 'RET-3']).orderBy('id');
    expect(before.map((row) => row.outcome)).toEqual(['accepted', 'duplicate', 'updated', 'rejected', 'rejected']);

    const result = await runRetention(testDb.db, 180);
    expect(result.deleted).toBeGreaterThanOrEqual(2);
    const after = await testDb.db('registration_log').whereIn('txid', ['RET-1', 'RET-2', 'RET-3']).orderBy('id');
    expect(after.map((row) => [row.txid, row.outcome])).toEqual([
      ['RET-1', 'accepted'],
      ['RET-1', 'updated'],
      ['RET-3', 'rejected'],
    ]);
    expect(RETENTION_BATCH).toBeGreaterThan(0);
  });

  test('runs daily as a BullMQ job scheduler', async () => {
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
    const prefix = `tally-test-retention-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const queues = createQueues(redis, prefix);
    try {
      await new PullService(testDb.db, queues, Buffer.alloc(32, 7), silentLogger()).reconcileSchedulers();
      const schedulers = await queues.maintenance.getJobSchedulers(0, -1);
      expect(schedulers.map((scheduler) => [scheduler.key, scheduler.every])).toEqual([['retention:daily', 24 * 3600 * 1000]]);
    } finally {
      await queues.maintenance.obliterate({ force: true });
      await queues.close();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });
});

describe('upload API limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(testDb, { uploadMaxBytes: 4096 });
  });
  afterAll(async () => {
    await t.app.close();
  });

  test('a body over UPLOAD_MAX_MB is refused with 413 and a reason', async () => {
    const body = `click_id,payout\n${'abc,1.00\n'.repeat(1000)}`;
    const response = await t.app.inject({ method: 'POST', url: '/api/v1/uploads', headers: { ...auth, 'content-type': 'text/csv' }, payload: body });
    expect(response.statusCode).toBe(413);
    expect(response.json().error).toMatchObject({ code: 'upload_too_large', message: expect.stringMatching(/larger than 4096 bytes \(UPLOAD_MAX_MB\)/) });
  });

  test('a streamed body without Content-Length is cut off at the limit with 413; what was read before is registered and logged', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    const chunks = [`${clickId},1.00,STREAM-1\n`, ...Array.from({ length: 300 }, () => `nosuchclick,1.00,STREAM-X\n`)];
    const response = await t.app.inject({ method: 'POST', url: '/api/v1/uploads', headers: { ...auth, 'content-type': 'text/csv' }, payload: Readable.from(chunks) });
    expect(response.statusCode).toBe(413);
    expect(response.json().error.message).toMatch(/lines read before the limit were registered/);
  });
});

describe('upload API results are bounded', () => {
  test('every line for the first 1,000 lines, then rejected lines only; the rest counted', async () => {
    const t = await createTestApp(testDb);
    try {
      const clicks = await createClicks(testDb.db, funnel.campaignId, 1200);
      const lines = clicks.map((clickId, index) => (index % 100 === 50 ? `bad id ${index},1.00,BL-${index}` : `${clickId},1.00,BL-${index}`));
      const response = await t.app.inject({ method: 'POST', url: '/api/v1/uploads', headers: { ...auth, 'content-type': 'text/csv' }, payload: `${lines.join('\n')}\n` });
      expect(response.statusCode).toBe(200);
      const body = response.json();
      expect(body).toMatchObject({ rows: 1200, accepted: 1188, rejected: 12 });
      // 1,000 lines in full, then the two rejected lines among the last 200.
      expect(body.lines).toHaveLength(1002);
      expect(body.lines.slice(1000).map((line: { line: number; reason: string }) => [line.line, line.reason])).toEqual([[1051, 'invalid_click_id'], [1151, 'invalid_click_id']]);
      expect(body.lines_omitted).toBe(198);
    } finally {
      await t.app.close();
    }
  });
});
