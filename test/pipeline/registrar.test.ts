import { Registrar } from '../../src/pipeline/registrar';
import type { RegistrationInput, Source } from '../../src/pipeline/types';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createClicks, createFunnel, type Funnel } from '../support/fixtures';

let testDb: TestDatabase;
let registrar: Registrar;
let funnel: Funnel;

beforeAll(async () => {
  testDb = await createTestDatabase();
  registrar = new Registrar(testDb.db, { displayCurrency: 'USD', defaultCurrency: 'USD' });
  funnel = await createFunnel(testDb.db);
});

afterAll(async () => {
  await testDb.drop();
});

const one = (fields: Record<string, unknown>, request?: unknown): RegistrationInput[] => [{ fields, request }];

async function registerOne(fields: Record<string, unknown>, source: Source = 'postback', extra: Partial<Parameters<Registrar['register']>[1]> = {}) {
  const [outcome] = await registrar.register(one(fields), { source, ...extra });
  if (!outcome) throw new Error('no outcome');
  return outcome;
}

async function conversionsOf(clickId: string) {
  return testDb.db('conversions').where({ click_id: clickId }).orderBy('id');
}

async function logOf(clickId: string) {
  return testDb.db('registration_log').where({ click_id: clickId }).orderBy('id');
}

describe('step 1: normalize and validate', () => {
  test('accepts a conversion and stores payout as an exact decimal', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    const outcome = await registerOne({ click_id: clickId, payout: '12.345678', txid: 'T1' });
    expect(outcome).toMatchObject({ status: 'accepted', reason: null, clickId });
    expect(outcome.conversionId).toMatch(/^\d+$/);
    const [row] = await conversionsOf(clickId!);
    expect(row).toMatchObject({ payout: '12.345678', currency: 'USD', type: 'conversion', status: 'approved', txid: 'T1', source: 'postback' });
  });

  test('matches click ids case-insensitively and reads cf_click_id and cid', async () => {
    const clicks = await createClicks(testDb.db, funnel.campaignId, 3);
    expect((await registerOne({ click_id: clicks[0]!.toUpperCase() })).status).toBe('accepted');
    expect((await registerOne({ cf_click_id: clicks[1] })).status).toBe('accepted');
    expect((await registerOne({ cid: ` ${clicks[2]} ` })).status).toBe('accepted');
    expect(await conversionsOf(clicks[0]!)).toHaveLength(1);
  });

  test.each(['{clickid}', '{cf_click_id}', '#s2#', '[CLICKID]', '%s2%', 'REPLACE', 'OPTIONAL', '{{click_id}}', '$clickid$', '!!!clickRef!!!'])(
    'rejects the unreplaced macro %s with reason unreplaced_macro and keeps the raw input',
    async (macro) => {
      const request = { method: 'GET', query: { click_id: macro, payout: '5' } };
      const [outcome] = await registrar.register([{ fields: { click_id: macro, payout: '5' }, request }], { source: 'postback' });
      expect(outcome).toMatchObject({ status: 'rejected', reason: 'unreplaced_macro' });
      expect(outcome?.message).toMatch(/unreplaced macro/);
      const [logged] = await testDb.db('registration_log').whereRaw("request->'query'->>'click_id' = ?", [macro]).orderBy('id', 'desc').limit(1);
      expect(logged).toMatchObject({ outcome: 'rejected', reason: 'unreplaced_macro', request });
    },
  );

  test('rejects a missing or malformed click id with a reason', async () => {
    expect(await registerOne({ payout: '1' })).toMatchObject({ status: 'rejected', reason: 'missing_click_id' });
    expect(await registerOne({ click_id: 'abc def' })).toMatchObject({ status: 'rejected', reason: 'invalid_click_id' });
    expect(await registerOne({ click_id: 'x'.repeat(65) })).toMatchObject({ status: 'rejected', reason: 'invalid_click_id' });
  });

  test.each([
    ['abc', 'invalid_payout'],
    ['1e5', 'invalid_payout'],
    ['1,50', 'invalid_payout'],
    ['1.1234567', 'invalid_payout'],
    ['123456789012345', 'invalid_payout'],
  ])('rejects payout %s', async (payout, reason) => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    expect(await registerOne({ click_id: clickId, payout })).toMatchObject({ status: 'rejected', reason, clickId });
    expect(await conversionsOf(clickId!)).toHaveLength(0);
  });

  test('rejects a payout that arrived as a binary float rather than guessing its digits', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    const outcome = await registerOne({ click_id: clickId, payout: 12.5 });
    expect(outcome).toMatchObject({ status: 'rejected', reason: 'invalid_payout' });
    expect(outcome.message).toMatch(/decimal string/);
  });

  test('treats a placeholder in an optional field as absent and says so in the log', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    const outcome = await registerOne({ click_id: clickId, payout: '{payout}', txid: 'OPTIONAL' });
    expect(outcome.status).toBe('accepted');
    expect(outcome.warnings).toEqual([
      'payout "{payout}" looks like an unreplaced macro and was ignored',
      'txid "OPTIONAL" looks like an unreplaced macro and was ignored',
    ]);
    const [row] = await conversionsOf(clickId!);
    expect(row).toMatchObject({ txid: null, payout: '0.000000' });
    const [logged] = await logOf(clickId!);
    expect(logged.warnings).toHaveLength(2);
  });

  test.each([
    ['currency', { payout_currency: 'XYZ' }, 'invalid_currency'],
    ['status', { status: 'maybe' }, 'invalid_status'],
    ['timestamp without offset', { timestamp: '2025-10-02T14:30:00' }, 'invalid_timestamp'],
    ['timestamp garbage', { timestamp: 'yesterday' }, 'invalid_timestamp'],
    ['timestamp in the future', { timestamp: String(Math.floor(Date.now() / 1000) + 3 * 86400) }, 'invalid_timestamp'],
    ['type', { ct: 'Sale Now!' }, 'invalid_conversion_type'],
    ['txid', { txid: 't'.repeat(256) }, 'invalid_txid'],
  ])('rejects an invalid %s', async (_label, fields, reason) => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    const outcome = await registerOne({ click_id: clickId, ...fields });
    expect(outcome).toMatchObject({ status: 'rejected', reason });
    expect(outcome.message?.length).toBeGreaterThan(10);
  });

  test('reads ISO 8601 with offset and unix seconds; keeps the visit time of the click', async () => {
    const visitedAt = new Date('2025-10-01T08:00:00Z');
    const clicks = await createClicks(testDb.db, funnel.campaignId, 2, visitedAt);
    await registerOne({ click_id: clicks[0], timestamp: '2025-10-02T14:30:00+02:00' });
    await registerOne({ click_id: clicks[1], timestamp: '1759408200' });
    const [first] = await conversionsOf(clicks[0]!);
    const [second] = await conversionsOf(clicks[1]!);
    expect(first.occurred_at.toISOString()).toBe('2025-10-02T12:30:00.000Z');
    expect(second.occurred_at.toISOString()).toBe('2025-10-02T12:30:00.000Z');
    expect(first.visit_at.toISOString()).toBe(visitedAt.toISOString());
  });

  test('uses the receipt time when no timestamp is given', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    const receivedAt = new Date('2026-01-15T10:00:00.000Z');
    await registrar.register(one({ click_id: clickId }), { source: 'postback', receivedAt });
    const [row] = await conversionsOf(clickId!);
    expect(row.occurred_at.toISOString()).toBe(receivedAt.toISOString());
    expect(row.received_at.toISOString()).toBe(receivedAt.toISOString());
  });

  test('keeps param1..param20 and lower-cases the conversion type', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    const params = Object.fromEntries(Array.from({ length: 20 }, (_, index) => [`param${index + 1}`, `v${index + 1}`]));
    await registerOne({ click_id: clickId, ct: 'SALE', ...params, param21: 'dropped' });
    const [row] = await conversionsOf(clickId!);
    expect(row.type).toBe('sale');
    expect(row.params).toEqual(params);
  });

  test('adds a conversion type it has not seen before', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    expect((await registerOne({ click_id: clickId, ct: 'phone_call' })).status).toBe('accepted');
    const type = await testDb.db('conversion_types').where({ name: 'phone_call' }).first();
    expect(type).toMatchObject({ include_in_conversions: true, include_in_revenue: true, sign: 1 });
  });
});

