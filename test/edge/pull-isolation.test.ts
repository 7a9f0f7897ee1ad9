import { runPull } from '../../jobs/pull-job';
import { listData, startSandboxNetwork, type SandboxConversion, type SandboxNetwork } from '../../src/demo/sandbox-network';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createClicks, createFunnel, type Funnel } from '../support/fixtures';
import { createPullHarness, createSandboxConnection, SANDBOX_KEY, type PullHarness } from '../support/pulls';

/**
 * Pull pages: a record the connector cannot read, or that carries characters Postgres cannot
 * store, is rejected alone; the rest of its page registers and the checkpoint moves on. (Before,
 * one such record failed the page, and the pull retried it forever.)
 */

let testDb: TestDatabase;
let harness: PullHarness;
let funnel: Funnel;
let records: unknown[] = [];
let sandbox: SandboxNetwork;

beforeAll(async () => {
  testDb = await createTestDatabase();
  harness = await createPullHarness(testDb);
  funnel = await createFunnel(testDb.db);
  sandbox = await startSandboxNetwork(listData(() => records as SandboxConversion[]), { apiKey: SANDBOX_KEY });
});

afterAll(async () => {
  await sandbox.close();
  await harness.close();
  await testDb.drop();
});

const at = Math.floor(Date.now() / 1000) - 1800;
const valid = (clickId: string, id: string): Record<string, unknown> => ({
  conversion_id: id, conversion_unix_timestamp: at, sub1: clickId, revenue: '2.50', currency_id: 'USD', status: 'approved',
});

test('broken and hostile records among hundreds of valid ones on one page: each rejected alone, logged once, the rest registered', async () => {
  const clicks = await createClicks(testDb.db, funnel.campaignId, 303);
  records = clicks.slice(0, 300).map((clickId, index) => valid(clickId, `PI-${index}`));
  // The documented id is a string; a number does not fit the record's shape.
  records.splice(50, 0, { ...valid(clicks[300] as string, 'unused'), conversion_id: 777 });
  records.splice(120, 0, { ...valid(clicks[301] as string, 'PI-bad-money'), revenue: 'twelve' });
  records.splice(200, 0, { ...valid(`${clicks[302]}\u0000`, 'PI-nul') });
  records.splice(250, 0, { ...valid(clicks[299] as string, 'PI-surrogate'), transaction_id: 'broken \ud800' });
  const connection = await createSandboxConnection(testDb, sandbox.url);

  const first = await runPull(harness.deps, { connectionId: connection.id, trigger: 'manual' }, undefined, new AbortController().signal);
  expect(first).toMatchObject({ status: 'completed', stats: { inserted: 301, rejected: 3 } });
  const rejected = await testDb.db('registration_log').where({ connection_id: connection.id, outcome: 'rejected' }).orderBy('txid');
  expect(rejected.map((row) => [row.txid, row.reason])).toEqual([
    ['777', 'invalid_record'],
    ['PI-bad-money', 'invalid_record'],
    ['PI-nul', 'invalid_characters'],
  ]);
  expect(rejected[0].message).toMatch(/unexpected shape/);
  expect(rejected[0].request).toMatchObject({ conversion_id: 777, sub1: clicks[300] });
  expect(rejected[1].message).toMatch(/not a number/);
  const [surrogate] = await testDb.db('registration_log').where({ connection_id: connection.id, txid: 'PI-surrogate' });
  expect(surrogate.outcome).toBe('accepted');
  expect(surrogate.request.transaction_id).toBe('broken \uFFFD');
  expect(await testDb.db('sync_checkpoints').where({ connection_id: connection.id })).toHaveLength(1);

  // The next pull re-reads the lookback: nothing new is logged, the rejections are counted.
  await runPull(harness.deps, { connectionId: connection.id, trigger: 'manual' }, undefined, new AbortController().signal);
  const again = await testDb.db('registration_log').where({ connection_id: connection.id, outcome: 'rejected' }).orderBy('txid');
  expect(again.map((row) => [row.txid, row.times_seen])).toEqual([
    ['777', 2],
    ['PI-bad-money', 2],
    ['PI-nul', 2],
  ]);
  expect(await testDb.db('conversions').where({ connection_id: connection.id })).toHaveLength(301);
});
