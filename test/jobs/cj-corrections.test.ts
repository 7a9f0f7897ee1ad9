import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cjConnector } from '../../connectors/cj';
import type { NormalizedConversion } from '../../connectors/kit/types';
import { runPull } from '../../jobs/pull-job';
import { registerPulledPage } from '../../jobs/pulled-page';
import { createConnection } from '../../src/connections/connection-store';
import { query, transaction } from '../../src/db/sql';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createClicks, createFunnel, type Funnel } from '../support/fixtures';
import { createPullHarness, SECRET_KEY, type PullHarness } from '../support/pulls';

/**
 * CJ corrections end to end: a local stand-in for https://commissions.api.cj.com/query that reads
 * the GraphQL text Tally posts (date arguments, sinceCommissionId) and pages two records at a time
 * with payloadComplete/maxCommissionId, the pull job, the registration pipeline and Postgres.
 * Records follow the fixture of test/connectors/cj.test.ts (CJ's documented sample and schema).
 */

const TOKEN = 'cj-token-for-the-stand-in';
const PUBLISHER = '4541318';
const PAGE_SIZE = 2;

type Commission = Record<string, unknown> & { commissionId: string; eventDate: string; postingDate: string; lockingDate: string };
let commissions: Commission[] = [];
let requests: string[] = [];

/** Answers publisherCommissions like CJ: date filters ≥ since and < before, ids above the cursor, in id order. */
function answer(body: string): unknown {
  const filters = [...body.matchAll(/(since|before)(Event|Posting|Locking)Date: "([^"]+)"/g)].map(([, bound, field, value]) => ({ bound, field: `${field!.toLowerCase()}Date` as 'eventDate', at: Date.parse(value!) }));
  const cursor = /sinceCommissionId: "(\d+)"/.exec(body)?.[1];
  const matching = commissions
    .filter((row) => filters.every(({ bound, field, at }) => (bound === 'since' ? Date.parse(row[field]) >= at : Date.parse(row[field]) < at)))
    .filter((row) => cursor === undefined || BigInt(row.commissionId) > BigInt(cursor))
    .sort((a, b) => (BigInt(a.commissionId) < BigInt(b.commissionId) ? -1 : 1));
  const page = matching.slice(0, PAGE_SIZE);
  return { data: { publisherCommissions: { count: page.length, payloadComplete: matching.length <= PAGE_SIZE, maxCommissionId: page[page.length - 1]?.commissionId ?? null, records: page } } };
}

let server: Server;
let baseUrl: string;
let testDb: TestDatabase;
let harness: PullHarness;
let funnel: Funnel;

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      requests.push(body);
      if (request.headers.authorization !== `Bearer ${TOKEN}`) return void response.writeHead(401).end('Not Authenticated');
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer(body)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  testDb = await createTestDatabase();
  harness = await createPullHarness(testDb);
  funnel = await createFunnel(testDb.db);
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await harness.close();
  await testDb.drop();
});

beforeEach(() => {
  commissions = [];
  requests = [];
});

const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const DAY = 24 * 60;

/** An original commission (its own action) or, with `of`, a correction of one. */
function commission(id: string, clickId: string | null, amount: string, overrides: Partial<Commission> & { of?: string } = {}): Commission {
  const { of, ...rest } = overrides;
  return {
    commissionId: id, originalActionId: of ?? id, original: of === undefined, correctionReason: of === undefined ? null : 'RETURNED_MERCHANDISE',
    actionStatus: 'new', validationStatus: 'PENDING', actionType: 'item_sale', actionTrackerName: 'Advanced Sale Test', advertiserId: '3304249',
    advertiserName: 'Visit Canada', websiteName: 'Donuts and Denim', orderId: `ORDER-${of ?? id}`, shopperId: clickId,
    eventDate: ago(10 * DAY), postingDate: ago(60), lockingDate: ago(-30 * DAY), pubCommissionAmountPubCurrency: amount, pubCommissionAmountUsd: amount,
    items: [{ quantity: 1, perItemSaleAmountPubCurrency: '75.474', totalCommissionPubCurrency: amount }],
    ...rest,
  };
}

const connect = () =>
  createConnection(testDb.db, SECRET_KEY, { connector: 'cj', name: 'CJ stand-in', config: { publisher_id: PUBLISHER, api_token: TOKEN, currency: 'EUR', base_url: baseUrl }, lookback_days: 3 });
const pull = (connectionId: string) => runPull(harness.deps, { connectionId, trigger: 'manual' }, undefined, new AbortController().signal);
const conversions = (connectionId: string) => testDb.db('conversions').where({ connection_id: connectionId }).orderBy('txid');
const log = (connectionId: string, txid: string) => testDb.db('registration_log').where({ connection_id: connectionId, txid }).orderBy('id');