describe('step 2: match the click', () => {
  test('rejects an unknown click id and keeps the input for re-matching', async () => {
    const fields = { click_id: 'NOSUCHCLICK123', payout: '3.00', txid: 'late-1' };
    const outcome = await registerOne(fields);
    expect(outcome).toMatchObject({ status: 'rejected', reason: 'unknown_click_id', clickId: 'nosuchclick123' });
    const [logged] = await logOf('nosuchclick123');
    expect(logged).toMatchObject({ outcome: 'rejected', reason: 'unknown_click_id', fields, txid: 'late-1' });
  });
});

describe('steps 3 and 4: payout and currency', () => {
  test('a manual offer payout replaces the reported payout, which is kept', async () => {
    const manual = await createFunnel(testDb.db, { offer: { payout_mode: 'manual', payout: '7.50', currency: 'EUR' } });
    const [clickId] = await createClicks(testDb.db, manual.campaignId);
    await registerOne({ click_id: clickId, payout: '10', payout_currency: 'GBP' });
    const [row] = await conversionsOf(clickId!);
    expect(row).toMatchObject({ payout: '7.500000', currency: 'EUR', reported_payout: '10.000000', reported_currency: 'GBP' });
  });

  test('auto mode without a payout records 0', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    await registerOne({ click_id: clickId });
    const [row] = await conversionsOf(clickId!);
    expect(row).toMatchObject({ payout: '0.000000', reported_payout: null });
  });

  test('currency precedence: payout_currency > offer > network > account default', async () => {
    const both = await createFunnel(testDb.db, { network: { currency: 'GBP' }, offer: { currency: 'EUR' } });
    const networkOnly = await createFunnel(testDb.db, { network: { currency: 'GBP' } });
    const neither = await createFunnel(testDb.db);
    const [a, b] = await createClicks(testDb.db, both.campaignId, 2);
    const [c] = await createClicks(testDb.db, networkOnly.campaignId);
    const [d] = await createClicks(testDb.db, neither.campaignId);
    await registerOne({ click_id: a, payout: '1', payout_currency: 'jpy' });
    await registerOne({ click_id: b, payout: '1' });
    await registerOne({ click_id: c, payout: '1' });
    const defaultEur = new Registrar(testDb.db, { displayCurrency: 'USD', defaultCurrency: 'CHF' });
    await defaultEur.register(one({ click_id: d, payout: '1' }), { source: 'postback' });
    expect((await conversionsOf(a!))[0].currency).toBe('JPY');
    expect((await conversionsOf(b!))[0].currency).toBe('EUR');
    expect((await conversionsOf(c!))[0].currency).toBe('GBP');
    expect((await conversionsOf(d!))[0].currency).toBe('CHF');
  });

  test('snapshots the display amount with the rate of the conversion date; later display-currency changes do not rewrite it', async () => {
    await testDb.db('fx_rates').insert([
      { rate_date: '2025-03-01', base: 'USD', quote: 'EUR', rate: '0.900000' },
      { rate_date: '2025-03-10', base: 'USD', quote: 'EUR', rate: '0.800000' },
      { rate_date: '2025-03-10', base: 'USD', quote: 'GBP', rate: '0.700000' },
    ]);
    const [onFirst, onFifth, onTenth, cross] = await createClicks(testDb.db, funnel.campaignId, 4, new Date('2025-02-28T00:00:00Z'));
    await registerOne({ click_id: onFirst, payout: '9', payout_currency: 'EUR', timestamp: '2025-03-01T12:00:00Z' });
    await registerOne({ click_id: onFifth, payout: '9', payout_currency: 'EUR', timestamp: '2025-03-05T12:00:00Z' });
    await registerOne({ click_id: onTenth, payout: '8', payout_currency: 'EUR', timestamp: '2025-03-10T12:00:00Z' });
    const inEuro = new Registrar(testDb.db, { displayCurrency: 'EUR', defaultCurrency: 'USD' });
    await inEuro.register(one({ click_id: cross, payout: '7', payout_currency: 'GBP', timestamp: '2025-03-10T12:00:00Z' }), { source: 'postback' });

    const first = (await conversionsOf(onFirst!))[0];
    expect(first).toMatchObject({ display_currency: 'USD', display_payout: '10.000000', fx_rate: '1.111111111111' });
    // No rate on the 5th: the latest earlier one (the 1st) applies.
    expect((await conversionsOf(onFifth!))[0]).toMatchObject({ display_payout: '10.000000' });
    expect((await conversionsOf(onTenth!))[0]).toMatchObject({ display_payout: '10.000000', fx_rate: '1.250000000000' });
    // GBP -> EUR through the common USD base: 7 GBP = 10 USD = 8 EUR.
    expect((await conversionsOf(cross!))[0]).toMatchObject({ display_currency: 'EUR', display_payout: '8.000000' });
    // The USD rows kept their snapshot although another registrar now displays in EUR.
    expect((await conversionsOf(onFirst!))[0]).toMatchObject({ display_currency: 'USD', display_payout: '10.000000' });
  });

  test('leaves the display amount empty when no rate is known yet', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    expect((await registerOne({ click_id: clickId, payout: '5', payout_currency: 'SEK' })).status).toBe('accepted');
    expect((await conversionsOf(clickId!))[0]).toMatchObject({ currency: 'SEK', display_payout: null, fx_rate: null });
  });
});

