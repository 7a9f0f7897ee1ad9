import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Registrar } from '../../src/pipeline/registrar';
import { uploadCsv, type UploadLineResult } from '../../src/upload/csv-upload';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createClicks, createFunnel, type Funnel } from '../support/fixtures';
import { runCli } from '../support/cli';

let testDb: TestDatabase;
let registrar: Registrar;
let funnel: Funnel;
const dir = mkdtempSync(join(tmpdir(), 'tally-upload-'));

beforeAll(async () => {
  testDb = await createTestDatabase();
  registrar = new Registrar(testDb.db, { displayCurrency: 'USD', defaultCurrency: 'USD' });
  funnel = await createFunnel(testDb.db);
});

afterAll(async () => {
  await testDb.drop();
});

async function upload(csv: string | Buffer, options: { dryRun?: boolean; batchSize?: number } = {}) {
  const lines: UploadLineResult[] = [];
  const summary = await uploadCsv(testDb.db, registrar, Readable.from([csv]), { ...options, onLine: (line) => lines.push(line) });
  return { summary, lines };
}

test('reads the positional format without a header; the timestamp is optional', async () => {
  const [a, b] = await createClicks(testDb.db, funnel.campaignId, 2);
  const { summary, lines } = await upload(`${a},5.2,txid1234,sale,2025-10-02T14:30:00+02:00\n${b},1.5,,lead\n`);
  expect(summary).toMatchObject({ rows: 2, accepted: 2, rejected: 0 });
  expect(lines).toEqual([{ line: 1, status: 'accepted' }, { line: 2, status: 'accepted' }]);
  const rows = await testDb.db('conversions').whereIn('click_id', [a!, b!]).orderBy('id');
  expect(rows.map((row) => [row.type, row.payout, row.txid, row.source])).toEqual([
    ['sale', '5.200000', 'txid1234', 'upload'],
    ['lead', '1.500000', null, 'upload'],
  ]);
  expect(rows[0].occurred_at.toISOString()).toBe('2025-10-02T12:30:00.000Z');
  // No timestamp: the upload time.
  expect(Math.abs(rows[1].occurred_at.getTime() - Date.now())).toBeLessThan(60_000);
  expect(rows[0].upload_id).toBe(summary.upload_id);
});

test('handles a header in any order, a BOM, CRLF, quoted fields and blank lines', async () => {
  const [a, b] = await createClicks(testDb.db, funnel.campaignId, 2);
  const csv = Buffer.concat([
    Buffer.from([0xef, 0xbb, 0xbf]),
    Buffer.from(`transaction_id,click_id,payout,conversion_type,payout_currency,param1\r\n\r\n"T-1","${a}","12.50","sale","EUR","a, quoted ""value"""\r\n\r\nT-2,${b},3,lead,,\r\n`),
  ]);
  const { summary, lines } = await upload(csv);
  expect(summary).toMatchObject({ rows: 2, accepted: 2 });
  expect(lines.map((line) => line.line)).toEqual([3, 5]);
  const [first] = await testDb.db('conversions').where({ click_id: a });
  expect(first).toMatchObject({ txid: 'T-1', payout: '12.500000', currency: 'EUR', params: { param1: 'a, quoted "value"' } });
});

test('re-uploading the same file registers nothing new', async () => {
  const accepting = await createFunnel(testDb.db, { network: { duplicate_policy: 'accept' } });
  const [a] = await createClicks(testDb.db, funnel.campaignId);
  const [b] = await createClicks(testDb.db, accepting.campaignId);
  const csv = `${a},1,,sale,2025-10-01T00:00:00Z\n${a},2,up-1,upsell,2025-10-01T00:05:00Z\n${b},3,,lead,2025-10-01T00:00:00Z\n`;
  expect((await upload(csv)).summary).toMatchObject({ accepted: 3, duplicates: 0 });
  expect((await upload(csv)).summary).toMatchObject({ accepted: 0, duplicates: 3 });
  expect(await testDb.db('conversions').whereIn('click_id', [a!, b!])).toHaveLength(3);
});

