import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { query, transaction } from '../../src/db/sql';
import { Registrar } from '../../src/pipeline/registrar';
import type { RegistrationInput } from '../../src/pipeline/types';
import { uploadCsv, type UploadLineResult } from '../../src/upload/csv-upload';
import { auth, createTestApp, type TestApp } from '../support/app';
import { runCli } from '../support/cli';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createClicks, createFunnel, type Funnel } from '../support/fixtures';

/**
 * "One input never costs another" on every route: a batch that carries a hostile or broken input
 * registers every valid input beside it and rejects that one alone, with its reason.
 *
 * Poisons used:
 *  - NUL in a free-text field (param1) and a lone surrogate in the raw request: Postgres cannot
 *    store either; replaced, the conversion registers with a warning.
 *  - NUL in the click ID: rejected `invalid_characters`.
 *  - A payout that converts to a display amount too large for NUMERIC(20,6) (an absurd FX rate):
 *    valid by every check before the database, it fails the batch statement itself, so the batch
 *    is split until it is alone and rejected `storage_error`.
 */

let testDb: TestDatabase;
let funnel: Funnel;
let registrar: Registrar;
const VALID = 300;

beforeAll(async () => {
  testDb = await createTestDatabase();
  funnel = await createFunnel(testDb.db);
  registrar = new Registrar(testDb.db, { displayCurrency: 'USD', defaultCurrency: 'USD' });
  // 1 IDR = 999,999,999,999 USD: a data-entry mistake that makes large IDR payouts overflow.
  await query(testDb.db, "INSERT INTO fx_rates (rate_date, base, quote, rate) VALUES ('2020-01-01', 'IDR', 'USD', 999999999999)");
});

afterAll(async () => {
  await testDb.drop();
});

const overflow = (clickId: string, txid: string) => ({ click_id: clickId, txid, payout: '99999999999999', payout_currency: 'IDR' });

async function poisonedBatch(prefix: string): Promise<{ inputs: RegistrationInput[]; valid: string[]; poisons: { nulParam: number; surrogate: number; nulClick: number; overflow: number } }> {
  const clicks = await createClicks(testDb.db, funnel.campaignId, VALID + 4);
  const inputs: RegistrationInput[] = clicks.slice(0, VALID).map((clickId, index) => ({ fields: { click_id: clickId, txid: `${prefix}-${index}`, payout: '1.25' } }));
  const poisons = { nulParam: 37, surrogate: 111, nulClick: 150, overflow: 222 };
  inputs.splice(poisons.nulParam, 0, { fields: { click_id: clicks[VALID], txid: `${prefix}-nul-param`, param1: 'a\u0000b' } });
  inputs.splice(poisons.surrogate, 0, { fields: { click_id: clicks[VALID + 1], txid: `${prefix}-surrogate` }, request: { note: 'broken \ud800 text', ['key\u0000']: 1 } });
  inputs.splice(poisons.nulClick, 0, { fields: { click_id: `${clicks[VALID + 2]}\u0000`, txid: `${prefix}-nul-click` } });
  inputs.splice(poisons.overflow, 0, { fields: overflow(clicks[VALID + 3] as string, `${prefix}-overflow`) });
  return { inputs, valid: clicks.slice(0, VALID), poisons };
}

async function countConversions(txidPrefix: string): Promise<number> {
  const [row] = await query<{ n: string }>(testDb.db, 'SELECT count(*)::text AS n FROM conversions WHERE txid LIKE $1', [`${txidPrefix}-%`]);
  return Number(row?.n);
}

