import { Registrar } from '../../src/pipeline/registrar';
import { auth, createTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createClicks, createFunnel } from '../support/fixtures';

/** DESIGN "Manual payout is assigned once": offer changes apply to future conversions only. */

let testDb: TestDatabase;
let registrar: Registrar;
let t: TestApp;

beforeAll(async () => {
  testDb = await createTestDatabase();
  registrar = new Registrar(testDb.db, { displayCurrency: 'USD', defaultCurrency: 'USD' });
  t = await createTestApp(testDb);
});

afterAll(async () => {
  await t.app.close();
  await testDb.drop();
});

const conversion = async (txid: string) => testDb.db('conversions').where({ txid }).first();

test('a re-sent or re-pulled conversion keeps the price it was registered with after the offer payout changes; new ones take the new price', async () => {
  const funnel = await createFunnel(testDb.db, { offer: { payout_mode: 'manual', payout: '10', currency: 'USD' } });
  const [old, fresh] = await createClicks(testDb.db, funnel.campaignId, 2);
  await registrar.register([{ fields: { click_id: old, txid: 'MP-1', payout: '7.00', status: 'pending' } }], { source: 'postback' });
  expect(await conversion('MP-1')).toMatchObject({ payout: '10.000000', reported_payout: '7.000000', status: 'pending' });

  const patched = await t.app.inject({ method: 'PATCH', url: `/api/v1/offers/${funnel.offerId}`, headers: auth, payload: { payout: '25.00', currency: 'EUR' } });
  expect(patched.json()).toMatchObject({ payout: '25.00', currency: 'EUR', payout_mode: 'manual' });

  // The same conversion again, now approved and with a new reported payout: status and reported
  // payout update, the price stays.
  const [again] = await registrar.register([{ fields: { click_id: old, txid: 'MP-1', payout: '8.00', status: 'approved' } }], { source: 'api', logUnchanged: false });
  expect(again).toMatchObject({ status: 'updated', reason: 'changed' });
  expect(await conversion('MP-1')).toMatchObject({ payout: '10.000000', currency: 'USD', reported_payout: '8.000000', status: 'approved', revision: 2 });
  // Exactly the same again: unchanged.
  const [same] = await registrar.register([{ fields: { click_id: old, txid: 'MP-1', payout: '8.00', status: 'approved' } }], { source: 'api' });
  expect(same).toMatchObject({ status: 'duplicate', reason: 'unchanged' });

  await registrar.register([{ fields: { click_id: fresh, txid: 'MP-2', payout: '7.00' } }], { source: 'postback' });
  expect(await conversion('MP-2')).toMatchObject({ payout: '25.000000', currency: 'EUR', reported_payout: '7.000000' });
});

test('a status-only report changes the status and nothing else', async () => {
  const funnel = await createFunnel(testDb.db, { offer: { payout_mode: 'manual', payout: '3.5' } });
  const [clickId] = await createClicks(testDb.db, funnel.campaignId);
  await registrar.register([{ fields: { click_id: clickId, txid: 'ST-1', payout: '1.00', status: 'pending' } }], { source: 'postback' });
  await t.app.inject({ method: 'PATCH', url: `/api/v1/offers/${funnel.offerId}`, headers: auth, payload: { payout: '99' } });
  const [declined] = await registrar.register([{ fields: { click_id: clickId, txid: 'ST-1', status: 'declined' } }], { source: 'postback' });
  expect(declined).toMatchObject({ status: 'updated', reason: 'changed' });
  expect(await conversion('ST-1')).toMatchObject({ payout: '3.500000', reported_payout: '1.000000', status: 'declined' });
});

test('switching an offer from manual to auto does not reprice its existing manual conversions', async () => {
  const funnel = await createFunnel(testDb.db, { offer: { payout_mode: 'manual', payout: '5' } });
  const [clickId] = await createClicks(testDb.db, funnel.campaignId);
  await registrar.register([{ fields: { click_id: clickId, txid: 'SW-1', payout: '1.00' } }], { source: 'postback' });
  await t.app.inject({ method: 'PATCH', url: `/api/v1/offers/${funnel.offerId}`, headers: auth, payload: { payout_mode: 'auto' } });
  // In auto mode a later report's payout is the payout: the reported amount is what the network pays.
  await registrar.register([{ fields: { click_id: clickId, txid: 'SW-2', payout: '1.00' } }], { source: 'postback' });
  expect((await conversion('SW-1')).payout).toBe('5.000000');
  expect((await conversion('SW-2')).payout).toBe('1.000000');
  // The manually priced conversion reported again (approved, another amount): its status and
  // reported payout follow the report, its price stays the one it was assigned.
  const [again] = await registrar.register([{ fields: { click_id: clickId, txid: 'SW-1', payout: '1.50', status: 'approved' } }], { source: 'api' });
  expect(again).toMatchObject({ status: 'updated', reason: 'changed' });
  expect(await conversion('SW-1')).toMatchObject({ payout: '5.000000', reported_payout: '1.500000', status: 'approved', priced_manually: true });
  expect(await conversion('SW-2')).toMatchObject({ priced_manually: false });
  const shown = await t.app.inject({ method: 'GET', url: `/api/v1/conversions?click_id=${clickId}`, headers: auth });
  expect(shown.json().items.map((row: { txid: string; payout: string; priced_manually: boolean }) => [row.txid, row.payout, row.priced_manually]).sort()).toEqual([
    ['SW-1', '5.00', true],
    ['SW-2', '1.00', false],
  ]);
});

