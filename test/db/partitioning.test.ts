import { randomUUID } from 'node:crypto';
import { extendMonthlyPartitions } from '../../jobs/partition-maintenance';
import { createConnection } from '../../src/connections/connection-store';
import { insertClicks } from '../../src/catalog/catalog';
import { Registrar } from '../../src/pipeline/registrar';
import type { RegistrationInput } from '../../src/pipeline/types';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createClicks, createFunnel, type Funnel } from '../support/fixtures';

/**
 * The opt-in monthly partitioning (migration 20261128500100): existing data survives the switch,
 * and every unique guarantee the pipeline relies on holds across partitions — one conversion per
 * identity, one ledger row per intake id and per re-matched attempt, one counted row per pulled
 * rejection. Postgres cannot infer a conflict target on a partitioned table: the pipeline finds the
 * ledger partitioned and registers with the variant that leaves the counting to the triggers.
 */
jest.setTimeout(120_000);

let testDb: TestDatabase;
let funnel: Funnel;
let connectionId: string;
const settings = { displayCurrency: 'USD', defaultCurrency: 'USD' };

/** A registrar started after the switch: it finds the ledger partitioned and uses that statement variant. */
function partitionReadyRegistrar(): Registrar {
  return new Registrar(testDb.db, settings);
}

const postback = (clickId: string, txid: string | undefined, extra: Partial<RegistrationInput> = {}): RegistrationInput => ({
  fields: { click_id: clickId, payout: '2.50', ...(txid ? { txid } : {}) },
  request: { path: '/cf/cv' },
  clientIp: '198.51.100.4',
  intakeId: randomUUID(),
  receivedAt: new Date(),
  ...extra,
});
const pulledRejection = (txid: string, clickId = 'not-a-known-click'): RegistrationInput => ({ fields: { click_id: clickId, txid, payout: '1.00' }, request: { conversion_id: txid } });
const count = async (table: string, where: Record<string, unknown> = {}) => Number((await testDb.db(table).where(where).count<{ count: string }[]>('* as count'))[0]?.count);
const relkind = async (table: string) => (await testDb.db.raw('SELECT relkind FROM pg_class WHERE oid = ?::regclass', [table])).rows[0].relkind as string;

beforeAll(async () => {
  testDb = await createTestDatabase();
  funnel = await createFunnel(testDb.db);
  connectionId = (await createConnection(testDb.db, Buffer.alloc(32, 1), { connector: 'everflow', name: 'p', config: { api_key: 'k', click_id_field: 'sub1' } })).id;
});

afterAll(async () => {
  await testDb.drop();
});

let beforeSwitch: { intakeId: string; clickId: string };

/** A registrar of a process that was already running when the operator switched. */
let runningBeforeSwitch: Registrar;

test('the switch keeps every row, key and count, and a second call changes nothing', async () => {
  const plain = new Registrar(testDb.db, settings);
  runningBeforeSwitch = plain;
  const clicks = await createClicks(testDb.db, funnel.campaignId, 50, new Date(Date.now() - 40 * 86_400_000));
  const inputs = clicks.map((clickId, index) => postback(clickId, `BEFORE-${index}`));
  await plain.register(inputs, { source: 'postback' });
  await plain.register([pulledRejection('PR-1')], { source: 'api', connectionId });
  await plain.register([pulledRejection('PR-1')], { source: 'api', connectionId });
  beforeSwitch = { intakeId: inputs[0]?.intakeId as string, clickId: clicks[0] as string };
  const conversions = await count('conversions');
  const ledger = await count('registration_log');
  const payouts = (await testDb.db('conversions').sum('payout as total'))[0]?.total;

  await testDb.db.raw('CALL tally_partition_by_month(2)');
  expect(await relkind('conversions')).toBe('p');
  expect(await relkind('registration_log')).toBe('p');
  expect(await count('conversions')).toBe(conversions);
  expect(await count('registration_log')).toBe(ledger);
  expect((await testDb.db('conversions').sum('payout as total'))[0]?.total).toBe(payouts);
  expect(await count('registration_log_intake_ids')).toBe(50);
  expect(await testDb.db('registration_log').where({ txid: 'PR-1' }).select('times_seen')).toEqual([{ times_seen: 2 }]);
  await testDb.db.raw('CALL tally_partition_by_month(2)');
  expect(await count('conversions')).toBe(conversions);
});

test('a process that was running during the switch fails one batch (nothing stored, safe to retry), then finds the partitioned ledger', async () => {
  const [clickId] = await createClicks(testDb.db, funnel.campaignId, 1);
  const input = postback(clickId as string, 'DURING-SWITCH');
  await expect(runningBeforeSwitch.register([input], { source: 'postback' })).rejects.toMatchObject({ code: '42P10' });
  expect(await count('conversions', { txid: 'DURING-SWITCH' })).toBe(0);
  const [retried] = await runningBeforeSwitch.register([input], { source: 'postback' });
  expect(retried).toMatchObject({ status: 'accepted' });
});