test('pipeline batch in its own transaction: the valid inputs commit, each poison is answered alone', async () => {
  const { inputs, poisons } = await poisonedBatch('own');
  const outcomes = await registrar.register(inputs, { source: 'postback' });
  expect(outcomes).toHaveLength(VALID + 4);
  const byIndex = (index: number) => outcomes[index];
  expect(byIndex(poisons.nulParam)).toMatchObject({ status: 'accepted' });
  expect(byIndex(poisons.nulParam)?.warnings.join(' ')).toMatch(/param1 contained characters that cannot be stored/);
  expect(byIndex(poisons.surrogate)).toMatchObject({ status: 'accepted' });
  expect(byIndex(poisons.nulClick)).toMatchObject({ status: 'rejected', reason: 'invalid_characters' });
  expect(byIndex(poisons.overflow)).toMatchObject({ status: 'rejected', reason: 'storage_error' });
  expect(outcomes.filter((outcome) => outcome.status === 'accepted')).toHaveLength(VALID + 2);
  expect(await countConversions('own')).toBe(VALID + 2);

  const [stored] = await testDb.db('conversions').where({ txid: 'own-nul-param' });
  expect(stored.params.param1).toBe('a\uFFFDb');
  const [surrogateLog] = await testDb.db('registration_log').where({ txid: 'own-surrogate' });
  expect(surrogateLog.request).toEqual({ note: 'broken \uFFFD text', 'key\uFFFD': 1 });
  expect(surrogateLog.warnings.join(' ')).toMatch(/raw request contained characters that cannot be stored/);
  const [storageLog] = await testDb.db('registration_log').where({ reason: 'storage_error' });
  expect(storageLog.message).toMatch(/could not be stored \(Postgres 22003/);
  expect(storageLog.request.unstorable_request).toContain('own-overflow');
  const [hostileLog] = await testDb.db('registration_log').where({ reason: 'invalid_characters' });
  expect(hostileLog.message).toMatch(/click_id contains a character that cannot be part of it \(U\+0000 at position 25\)/);
});

test('pull page inside the caller transaction: savepoints isolate the poison and the checkpoint commits with the valid rows', async () => {
  const { inputs, poisons } = await poisonedBatch('pull');
  const [connection] = await query<{ id: string }>(testDb.db, "INSERT INTO connections (connector, name, secrets_encrypted) VALUES ('everflow', 'isolation', 'unused') RETURNING id");
  const connectionId = connection?.id as string;
  const outcomes = await transaction(testDb.db, async (trx) => {
    const result = await registrar.register(inputs, { source: 'api', connectionId, transaction: trx, logUnchanged: false });
    // What a pull stores in the same transaction as its page (see jobs/pull-chunk.ts).
    await trx.query("INSERT INTO sync_checkpoints (connection_id, stream, stored_until) VALUES ($1, 'conversions', now())", [connectionId]);
    return result;
  });
  expect(outcomes[poisons.overflow]).toMatchObject({ status: 'rejected', reason: 'storage_error' });
  expect(outcomes[poisons.nulClick]).toMatchObject({ status: 'rejected', reason: 'invalid_characters' });
  expect(outcomes.filter((outcome) => outcome.status === 'accepted')).toHaveLength(VALID + 2);
  expect(await countConversions('pull')).toBe(VALID + 2);
  expect(await testDb.db('sync_checkpoints').where({ connection_id: connectionId })).toHaveLength(1);
});

/** A CSV of hundreds of valid lines with a NUL-carrying click ID (line 42) and an overflowing payout (line 122). */
async function poisonedCsv(prefix: string): Promise<string> {
  const clicks = await createClicks(testDb.db, funnel.campaignId, VALID + 3);
  const lines = clicks.slice(0, VALID).map((clickId, index) => `${clickId},2.50,${prefix}-${index},sale`);
  lines.splice(40, 0, `${clicks[VALID]}\u0000,2.50,${prefix}-nul-click,sale`);
  lines.splice(120, 0, `${clicks[VALID + 1]},99999999999999,${prefix}-overflow,sale,,IDR`);
  const header = 'click_id,payout,transaction_id,conversion_type,timestamp,payout_currency';
  return `${header}\n${lines.join('\n')}\n`;
}
const CSV_POISONS = [
  [42, 'invalid_characters'],
  [122, 'storage_error'],
];

describe('CSV: a poisoned line among hundreds of valid ones is rejected alone', () => {
  test('in a chunk of the upload', async () => {
    const results: UploadLineResult[] = [];
    const summary = await uploadCsv(testDb.db, registrar, Readable.from([await poisonedCsv('csv')]), { onLine: (line) => results.push(line) });
    expect(summary).toMatchObject({ rows: VALID + 2, accepted: VALID, rejected: 2 });
    expect(results.filter((line) => line.status === 'rejected').map((line) => [line.line, line.reason])).toEqual(CSV_POISONS);
    expect(await countConversions('csv')).toBe(VALID);
  });

  test('through the upload API: 200 with the two rejected lines and their reasons', async () => {
    const t = await createTestApp(testDb);
    try {
      const response = await t.app.inject({ method: 'POST', url: '/api/v1/uploads', headers: { ...auth, 'content-type': 'text/csv' }, payload: await poisonedCsv('csvapi') });
      expect(response.statusCode).toBe(200);
      const body = response.json();
      expect(body).toMatchObject({ rows: VALID + 2, accepted: VALID, rejected: 2 });
      expect(body.lines.filter((line: { status: string }) => line.status === 'rejected').map((line: { line: number; reason: string }) => [line.line, line.reason])).toEqual(CSV_POISONS);
      expect(await countConversions('csvapi')).toBe(VALID);
    } finally {
      await t.app.close();
    }
  });

  test('through the CLI: every valid line registered, the two rejected with their reasons, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-poisoned-csv-'));
    try {
      const file = join(dir, 'poisoned.csv');
      writeFileSync(file, await poisonedCsv('csvcli'));
      const result = await runCli(['upload', file, '--errors-only'], { DATABASE_URL: testDb.url, TALLY_STATE_DIR: join(dir, 'state') });
      expect(result.code).toBe(2);
      expect(result.stdout).toMatch(/line 42: rejected.*invalid_characters/);
      expect(result.stdout).toMatch(/line 122: rejected.*storage_error/);
      expect(result.stdout).toContain(`${VALID + 2} rows: ${VALID} accepted, 0 duplicates, 0 updated, 2 rejected`);
      expect(await countConversions('csvcli')).toBe(VALID);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('S2S postbacks through the group commit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(testDb, { intake: { maxInFlight: 2, maxWaitMs: 20, maxPending: 10_000 } });
  });
  afterAll(async () => {
    await t.app.close();
  });

  test('hundreds of valid postbacks sent with poisoned ones beside them are all answered 200 and stored', async () => {
    const clicks = await createClicks(testDb.db, funnel.campaignId, VALID + 3);
    const valid = clicks.slice(0, VALID).map((clickId, index) => t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=gc-${index}&payout=3.10` }));
    const nulParams = Array.from({ length: 50 }, (_, index) => t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clicks[VALID]}&txid=gc-nul-${index}&param1=%00` }));
    const nulClick = t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clicks[VALID + 1]}%00&txid=gc-nul-click` });
    const overflowing = t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clicks[VALID + 2]}&txid=gc-overflow&payout=99999999999999&payout_currency=IDR` });
    const [validAnswers, nulAnswers, nulClickAnswer, overflowAnswer] = await Promise.all([Promise.all(valid), Promise.all(nulParams), nulClick, overflowing]);
    expect(validAnswers.map((answer) => answer.statusCode)).toEqual(Array(VALID).fill(200));
    expect(nulAnswers.map((answer) => answer.statusCode)).toEqual(Array(50).fill(200));
    expect(nulAnswers[0]?.json().warnings.join(' ')).toMatch(/param1 contained characters that cannot be stored/);
    expect([nulClickAnswer.statusCode, nulClickAnswer.json().reason]).toEqual([400, 'invalid_characters']);
    expect([overflowAnswer.statusCode, overflowAnswer.json().reason]).toEqual([400, 'storage_error']);
    expect(await countConversions('gc')).toBe(VALID + 50);
  });
});