describe('step 5: deduplicate and upsert', () => {
  test('with txid: the same again is a duplicate; a changed payout or status is an update', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    const first = await registerOne({ click_id: clickId, txid: 'ORD-1', payout: '10', status: 'pending' });
    expect(first.status).toBe('accepted');
    expect(await registerOne({ click_id: clickId, txid: 'ORD-1', payout: '10', status: 'pending' })).toMatchObject({ status: 'duplicate', reason: 'unchanged', conversionId: first.conversionId });
    expect(await registerOne({ click_id: clickId, txid: 'ORD-1', payout: '10', status: 'approved' })).toMatchObject({ status: 'updated', reason: 'changed', conversionId: first.conversionId });
    expect(await registerOne({ click_id: clickId, txid: 'ORD-1', payout: '12.50' })).toMatchObject({ status: 'updated', conversionId: first.conversionId });
    const rows = await conversionsOf(clickId!);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'approved', payout: '12.500000', revision: 3 });
  });

  test('an update without payout or status keeps the stored ones', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    await registerOne({ click_id: clickId, txid: 'K', payout: '10', status: 'pending', payout_currency: 'EUR' });
    expect((await registerOne({ click_id: clickId, txid: 'K', status: 'declined' })).status).toBe('updated');
    expect((await conversionsOf(clickId!))[0]).toMatchObject({ status: 'declined', payout: '10.000000', currency: 'EUR' });
    expect((await registerOne({ click_id: clickId, txid: 'K' })).status).toBe('duplicate');
  });

  test('a refund that reuses the sale txid is a row of its own', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    await registerOne({ click_id: clickId, txid: 'R1', ct: 'sale', payout: '20' });
    expect((await registerOne({ click_id: clickId, txid: 'R1', ct: 'refund', payout: '20' })).status).toBe('accepted');
    expect((await conversionsOf(clickId!)).map((row) => row.type)).toEqual(['sale', 'refund']);
    const refund = await testDb.db('conversion_types').where({ name: 'refund' }).first();
    expect(refund.sign).toBe(-1);
  });

  test('different txids on one click are separate conversions (upsells)', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    await registerOne({ click_id: clickId, txid: 'A', ct: 'sale' });
    await registerOne({ click_id: clickId, txid: 'B', ct: 'sale' });
    expect(await conversionsOf(clickId!)).toHaveLength(2);
  });

  test('without txid, policy ignore: one per click and type', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    expect((await registerOne({ click_id: clickId, payout: '5' })).status).toBe('accepted');
    expect(await registerOne({ click_id: clickId, payout: '6' })).toMatchObject({ status: 'duplicate', reason: 'duplicate_policy' });
    expect((await registerOne({ click_id: clickId, payout: '6', ct: 'lead' })).status).toBe('accepted');
    const rows = await conversionsOf(clickId!);
    expect(rows.map((row) => [row.type, row.payout])).toEqual([['conversion', '5.000000'], ['lead', '6.000000']]);
  });

  test('without txid, policy accept: each counts', async () => {
    const accepting = await createFunnel(testDb.db, { network: { duplicate_policy: 'accept' } });
    const [clickId] = await createClicks(testDb.db, accepting.campaignId);
    for (let index = 0; index < 3; index += 1) expect((await registerOne({ click_id: clickId, payout: '5' })).status).toBe('accepted');
    expect(await conversionsOf(clickId!)).toHaveLength(3);
  });

  test('without txid, policy update: latest wins', async () => {
    const updating = await createFunnel(testDb.db, { network: { duplicate_policy: 'update' } });
    const [clickId] = await createClicks(testDb.db, updating.campaignId);
    await registerOne({ click_id: clickId, payout: '5', status: 'pending' });
    expect((await registerOne({ click_id: clickId, payout: '7', status: 'approved' })).status).toBe('updated');
    expect((await registerOne({ click_id: clickId, payout: '7', status: 'approved' })).status).toBe('duplicate');
    const rows = await conversionsOf(clickId!);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ payout: '7.000000', status: 'approved' });
  });

  test('a conversion with txid adopts the txid-less conversion another route registered', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    const postback = await registerOne({ click_id: clickId, payout: '10', ct: 'sale' }, 'postback');
    const pulled = await registerOne({ click_id: clickId, txid: 'EF-77', payout: '10', ct: 'sale', status: 'approved' }, 'api');
    expect(pulled).toMatchObject({ status: 'updated', reason: 'adopted', conversionId: postback.conversionId });
    expect(await registerOne({ click_id: clickId, txid: 'EF-77', payout: '10', ct: 'sale' }, 'api')).toMatchObject({ status: 'duplicate' });
    const rows = await conversionsOf(clickId!);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ txid: 'EF-77', source: 'postback' });
  });

  test('the same route with and without txid does not adopt', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    await registerOne({ click_id: clickId, ct: 'sale' }, 'postback');
    expect((await registerOne({ click_id: clickId, txid: 'X1', ct: 'sale' }, 'postback')).status).toBe('accepted');
    expect(await conversionsOf(clickId!)).toHaveLength(2);
  });

  test('a txid-less report after a pulled conversion with txid is a duplicate under ignore', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    await registerOne({ click_id: clickId, txid: 'EF-1', ct: 'sale', payout: '4' }, 'api');
    expect(await registerOne({ click_id: clickId, ct: 'sale', payout: '4' }, 'postback')).toMatchObject({ status: 'duplicate', reason: 'duplicate_policy' });
    expect(await conversionsOf(clickId!)).toHaveLength(1);
  });

  test('the same conversion twice in one batch: accepted, then duplicate; a later change in the batch is an update', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    const outcomes = await registrar.register(
      [
        { fields: { click_id: clickId, txid: 'B1', payout: '5', status: 'pending' } },
        { fields: { click_id: clickId, txid: 'B1', payout: '5', status: 'pending' } },
        { fields: { click_id: clickId, txid: 'B1', payout: '5', status: 'approved' } },
      ],
      { source: 'api' },
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['accepted', 'duplicate', 'updated']);
    const rows = await conversionsOf(clickId!);
    expect(rows).toHaveLength(1);
    expect(rows[0].status).toBe('approved');
  });
});