test('one conversion per identity and one ledger row per intake id, also under concurrency and across the switch', async () => {
  const registrar = partitionReadyRegistrar();
  const [clickId] = await createClicks(testDb.db, funnel.campaignId, 1);
  const outcomes = await Promise.all(Array.from({ length: 20 }, () => registrar.register([postback(clickId as string, 'SAME-1')], { source: 'postback' })));
  expect(outcomes.flat().filter((outcome) => outcome.status === 'accepted')).toHaveLength(1);
  expect(await count('conversions', { txid: 'SAME-1' })).toBe(1);
  expect(await count('registration_log', { txid: 'SAME-1' })).toBe(20);

  const once = postback(clickId as string, 'TWICE-1');
  await Promise.all([registrar.register([once], { source: 'postback' }), registrar.register([once], { source: 'postback' }), registrar.register([once], { source: 'postback' })]);
  expect(await count('registration_log', { intake_id: once.intakeId })).toBe(1);
  expect(await count('conversions', { txid: 'TWICE-1' })).toBe(1);

  // An intake id settled before the switch is still settled after it.
  const [again] = await registrar.register([postback(beforeSwitch.clickId, 'BEFORE-0', { intakeId: beforeSwitch.intakeId, fields: { click_id: beforeSwitch.clickId, txid: 'BEFORE-0', payout: '99.00' } })], { source: 'postback' });
  expect(again).toMatchObject({ status: 'duplicate', reason: 'unchanged' });
  expect(await count('registration_log', { intake_id: beforeSwitch.intakeId })).toBe(1);
  expect((await testDb.db('conversions').where({ txid: 'BEFORE-0' }).first()).payout).toBe('2.500000');
});

test('a pulled rejection stays one counted row; a re-matched attempt is re-registered once', async () => {
  const registrar = partitionReadyRegistrar();
  await Promise.all([registrar.register([pulledRejection('PR-1')], { source: 'api', connectionId }), registrar.register([pulledRejection('PR-1'), pulledRejection('PR-2')], { source: 'api', connectionId })]);
  expect(await testDb.db('registration_log').where({ txid: 'PR-1' }).select('times_seen')).toEqual([{ times_seen: 4 }]);
  expect(await count('registration_log', { txid: 'PR-2' })).toBe(1);
  // A revenue feed's sub-ids of one day share a txid: the click ID is part of the key.
  await registrar.register([pulledRejection('FEED:2026-11-01', 'sub-a'), pulledRejection('FEED:2026-11-01', 'sub-b')], { source: 'api', connectionId });
  await registrar.register([pulledRejection('FEED:2026-11-01', 'sub-a')], { source: 'api', connectionId });
  expect(await testDb.db('registration_log').where({ txid: 'FEED:2026-11-01' }).orderBy('click_id').select('click_id', 'times_seen')).toEqual([{ click_id: 'sub-a', times_seen: 2 }, { click_id: 'sub-b', times_seen: 1 }]);

  const [clickId] = await createClicks(testDb.db, funnel.campaignId, 1);
  const original = (await testDb.db('registration_log').where({ txid: 'PR-2' }).first()).id as string;
  const rematch = (): RegistrationInput => ({ fields: { click_id: clickId, txid: 'PR-2', payout: '1.00' }, request: {}, rematchOf: original });
  await Promise.all([registrar.register([rematch()], { source: 'api', connectionId }), registrar.register([rematch()], { source: 'api', connectionId })]);
  expect(await count('registration_log', { rematch_of: original })).toBe(1);
  expect(await count('conversions', { txid: 'PR-2' })).toBe(1);
});

test('retention frees a deleted attempt\'s keys, as deleting the row of an unpartitioned table did', async () => {
  const registrar = partitionReadyRegistrar();
  const [clickId] = await createClicks(testDb.db, funnel.campaignId, 1);
  await registrar.register([postback(clickId as string, 'RET-1')], { source: 'postback' });
  const duplicate = postback(clickId as string, 'RET-1');
  await registrar.register([duplicate], { source: 'postback' });
  await testDb.db('registration_log').where({ intake_id: duplicate.intakeId }).delete();
  expect(await count('registration_log_intake_ids', { intake_id: duplicate.intakeId })).toBe(0);
  await registrar.register([duplicate], { source: 'postback' });
  expect(await count('registration_log', { intake_id: duplicate.intakeId })).toBe(1);
});

test('rows beyond the prepared months wait in the default partition and move into their month, keys and identity intact', async () => {
  const registrar = partitionReadyRegistrar();
  const far = new Date(Date.UTC(new Date().getUTCFullYear() + 3, 4, 15));
  await insertClicks(testDb.db, [{ click_id: 'far-future-click', campaign_id: funnel.campaignId, visited_at: far }]);
  const input = postback('far-future-click', 'FAR-1', { receivedAt: far });
  await registrar.register([input], { source: 'postback' });
  expect(await count('conversions_default', { txid: 'FAR-1' })).toBe(1);
  expect(await count('registration_log_default', { intake_id: input.intakeId })).toBe(1);

  const month = `${far.getUTCFullYear()}-05-01`;
  await testDb.db.raw("SELECT tally_month_partitions('conversions', ?::date, (?::date + interval '1 month')::date), tally_month_partitions('registration_log', ?::date, (?::date + interval '1 month')::date)", [month, month, month, month]);
  expect(await count('conversions_default')).toBe(0);
  expect(await count('registration_log_default')).toBe(0);
  expect(await count(`conversions_y${far.getUTCFullYear()}m05`, { txid: 'FAR-1' })).toBe(1);
  // The moved ledger row kept its claim; the moved conversion its identity.
  await registrar.register([input], { source: 'postback' });
  await registrar.register([postback('far-future-click', 'FAR-1', { receivedAt: far })], { source: 'postback' });
  expect(await count('registration_log', { intake_id: input.intakeId })).toBe(1);
  expect(await count('conversions', { txid: 'FAR-1' })).toBe(1);
});

test('a click\'s visit time cannot change once conversions are partitioned by it; the daily job keeps months ahead', async () => {
  await expect(testDb.db('clicks').where({ click_id: beforeSwitch.clickId }).update({ visited_at: new Date() })).rejects.toThrow(/cannot change: conversions are partitioned by it/);
  const made = await extendMonthlyPartitions(testDb.db);
  expect(made).toBeGreaterThan(0);
  expect(await extendMonthlyPartitions(testDb.db)).toBe(0);
});