describe('the same request registered twice (intake id)', () => {
  test('a second copy settles once and never overrides a later report', async () => {
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    const intakeId = '6f1c2d3e-4b5a-4978-8a6b-1c2d3e4f5a6b';
    const first = { fields: { click_id: clickId, txid: 'IK-1', status: 'pending', payout: '4.00' }, intakeId };
    await registrar.register([first], { source: 'postback' });
    await registrar.register([{ fields: { click_id: clickId, txid: 'IK-1', status: 'approved', payout: '4.00' } }], { source: 'postback' });
    const [copy] = await registrar.register([first], { source: 'postback' });
    expect(copy).toMatchObject({ status: 'duplicate', reason: 'unchanged' });
    expect(await testDb.db('conversions').where({ txid: 'IK-1' }).first()).toMatchObject({ status: 'approved' });
    expect(await testDb.db('registration_log').where({ intake_id: intakeId })).toHaveLength(1);
    // Under the accept policy a txid-less copy does not count twice either.
    const accepting = await createFunnel(testDb.db, { network: { duplicate_policy: 'accept' } });
    const [acceptClick] = await createClicks(testDb.db, accepting.campaignId);
    const txidless = { fields: { click_id: acceptClick, payout: '1.00' }, intakeId: '7a1c2d3e-4b5a-4978-8a6b-1c2d3e4f5a6c' };
    await registrar.register([txidless], { source: 'postback' });
    await registrar.register([txidless], { source: 'postback' });
    expect(await testDb.db('conversions').where({ click_id: acceptClick })).toHaveLength(1);
  });
});