describe('step 6: the registration log', () => {
  test('records every attempt with its outcome, reason and raw input', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    const request = { method: 'GET', query: { click_id: clickId, payout: '1' }, ip: '203.0.113.9' };
    await registrar.register([{ fields: { click_id: clickId, payout: '1' }, request }], { source: 'postback' });
    await registrar.register([{ fields: { click_id: clickId, payout: '1' }, request }], { source: 'postback' });
    const log = await logOf(clickId!);
    expect(log.map((row) => [row.outcome, row.reason])).toEqual([['accepted', null], ['duplicate', 'duplicate_policy']]);
    expect(log[0].request).toEqual(request);
    expect(log[0].conversion_id).toBe(log[1].conversion_id);
  });

  test('logUnchanged=false leaves unchanged re-reads out of the log but keeps changes', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    const options = { source: 'api' as const, logUnchanged: false };
    await registrar.register(one({ click_id: clickId, txid: 'P', payout: '1', status: 'pending' }), options);
    await registrar.register(one({ click_id: clickId, txid: 'P', payout: '1', status: 'pending' }), options);
    await registrar.register(one({ click_id: clickId, txid: 'P', payout: '1', status: 'approved' }), options);
    expect((await logOf(clickId!)).map((row) => row.outcome)).toEqual(['accepted', 'updated']);
  });

  test('a dry run answers every input and stores nothing', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    const outcomes = await registrar.register(
      [{ fields: { click_id: clickId, ct: 'brand_new_type' } }, { fields: { click_id: 'unknown-click' } }],
      { source: 'upload', dryRun: true },
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['accepted', 'rejected']);
    expect(await conversionsOf(clickId!)).toHaveLength(0);
    expect(await logOf(clickId!)).toHaveLength(0);
    expect(await testDb.db('conversion_types').where({ name: 'brand_new_type' })).toHaveLength(0);
    // The type was rolled back, so a real registration must create it again.
    expect((await registerOne({ click_id: clickId, ct: 'brand_new_type' })).status).toBe('accepted');
  });
});