test('corrections arrive as new records and net into the original action\'s conversion, each visible in the log', async () => {
  const [clickId] = await createClicks(testDb.db, funnel.campaignId);
  const connection = await connect();
  // Posted an hour ago for an event ten days back: only the posting-date sweep finds it.
  commissions = [commission('2292067663', clickId!, '10.00')];
  expect(await pull(connection.id)).toMatchObject({ status: 'completed', stats: { inserted: 1, updated: 0 } });
  expect((await conversions(connection.id)).map((row) => [row.txid, row.payout, row.currency, row.status, row.network_status, row.type])).toEqual([
    ['2292067663', '10.000000', 'EUR', 'pending', 'new/PENDING', 'sale'],
  ]);

  // A partial return: a record of its own, negative, without the shopper ID, posted later.
  commissions.push(commission('2292067701', null, '-4.005', { of: '2292067663', postingDate: ago(30), validationStatus: 'ACCEPTED' }));
  expect(await pull(connection.id)).toMatchObject({ stats: { inserted: 0, updated: 1 } });
  let rows = await conversions(connection.id);
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ click_id: clickId, txid: '2292067663', payout: '5.995000', status: 'pending', network_status: 'new/ACCEPTED', type: 'sale' });

  // Nothing new: nothing logged.
  const logged = (await log(connection.id, '2292067663')).length;
  expect(await pull(connection.id)).toMatchObject({ stats: { inserted: 0, updated: 0, unchanged: 1 } });
  expect(await log(connection.id, '2292067663')).toHaveLength(logged);

  // A correction that changes neither the sum nor the status is still a record of its own: logged.
  // (Three records are two pages: the action is registered, unchanged, once per page.)
  commissions.push(commission('2292067702', null, '0.00', { of: '2292067663', postingDate: ago(20), validationStatus: 'ACCEPTED' }));
  expect(await pull(connection.id)).toMatchObject({ stats: { inserted: 0, updated: 0, unchanged: 2 } });

  // Locking: every record of the action locked.
  commissions = commissions.map((row) => ({ ...row, actionStatus: 'locked', validationStatus: 'ACCEPTED', lockingDate: ago(10) }));
  expect(await pull(connection.id)).toMatchObject({ stats: { updated: 1 } });
  rows = await conversions(connection.id);
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ payout: '5.995000', status: 'approved', network_status: 'locked/ACCEPTED', revision: 3 });

  const entries = await log(connection.id, '2292067663');
  expect(entries.map((row) => [row.outcome, row.reason])).toEqual([['accepted', null], ['updated', 'changed'], ['duplicate', 'unchanged'], ['updated', 'changed']]);
  const ids = (entry: { request: { records: { commissionId: string }[] } }) => entry.request.records.map((record) => record.commissionId);
  expect(ids(entries[1])).toContain('2292067701');
  expect(ids(entries[2])).toContain('2292067702');
  expect(entries[3].request.parts).toEqual([
    expect.objectContaining({ id: '2292067663', amount: '10.00', original: true, network_status: 'locked/ACCEPTED' }),
    expect.objectContaining({ id: '2292067701', amount: '-4.005', original: false }),
    expect.objectContaining({ id: '2292067702', amount: '0.00', original: false }),
  ]);
  // Paging went through sinceCommissionId (three records, two per page).
  expect(requests.some((body) => body.includes('sinceCommissionId: "2292067701"'))).toBe(true);
});

test('sums are exact decimals, a full reversal declines the conversion, and a correction seen first converges once the original arrives', async () => {
  const [a, b] = await createClicks(testDb.db, funnel.campaignId, 2);
  const connection = await connect();
  commissions = [
    commission('3000000001', a!, '0.1', { eventDate: ago(120), postingDate: ago(110) }),
    commission('3000000002', a!, '0.2', { of: '3000000001', eventDate: ago(120), postingDate: ago(100) }),
    // A correction whose original CJ posts later (or was posted before this connection's window).
    commission('3000000012', b!, '-7.50', { of: '3000000011', eventDate: ago(90), postingDate: ago(80), validationStatus: 'DECLINED' }),
  ];
  await pull(connection.id);
  let rows = await conversions(connection.id);
  expect(rows.map((row) => [row.txid, row.click_id, row.payout, row.status])).toEqual([
    ['3000000001', a, '0.300000', 'pending'],
    ['3000000011', b, '-7.500000', 'declined'],
  ]);

  commissions.push(commission('3000000011', b!, '7.50', { eventDate: ago(90), postingDate: ago(85) }));
  await pull(connection.id);
  rows = await conversions(connection.id);
  // The original is posted before its correction: the correction's DECLINED is still the latest word.
  expect(rows.map((row) => [row.txid, row.payout, row.status, row.network_status])).toEqual([
    ['3000000001', '0.300000', 'pending', 'new/PENDING'],
    ['3000000011', '0.000000', 'declined', 'new/DECLINED'],
  ]);
  const parts = await testDb.db('conversion_parts').where({ connection_id: connection.id }).orderBy('part_id');
  expect(parts.map((part) => [part.txid, part.part_id, part.amount, part.original])).toEqual([
    ['3000000001', '3000000001', '0.1', true],
    ['3000000001', '3000000002', '0.2', false],
    ['3000000011', '3000000011', '7.50', true],
    ['3000000011', '3000000012', '-7.50', false],
  ]);
});