test("an auto offer's new currency applies to future conversions only; a report that names its currency is the network's word", async () => {
  const funnel = await createFunnel(testDb.db, { offer: { payout_mode: 'auto', currency: 'USD' } });
  const [old, fresh] = await createClicks(testDb.db, funnel.campaignId, 2);
  await registrar.register([{ fields: { click_id: old, txid: 'CUR-1', payout: '7.00', status: 'pending' } }], { source: 'api' });
  expect(await conversion('CUR-1')).toMatchObject({ payout: '7.000000', currency: 'USD', reported_currency: 'USD' });

  const patched = await t.app.inject({ method: 'PATCH', url: `/api/v1/offers/${funnel.offerId}`, headers: auth, payload: { currency: 'EUR' } });
  expect(patched.json()).toMatchObject({ currency: 'EUR' });
  // Re-pulled, approved, the amount restated: still dollars, as the conversion was registered.
  const [repulled] = await registrar.register([{ fields: { click_id: old, txid: 'CUR-1', payout: '7.50', status: 'approved' } }], { source: 'api' });
  expect(repulled).toMatchObject({ status: 'updated', reason: 'changed' });
  expect(await conversion('CUR-1')).toMatchObject({ payout: '7.500000', currency: 'USD', reported_payout: '7.500000', reported_currency: 'USD', status: 'approved' });
  const [same] = await registrar.register([{ fields: { click_id: old, txid: 'CUR-1', payout: '7.50', status: 'approved' } }], { source: 'api' });
  expect(same).toMatchObject({ status: 'duplicate', reason: 'unchanged' });

  await registrar.register([{ fields: { click_id: fresh, txid: 'CUR-2', payout: '7.00' } }], { source: 'api' });
  expect(await conversion('CUR-2')).toMatchObject({ payout: '7.000000', currency: 'EUR' });

  // A report naming its currency is taken as it says.
  await registrar.register([{ fields: { click_id: old, txid: 'CUR-1', payout: '6.00', payout_currency: 'GBP', status: 'approved' } }], { source: 'api' });
  expect(await conversion('CUR-1')).toMatchObject({ payout: '6.000000', currency: 'GBP', reported_currency: 'GBP' });
});

test('the accept policy counts each txid-less conversion; a later one with a txid adopts one of them instead of counting again', async () => {
  const funnel = await createFunnel(testDb.db, { network: { duplicate_policy: 'accept' } });
  const [clickId] = await createClicks(testDb.db, funnel.campaignId);
  const first = await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&payout=2.00` });
  const second = await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&payout=2.00` });
  expect([first.json().status, second.json().status]).toEqual(['accepted', 'accepted']);
  expect(await testDb.db('conversions').where({ click_id: clickId })).toHaveLength(2);
  // The network's API then reports one of them with its txid: it adopts a txid-less row.
  const [pulled] = await registrar.register([{ fields: { click_id: clickId, txid: 'ACC-1', payout: '2.00' } }], { source: 'api' });
  expect(pulled).toMatchObject({ status: 'updated', reason: 'adopted' });
  const rows = await testDb.db('conversions').where({ click_id: clickId }).orderBy('id');
  expect(rows.map((row) => row.txid)).toEqual(['ACC-1', null]);
  // Re-pulling it changes nothing.
  const [again] = await registrar.register([{ fields: { click_id: clickId, txid: 'ACC-1', payout: '2.00' } }], { source: 'api' });
  expect(again).toMatchObject({ status: 'duplicate', reason: 'unchanged' });
});

test('PATCH /api/v1/offers answers what was wrong', async () => {
  const funnel = await createFunnel(testDb.db);
  const noPayout = await t.app.inject({ method: 'PATCH', url: `/api/v1/offers/${funnel.offerId}`, headers: auth, payload: { payout_mode: 'manual' } });
  expect([noPayout.statusCode, noPayout.json().error.message]).toEqual([400, expect.stringMatching(/payout is required when payout_mode is "manual"/)]);
  const empty = await t.app.inject({ method: 'PATCH', url: `/api/v1/offers/${funnel.offerId}`, headers: auth, payload: {} });
  expect(empty.statusCode).toBe(400);
  const missing = await t.app.inject({ method: 'PATCH', url: '/api/v1/offers/00000000-0000-4000-8000-000000000000', headers: auth, payload: { name: 'x' } });
  expect(missing.statusCode).toBe(404);
  const bad = await t.app.inject({ method: 'PATCH', url: `/api/v1/offers/${funnel.offerId}`, headers: auth, payload: { payout: '1.2.3' } });
  expect([bad.statusCode, bad.json().error.message]).toEqual([400, expect.stringMatching(/not a decimal number/)]);
  // A JSON number is read as its exact digits (lossless), never through a binary float.
  const exact = await t.app.inject({ method: 'PATCH', url: `/api/v1/offers/${funnel.offerId}`, headers: { ...auth, 'content-type': 'application/json' }, payload: '{"payout": 0.1000000000000000055511151231257827}' });
  expect(exact.statusCode).toBe(400);
  expect(exact.json().error.message).toMatch(/more than 6 decimal places/);
});

test('reports of one conversion within one batch apply in order: (pending, approved, pending) ends pending', async () => {
  const funnel = await createFunnel(testDb.db);
  const [clickId] = await createClicks(testDb.db, funnel.campaignId);
  const report = (status: string) => ({ fields: { click_id: clickId, txid: 'ABA-1', status, payout: '2.00' } });
  const outcomes = await registrar.register([report('pending'), report('approved'), report('pending'), report('pending')], { source: 'postback' });
  expect(outcomes.map((outcome) => [outcome.status, outcome.reason])).toEqual([
    ['accepted', null],
    ['updated', 'changed'],
    ['updated', 'changed'],
    ['duplicate', 'unchanged'],
  ]);
  expect((await conversion('ABA-1')).status).toBe('pending');
});