describe('batches', () => {
  test('a mixed batch registers the good rows and rejects the bad ones, in input order', async () => {
    const clicks = await createClicks(testDb.db, funnel.campaignId, 3);
    const outcomes = await registrar.register(
      [
        { fields: { click_id: clicks[0], payout: '1.10' } },
        { fields: { click_id: '{clickid}' } },
        { fields: { click_id: clicks[1], payout: 'ten' } },
        { fields: { click_id: 'not-a-click' } },
        { fields: { click_id: clicks[2], payout: '3.30', ct: 'lead' } },
      ],
      { source: 'upload' },
    );
    expect(outcomes.map((outcome) => [outcome.status, outcome.reason])).toEqual([
      ['accepted', null],
      ['rejected', 'unreplaced_macro'],
      ['rejected', 'invalid_payout'],
      ['rejected', 'unknown_click_id'],
      ['accepted', null],
    ]);
    expect(await conversionsOf(clicks[0]!)).toHaveLength(1);
    expect(await conversionsOf(clicks[1]!)).toHaveLength(0);
    expect(await conversionsOf(clicks[2]!)).toHaveLength(1);
  });

  test('uses a constant number of statements whatever the batch size', async () => {
    const statements: string[] = [];
    const counting = new Registrar(testDb.db, { displayCurrency: 'USD', defaultCurrency: 'USD', onStatement: (name) => statements.push(name) });
    const count = async (size: number): Promise<string[]> => {
      const clicks = await createClicks(testDb.db, funnel.campaignId, size);
      statements.length = 0;
      await counting.register(
        clicks.map((clickId, index) => ({ fields: { click_id: clickId, txid: `S${index}`, payout: '1' } })),
        { source: 'api' },
      );
      return [...statements];
    };
    await count(1); // loads the known conversion types once
    const small = await count(5);
    const large = await count(2000);
    // One click lookup and one upsert-and-log statement, whatever the size (plus BEGIN/COMMIT).
    expect(small).toEqual(['tally_lock_clicks_v2', 'tally_upsert_and_log_v10']);
    expect(large).toEqual(small);
  });
});