test('a pull and a backfill adding parts of one action at the same time end with the sum of both', async () => {
  const [clickId] = await createClicks(testDb.db, funnel.campaignId);
  const connection = await connect();
  const part = (id: string, amount: string, original: boolean): NormalizedConversion => ({
    click_id: clickId!, txid: '6000000001', payout: amount, currency: 'EUR', status: 'pending', network_status: 'new/PENDING', type: 'sale',
    occurred_at: new Date(Date.now() - 3_600_000), raw: { commissionId: id }, part: { id, original, postedAt: new Date() },
  });
  const options = { source: 'api' as const, connectionId: connection.id, networkId: null, offerId: null, defaultType: null, logUnchanged: false };
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let stored!: () => void;
  const firstStored = new Promise<void>((resolve) => (stored = resolve));
  const first = transaction(testDb.db, async (trx) => {
    await registerPulledPage(harness.deps.registrar, trx, [part('6000000001', '10.00', true)], { ...options, transaction: trx });
    stored();
    await released;
  });
  await firstStored;
  const second = transaction(testDb.db, (trx) => registerPulledPage(harness.deps.registrar, trx, [part('6000000002', '-2.50', false)], { ...options, transaction: trx }));
  // Let the first commit only once the second is blocked on a lock the first holds.
  for (let waiting = false; !waiting; ) {
    const [row] = await query<{ waiting: number }>(
      testDb.db,
      `SELECT count(*)::int AS waiting FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE NOT l.granted AND a.datname = current_database()`,
    );
    waiting = (row?.waiting ?? 0) > 0;
    if (!waiting) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  release();
  await Promise.all([first, second]);
  const rows = await conversions(connection.id);
  expect(rows.map((row) => [row.txid, row.payout])).toEqual([['6000000001', '7.500000']]);
});

test('a part that cannot be stored is rejected alone, and parts in two currencies are refused with how to fix it', async () => {
  const [clickId] = await createClicks(testDb.db, funnel.campaignId);
  const connection = await connect();
  const part = (txid: string, id: string, amount: string, currency: string, original: boolean): NormalizedConversion => ({
    click_id: clickId!, txid, payout: amount, currency, status: 'pending', network_status: 'new/PENDING', type: 'sale',
    occurred_at: new Date(Date.now() - 3_600_000), raw: { commissionId: id }, part: { id, original, postedAt: new Date() },
  });
  const options = { source: 'api' as const, connectionId: connection.id, networkId: null, offerId: null, defaultType: null, logUnchanged: false };
  const register = (parts: NormalizedConversion[]) => transaction(testDb.db, (trx) => registerPulledPage(harness.deps.registrar, trx, parts, { ...options, transaction: trx }));

  const first = await register([part('7000000001', '7000000001', '5.00', 'EUR', true), part('7000000002', 'bad\u0000id', '1.00', 'EUR', true)]);
  expect(first.map((outcome) => [outcome.status, outcome.reason])).toEqual([['accepted', null], ['rejected', 'invalid_characters']]);
  // The currency changed: the stored EUR part and a USD correction cannot be summed.
  const second = await register([part('7000000001', '7000000003', '-1.00', 'USD', false)]);
  expect(second.map((outcome) => [outcome.status, outcome.reason])).toEqual([['rejected', 'mixed_currencies']]);
  expect((await conversions(connection.id)).map((row) => [row.txid, row.payout])).toEqual([['7000000001', '5.000000']]);
  const refused = await testDb.db('registration_log').where({ connection_id: connection.id, reason: 'mixed_currencies' });
  expect(refused).toEqual([expect.objectContaining({ txid: '7000000001', message: expect.stringMatching(/different currencies \(EUR, USD\).*backfill/) })]);
});

test('the connector is registered and its config refuses a non-numeric publisher ID', () => {
  expect(cjConnector.id).toBe('cj');
  return expect(createConnection(testDb.db, SECRET_KEY, { connector: 'cj', name: 'bad', config: { publisher_id: 'abc', api_token: TOKEN } })).rejects.toThrow(/numeric CJ company ID/);
});
