import { runPull } from '../../jobs/pull-job';
import { FINAL_RETRY_DAYS, scheduledDays, type KnownDay } from '../../jobs/revenue-schedule';
import { createConnection } from '../../src/connections/connection-store';
import { startSandboxTonic, type SandboxEpcRow, type SandboxTonic } from '../../src/demo/sandbox-tonic';
import { auth, createTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createClicks, createFunnel } from '../support/fixtures';
import { createPullHarness, SECRET_KEY, type PullHarness } from '../support/pulls';

describe('the schedule of a revenue feed (hourly for 3 days, final on day 10)', () => {
  const settings = { estimateDays: 3, finalAfterDays: 10 };
  const now = new Date('2024-11-20T20:00:00Z');
  const plan = (known: Map<string, KnownDay> = new Map()) => scheduledDays('2024-11-20', settings, known, now);

  test('estimates every day within estimate_days, nothing in between, the day at final_after_days (and older non-final ones) as final', () => {
    const days = plan();
    expect(days.filter((day) => day.phase === 'estimate').map((day) => day.day)).toEqual(['2024-11-18', '2024-11-19', '2024-11-20']);
    expect(days.filter((day) => day.phase === 'final').map((day) => day.day)).toEqual(Array.from({ length: FINAL_RETRY_DAYS + 1 }, (_unused, index) => `2024-11-${String(3 + index).padStart(2, '0')}`));
    expect(days.some((day) => day.day >= '2024-11-11' && day.day <= '2024-11-17')).toBe(false);
  });

  test('a final day is never pulled again by the schedule; a day whose final pull found it estimated is tried again a day later', () => {
    const known = new Map<string, KnownDay>([
      ['2024-11-19', { state: 'final', finalAttemptedAt: null }],
      ['2024-11-10', { state: 'final', finalAttemptedAt: new Date('2024-11-20T19:00:00Z') }],
      ['2024-11-09', { state: 'estimated', finalAttemptedAt: new Date('2024-11-20T10:00:00Z') }],
      ['2024-11-08', { state: 'estimated', finalAttemptedAt: new Date('2024-11-19T19:00:00Z') }],
    ]);
    const days = plan(known).map((day) => day.day);
    expect(days).not.toContain('2024-11-19');
    expect(days).not.toContain('2024-11-10');
    expect(days).not.toContain('2024-11-09');
    expect(days).toContain('2024-11-08');
  });
});