test('gives every line a result and a reason, across batches', async () => {
  const clicks = await createClicks(testDb.db, funnel.campaignId, 3);
  const csv = [`${clicks[0]},1`, 'unknown-click,1', `${clicks[1]},abc`, '#s2#,1', `${clicks[2]},2,,sale,not-a-date`].join('\n');
  const { summary, lines } = await upload(csv, { batchSize: 2 });
  expect(summary).toMatchObject({ rows: 5, accepted: 1, rejected: 4 });
  expect(lines.map((line) => [line.line, line.status, line.reason])).toEqual([
    [1, 'accepted', undefined],
    [2, 'rejected', 'unknown_click_id'],
    [3, 'rejected', 'invalid_payout'],
    [4, 'rejected', 'unreplaced_macro'],
    [5, 'rejected', 'invalid_timestamp'],
  ]);
  const logged = await testDb.db('registration_log').where({ upload_id: summary.upload_id }).orderBy('upload_line');
  expect(logged.map((row) => row.upload_line)).toEqual([1, 2, 3, 4, 5]);
  expect(logged[1].request).toEqual({ line: 2, values: ['unknown-click', '1'] });
});

test('a dry run reports outcomes and stores nothing', async () => {
  const [a] = await createClicks(testDb.db, funnel.campaignId);
  const { summary } = await upload(`${a},1,dry-1\n`, { dryRun: true });
  expect(summary).toMatchObject({ upload_id: null, accepted: 1 });
  expect(await testDb.db('conversions').where({ click_id: a })).toHaveLength(0);
});

test('a line that is not valid CSV is rejected alone, with its line number; the lines around it register', async () => {
  const [a, b, c] = await createClicks(testDb.db, funnel.campaignId, 3);
  const csv = `${a},1.00,mal-1,sale\n"x"y,2.00,mal-2,sale\n${b},3.00,mal-3,sale\nz${'z'.repeat(70_000)},1\n${c},4.00,mal-4,sale\n"unterminated,1\n`;
  const { summary, lines } = await upload(csv);
  expect(summary).toMatchObject({ rows: 6, accepted: 3, rejected: 3 });
  expect(lines.map((line) => [line.line, line.status, line.reason])).toEqual([
    [1, 'accepted', undefined],
    [2, 'rejected', 'invalid_csv_line'],
    [3, 'accepted', undefined],
    [4, 'rejected', 'line_too_long'],
    [5, 'accepted', undefined],
    [6, 'rejected', 'invalid_csv_line'],
  ]);
  const logged = await testDb.db('registration_log').where({ upload_id: summary.upload_id, outcome: 'rejected' }).orderBy('upload_line');
  expect(logged.map((row) => [row.upload_line, row.reason])).toEqual([[2, 'invalid_csv_line'], [4, 'line_too_long'], [6, 'invalid_csv_line']]);
  expect(logged[0].message).toMatch(/line 2: the line is not valid CSV/);
});

describe('tally upload (the built CLI)', () => {
  const env = () => ({ DATABASE_URL: testDb.url, TALLY_STATE_DIR: join(dir, 'state') });

  test('prints per-line results and a summary; exit 0 when all lines are accepted or duplicates', async () => {
    const [a] = await createClicks(testDb.db, funnel.campaignId);
    const file = join(dir, 'ok.csv');
    writeFileSync(file, `${a},4.20,cli-1,sale\n`);
    const first = await runCli(['upload', file], env());
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toContain('line 1: accepted');
    expect(first.stdout).toMatch(/1 rows: 1 accepted, 0 duplicates, 0 updated, 0 rejected/);
    const again = await runCli(['upload', file], env());
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('line 1: duplicate');
  });

  test('exits non-zero when a line is rejected or updated, and --dry-run stores nothing', async () => {
    const [a] = await createClicks(testDb.db, funnel.campaignId);
    const file = join(dir, 'bad.csv');
    writeFileSync(file, `${a},1,cli-2\n{clickid},1\n`);
    const dry = await runCli(['upload', file, '--dry-run'], env());
    expect(dry.code).toBe(2);
    expect(dry.stdout).toContain('dry run (nothing stored)');
    expect(await testDb.db('conversions').where({ click_id: a })).toHaveLength(0);
    const real = await runCli(['upload', file], env());
    expect(real.code).toBe(2);
    expect(real.stdout).toContain('line 2: rejected unreplaced_macro');
    writeFileSync(file, `${a},2,cli-2\n`);
    expect((await runCli(['upload', file], env())).code).toBe(3);
  });

  test('bad input exits non-zero with one line saying what is wrong', async () => {
    const missing = await runCli(['upload', join(dir, 'missing.csv')], env());
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toEqual([`tally: cannot read ${join(dir, 'missing.csv')}: no such file`]);
    const empty = join(dir, 'empty.csv');
    writeFileSync(empty, '');
    expect((await runCli(['upload', empty], env())).stderr).toMatch(/is empty/);
    const noArgument = await runCli(['upload'], env());
    expect(noArgument.code).not.toBe(0);
    expect(noArgument.stderr).toMatch(/missing required argument/);
  });
});