describe('concurrency', () => {
  test('20 parallel registrations of the same conversion produce exactly one row', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () => registerOne({ click_id: clickId, txid: 'SAME', payout: '9.99' })),
    );
    expect(outcomes.filter((outcome) => outcome.status === 'accepted')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome.status === 'duplicate')).toHaveLength(19);
    expect(new Set(outcomes.map((outcome) => outcome.conversionId)).size).toBe(1);
    expect(await conversionsOf(clickId!)).toHaveLength(1);
    expect(await logOf(clickId!)).toHaveLength(20);
  });

  test('20 parallel txid-less registrations under ignore produce exactly one row', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => registerOne({ click_id: clickId, payout: '1' })));
    expect(outcomes.filter((outcome) => outcome.status === 'accepted')).toHaveLength(1);
    expect(await conversionsOf(clickId!)).toHaveLength(1);
  });

  test('a postback without txid racing a pull with txid still ends as one conversion', async () => {
    for (let round = 0; round < 5; round += 1) {
      const [clickId] = await createClicks(testDb.db, funnel.campaignId);
      await Promise.all([
        ...Array.from({ length: 5 }, () => registerOne({ click_id: clickId, ct: 'sale', payout: '2' }, 'postback')),
        ...Array.from({ length: 5 }, () => registerOne({ click_id: clickId, ct: 'sale', payout: '2', txid: 'PULL-1' }, 'api')),
      ]);
      const rows = await conversionsOf(clickId!);
      expect(rows).toHaveLength(1);
    }
  });
});