describe('scheduled pulls of a Tonic-shaped sandbox through the pull job', () => {
  let testDb: TestDatabase;
  let harness: PullHarness;
  let sandbox: SandboxTonic;
  let api: TestApp;
  let rows: SandboxEpcRow[] = [];
  let clicks: string[];
  const now = new Date('2024-11-20T20:00:00Z'); // noon in Los Angeles

  beforeAll(async () => {
    testDb = await createTestDatabase();
    harness = await createPullHarness(testDb);
    (harness.deps as { now?: () => Date }).now = () => now;
    api = await createTestApp(testDb);
    const funnel = await createFunnel(testDb.db);
    clicks = await createClicks(testDb.db, funnel.campaignId, 2, new Date('2024-11-01T08:00:00Z'));
    sandbox = await startSandboxTonic(() => rows, { consumerKey: 'key', consumerSecret: 'secret' });
  });
  afterAll(async () => {
    await sandbox.close();
    await api.app.close();
    await harness.close();
    await testDb.drop();
  });

  test('estimates and the final day are registered, final days are left alone next time, the run reports unmatched revenue per day', async () => {
    const [a, b] = clicks as [string, string];
    rows = [
      { date: '2024-11-20', subid4: a, revenueUsd: '0.40', revenue_type: 'estimated_revenue' },
      { date: '2024-11-20', subid4: a, revenueUsd: '0.02', revenue_type: 'estimated_revenue' },
      { date: '2024-11-19', subid4: b, revenueUsd: '1.10', revenue_type: 'estimated_revenue_5h' },
      { date: '2024-11-19', subid4: 'unknown-click', revenueUsd: '3.00', revenue_type: 'estimated_revenue_5h' },
      { date: '2024-11-10', subid4: a, revenueUsd: '5.55', revenue_type: 'final' },
      // Between estimate_days and final_after_days: not pulled by the schedule.
      { date: '2024-11-15', subid4: b, revenueUsd: '9.99', revenue_type: 'estimated_revenue' },
    ];
    const connection = await createConnection(testDb.db, SECRET_KEY, { connector: 'tonic', name: 'tonic sandbox', config: { consumer_key: 'key', consumer_secret: 'secret', base_url: sandbox.url } });
    expect(connection.every_minutes).toBe(60);
    const result = await runPull(harness.deps, { connectionId: connection.id, trigger: 'schedule' }, undefined, new AbortController().signal);
    expect(result).toMatchObject({ status: 'completed', stats: { inserted: 3, unmatched: 1 } });
    const conversions = await testDb.db('conversions').where({ connection_id: connection.id }).orderBy('txid').select('click_id', 'txid', 'status', 'payout', 'network_status', 'occurred_at');
    expect(conversions.map((row) => [row.click_id, row.txid, row.status, row.payout, row.network_status])).toEqual([
      [a, 'tonic:2024-11-10', 'approved', '5.550000', 'final'],
      [b, 'tonic:2024-11-19', 'pending', '1.100000', 'estimated_revenue_5h'],
      [a, 'tonic:2024-11-20', 'pending', '0.420000', 'estimated_revenue'],
    ]);
    expect(conversions[2].occurred_at.toISOString()).toBe('2024-11-20T20:00:00.000Z');

    const runs = await api.app.inject({ method: 'GET', url: `/api/v1/connections/${connection.id}/pull-runs`, headers: auth });
    expect(runs.statusCode).toBe(200);
    const revenue = runs.json().items[0].revenue as { day: string; amount: string; unmatched_amount: string; state: string }[];
    expect(revenue.find((line) => line.day === '2024-11-19')).toMatchObject({ amount: '4.10', unmatched_amount: '3.00', state: 'estimated' });
    expect(revenue.find((line) => line.day === '2024-11-10')).toMatchObject({ amount: '5.55', state: 'final' });
    expect(revenue.some((line) => line.day === '2024-11-15')).toBe(false);
    const days = await api.app.inject({ method: 'GET', url: `/api/v1/connections/${connection.id}/revenue-days?from=2024-11-10`, headers: auth });
    expect(days.json().items.find((day: { day: string }) => day.day === '2024-11-10')).toMatchObject({ state: 'final', amount: '5.55', unmatched_amount: '0.00' });

    // Next tick: the estimates are restated, the final day is not asked for again.
    rows = rows.map((row) => (row.date === '2024-11-20' ? { ...row, revenueUsd: '0.50' } : row));
    const finalDateCalls = sandbox.requests.get('/privileged/v3/final/date') ?? 0;
    const second = await runPull(harness.deps, { connectionId: connection.id, trigger: 'schedule' }, undefined, new AbortController().signal);
    expect(second).toMatchObject({ status: 'completed', stats: { updated: 1, inserted: 0 } });
    expect((await testDb.db('conversions').where({ connection_id: connection.id, txid: 'tonic:2024-11-20' }).first()).payout).toBe('1.000000');
    // The 7 older non-final days get their daily retry only after 24 hours; 2024-11-10 is final.
    expect(sandbox.requests.get('/privileged/v3/final/date') ?? 0).toBe(finalDateCalls);
  });

  test('amounts with more than 6 decimals or in exponent form are summed exactly and registered rounded, never reported unmatched or failing the pull', async () => {
    const funnel = await createFunnel(testDb.db);
    const [fine, tiny] = await createClicks(testDb.db, funnel.campaignId, 2, new Date('2024-11-01T08:00:00Z'));
    rows = [
      // Float tails, as feeds that answer JSON numbers send them: 0.1234567 + 0.0000001 = 0.1234568 → 0.123457.
      { date: '2024-11-20', subid4: fine as string, revenueUsd: '0.1234567', revenue_type: 'estimated_revenue' },
      { date: '2024-11-20', subid4: fine as string, revenueUsd: '0.0000001', revenue_type: 'estimated_revenue' },
      // 1.5e-5 + 2.00 on an earlier day: the day registers, and so do the days after it.
      { date: '2024-11-19', subid4: tiny as string, revenueUsd: '1.5e-5', revenue_type: 'estimated_revenue_5h' },
      { date: '2024-11-19', subid4: tiny as string, revenueUsd: '2.00', revenue_type: 'estimated_revenue_5h' },
    ];
    const connection = await createConnection(testDb.db, SECRET_KEY, { connector: 'tonic', name: 'tonic decimals', config: { consumer_key: 'key', consumer_secret: 'secret', base_url: sandbox.url } });
    const result = await runPull(harness.deps, { connectionId: connection.id, trigger: 'schedule' }, undefined, new AbortController().signal);
    expect(result).toMatchObject({ status: 'completed', stats: { inserted: 2, unmatched: 0, rejected: 0 } });
    const stored = await testDb.db('conversions').where({ connection_id: connection.id }).orderBy('txid').select('click_id', 'txid', 'payout');
    expect(stored.map((row) => [row.click_id, row.txid, row.payout])).toEqual([
      [tiny, 'tonic:2024-11-19', '2.000015'],
      [fine, 'tonic:2024-11-20', '0.123457'],
    ]);
    // The day keeps the feed's exact total; nothing of it is unmatched.
    const day = await testDb.db('revenue_days').where({ connection_id: connection.id, day: '2024-11-20' }).first();
    expect([day.amount, day.unmatched_amount, day.unmatched_sub_ids]).toEqual(['0.1234568', '0', 0]);
  });

  test('a sub-id whose day adds up to zero is no conversion; an estimate taken back to zero restates the one it has', async () => {
    const funnel = await createFunnel(testDb.db);
    const [earning, idle] = await createClicks(testDb.db, funnel.campaignId, 2, new Date('2024-11-01T08:00:00Z'));
    rows = [
      { date: '2024-11-20', subid4: earning as string, revenueUsd: '0.80', revenue_type: 'estimated_revenue' },
      // Traffic without revenue, and an unknown sub-id without revenue: neither is a conversion or unmatched revenue.
      { date: '2024-11-20', subid4: idle as string, revenueUsd: '0.00', revenue_type: 'estimated_revenue' },
      { date: '2024-11-20', subid4: 'unknown-idle', revenueUsd: '0', revenue_type: 'estimated_revenue' },
    ];
    const connection = await createConnection(testDb.db, SECRET_KEY, { connector: 'tonic', name: 'tonic zero', config: { consumer_key: 'key', consumer_secret: 'secret', base_url: sandbox.url } });
    const first = await runPull(harness.deps, { connectionId: connection.id, trigger: 'schedule' }, undefined, new AbortController().signal);
    expect(first).toMatchObject({ status: 'completed', stats: { fetched: 3, inserted: 1, unchanged: 2, unmatched: 0 } });
    const stored = () => testDb.db('conversions').where({ connection_id: connection.id }).orderBy('click_id').select('click_id', 'payout', 'status');
    expect(await stored()).toEqual([{ click_id: earning, payout: '0.800000', status: 'pending' }]);
    expect(await testDb.db('registration_log').where({ connection_id: connection.id, outcome: 'rejected' })).toHaveLength(0);

    // The feed takes the estimate back: the conversion is restated to zero, not left at 0.80.
    rows = rows.map((row) => ({ ...row, revenueUsd: '0' }));
    const second = await runPull(harness.deps, { connectionId: connection.id, trigger: 'schedule' }, undefined, new AbortController().signal);
    expect(second).toMatchObject({ status: 'completed', stats: { updated: 1, inserted: 0 } });
    expect(await stored()).toEqual([{ click_id: earning, payout: '0.000000', status: 'pending' }]);
  });

  test("a run left running by a killed worker is closed as failed by the next pull of the feed", async () => {
    rows = [];
    const connection = await createConnection(testDb.db, SECRET_KEY, { connector: 'tonic', name: 'tonic killed run', config: { consumer_key: 'key', consumer_secret: 'secret', base_url: sandbox.url } });
    const [orphan] = await testDb.db('pull_runs').insert({ connection_id: connection.id, trigger: 'schedule', status: 'running', window_from: now, window_to: now }).returning('id');
    const result = await runPull(harness.deps, { connectionId: connection.id, trigger: 'schedule' }, undefined, new AbortController().signal);
    expect(result).toMatchObject({ status: 'completed' });
    const runs = await testDb.db('pull_runs').where({ connection_id: connection.id }).orderBy('id').select('id', 'status', 'error');
    expect(runs.map((run) => run.status)).toEqual(['failed', 'completed']);
    expect(String(runs[0].id)).toBe(String(orphan.id));
    expect(runs[0].error).toMatch(/the worker running this pull stopped/);
  });

  test('the connections API takes estimate_days and final_after_days for revenue feeds only, validated, with the feed defaults shown', async () => {
    const create = (body: Record<string, unknown>) => api.app.inject({ method: 'POST', url: '/api/v1/connections', headers: auth, payload: { name: 'x', ...body } });
    const tonic = { connector: 'tonic', config: { consumer_key: 'k', consumer_secret: 's' } };
    const defaults = await create(tonic);
    expect(defaults.statusCode).toBe(201);
    expect(defaults.json()).toMatchObject({ estimate_days: 3, final_after_days: 10, every_minutes: 60 });
    const own = await create({ ...tonic, estimate_days: 2, final_after_days: 12 });
    expect(own.json()).toMatchObject({ estimate_days: 2, final_after_days: 12 });
    const inverted = await create({ ...tonic, estimate_days: 5, final_after_days: 4 });
    expect(inverted.statusCode).toBe(400);
    expect(inverted.json().error.message).toMatch(/estimate_days \(5\) must not exceed final_after_days \(4\)/);
    const patched = await api.app.inject({ method: 'PATCH', url: `/api/v1/connections/${own.json().id}`, headers: auth, payload: { final_after_days: 1 } });
    expect(patched.statusCode).toBe(400);
    const everflow = await create({ connector: 'everflow', config: { api_key: 'k' }, estimate_days: 3 });
    expect(everflow.statusCode).toBe(400);
    expect(everflow.json().error.message).toMatch(/for revenue feeds/);
    const connectors = await api.app.inject({ method: 'GET', url: '/api/v1/connectors', headers: auth });
    expect(connectors.json().find((connector: { id: string }) => connector.id === 'tonic')).toMatchObject({ kind: 'revenue', revenue_feed: { estimate_days: 3, final_after_days: 10, every_minutes: 60, final_by: 'flag' } });
  });
});
