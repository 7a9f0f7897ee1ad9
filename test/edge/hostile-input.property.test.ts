import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { query } from '../../src/db/sql';
import { auth, createTestApp, type TestApp } from '../support/app';
import { runCli } from '../support/cli';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createClicks, createFunnel, type Funnel } from '../support/fixtures';

/**
 * Random, oversized, malformed, unicode and injection-shaped input against every public surface.
 * Required (issue 7): never a 5xx; no stored row that breaks the pipeline's rules; every rejection
 * has a reason in the log. The seed is printed by fast-check on failure; set FC_SEED to replay.
 */

let testDb: TestDatabase;
let t: TestApp;
let funnel: Funnel;
let clicks: string[];
const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
const params = (numRuns: number) => ({ numRuns, ...(seed !== undefined ? { seed } : {}) });

beforeAll(async () => {
  testDb = await createTestDatabase();
  t = await createTestApp(testDb);
  funnel = await createFunnel(testDb.db);
  clicks = await createClicks(testDb.db, funnel.campaignId, 5);
  await testDb.db('offers').insert({ name: 'manual', url: 'https://offer.example/?s={cf_click_id}', payout_mode: 'manual', payout: '3' });
});

afterAll(async () => {
  await t.app.close();
  await testDb.drop();
});

/** A lone UTF-16 surrogate: what broken clients and fuzzers produce and jsonb cannot store. */
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));
const controls = fc.integer({ min: 0, max: 0x1f }).map((code) => String.fromCharCode(code));
const injection = fc.constantFrom(
  "' OR 1=1 --", '"; DROP TABLE conversions; --', '${jndi:ldap://x}', '{{7*7}}', '<script>alert(1)</script>', '../../etc/passwd',
  '%00', '\u0000', '\ud800', '\u202e', '{clickid}', '#s2#', '[CLICKID]', 'REPLACE', 'OPTIONAL', 'NaN', 'Infinity', '-0', '1e309',
  '99999999999999999999', '0.0000001', '1,5', '१२३', '١٢٣', 'null', 'undefined', '__proto__', 'constructor', ' ', '',
);
const hostileText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.array(fc.oneof(loneSurrogate, controls, fc.string({ maxLength: 3 })), { maxLength: 12 }).map((parts) => parts.join('')),
  injection,
  fc.string({ minLength: 300, maxLength: 3000 }),
);
const fieldName = fc.oneof(
  fc.constantFrom('click_id', 'cf_click_id', 'cid', 'clickid', 'payout', 'payout_currency', 'currency', 'txid', 'transaction_id', 'ct', 'type', 'status', 'timestamp', 'param1', 'param20', 'token', 'src', 'network_status'),
  fc.string({ maxLength: 12 }),
);
/** One of the clicks made in beforeAll (picked when a value is generated, after they exist). */
const knownClick = fc.integer({ min: 0, max: 4 }).map((index) => clicks[index] as string);
/** A value for a field: sometimes a real click ID, so that hostile inputs also reach matching and storage. */
const value = (name: string) =>
  name.includes('click') || name === 'cid' ? fc.oneof(knownClick, hostileText) : hostileText;
const fields = fc
  .array(fieldName.chain((name) => value(name).map((text) => [name, text] as const)), { maxLength: 8 })
  .map((pairs) => Object.fromEntries(pairs));

function encode(values: Record<string, string>): string {
  // encodeURIComponent throws on lone surrogates: send their UTF-8-ish escapes as a raw client would.
  const part = (text: string): string => {
    try {
      return encodeURIComponent(text);
    } catch {
      return text.split('').map((char) => `%${char.charCodeAt(0).toString(16).padStart(2, '0').slice(-2)}`).join('');
    }
  };
  return Object.entries(values).map(([name, text]) => `${part(name)}=${part(text)}`).join('&');
}

const postbackRequest = fc.record({
  path: fc.constantFrom('/cf/cv', '/cf/postback'),
  method: fc.constantFrom('GET', 'POST'),
  query: fields,
  body: fc.oneof(
    fc.constant(undefined),
    fields.map((values) => ({ type: 'application/x-www-form-urlencoded', payload: encode(values) })),
    fields.map((values) => ({ type: 'application/json', payload: JSON.stringify(values) })),
    fc.json({ maxDepth: 4 }).map((payload) => ({ type: 'application/json', payload })),
    hostileText.map((payload) => ({ type: 'application/json', payload })),
    hostileText.map((payload) => ({ type: 'text/xml', payload })),
  ),
  headers: fc.record({
    accept: fc.constantFrom('application/json', 'image/webp,*/*', '*/*', ''),
    'sec-fetch-dest': fc.constantFrom('image', 'document', 'script', ''),
    cookie: fc.oneof(fc.constant(''), fc.constantFrom(...clicksForCookies()).map((id) => `cf_click_id=${id}`), hostileText.map((text) => `cf_click_id=${encodeURIComponent(text.replace(/[\ud800-\udfff]/g, ''))}`)),
  }),
});

function clicksForCookies(): string[] {
  return ['%zz', '%00', 'a;b', 'x'.repeat(5000)];
}

const isImage = (headers: Record<string, string>): boolean => headers['sec-fetch-dest'] === 'image' || /image\//.test(headers.accept ?? '');

async function storedRowsKeepThePipelineRules(): Promise<void> {
  const broken = await query<{ problem: string; n: string }>(
    testDb.db,
    `SELECT 'conversion without its click' AS problem, count(*)::text AS n FROM conversions c LEFT JOIN clicks k ON k.click_id = c.click_id WHERE k.click_id IS NULL
     UNION ALL SELECT 'conversion visit time differs from its click', count(*)::text FROM conversions c JOIN clicks k ON k.click_id = c.click_id WHERE c.visit_at <> k.visited_at
     UNION ALL SELECT 'currency not ISO', count(*)::text FROM conversions WHERE currency !~ '^[A-Z]{3}$' OR (reported_currency IS NOT NULL AND reported_currency !~ '^[A-Z]{3}$')
     UNION ALL SELECT 'type not a type name', count(*)::text FROM conversions WHERE type !~ '^[a-z0-9_][a-z0-9_.-]{0,39}$'
     UNION ALL SELECT 'type not in conversion_types', count(*)::text FROM conversions c LEFT JOIN conversion_types t ON t.name = c.type WHERE t.name IS NULL
     UNION ALL SELECT 'payout beyond NUMERIC(20,6) bounds', count(*)::text FROM conversions WHERE abs(payout) >= 1e14
     UNION ALL SELECT 'txid with control characters', count(*)::text FROM conversions WHERE txid ~ '[[:cntrl:]]'
     UNION ALL SELECT 'manual offer conversion not at the offer payout', count(*)::text FROM conversions c JOIN offers o ON o.id = c.offer_id WHERE o.payout_mode = 'manual' AND c.payout <> o.payout
     UNION ALL SELECT 'rejection without reason or message', count(*)::text FROM registration_log WHERE outcome = 'rejected' AND (reason IS NULL OR message IS NULL OR conversion_id IS NOT NULL)
     UNION ALL SELECT 'settled attempt without its conversion', count(*)::text FROM registration_log l LEFT JOIN conversions c ON c.id = l.conversion_id WHERE l.outcome <> 'rejected' AND c.id IS NULL
     UNION ALL SELECT 'two conversions with one identity', count(*)::text FROM (SELECT 1 FROM conversions GROUP BY click_id, type, txid HAVING txid IS NOT NULL AND count(*) > 1) d`,
  );
  expect(broken.filter((row) => row.n !== '0')).toEqual([]);
}

test('/cf/cv and /cf/postback: never a 5xx; every rejection answered with a reason and logged with it', async () => {
  await fc.assert(
    fc.asyncProperty(postbackRequest, async (request) => {
      const before = await query<{ n: string }>(testDb.db, 'SELECT count(*)::text AS n FROM registration_log');
      const headers = Object.fromEntries(Object.entries(request.headers).filter(([, text]) => text !== ''));
      const qs = encode(request.query);
      const response = await t.app.inject({
        method: request.method as 'GET' | 'POST',
        url: `${request.path}${qs ? `?${qs}` : ''}`,
        headers: { ...headers, ...(request.body ? { 'content-type': request.body.type } : {}) },
        ...(request.body && request.method === 'POST' ? { payload: request.body.payload } : {}),
      });
      expect(response.statusCode).toBeLessThan(500);
      if (isImage(headers)) {
        expect(response.headers['content-type']).toBe('image/gif');
      } else if (response.statusCode !== 414 && response.statusCode !== 413) {
        const answer = response.json();
        expect(['accepted', 'duplicate', 'updated', 'rejected']).toContain(answer.status);
        if (answer.status === 'rejected') expect(answer.reason).toEqual(expect.any(String));
      }
      if (response.statusCode !== 414 && response.statusCode !== 413) {
        const after = await query<{ n: string }>(testDb.db, 'SELECT count(*)::text AS n FROM registration_log');
        // Every attempt leaves one log row (unchanged duplicates included: postbacks log them).
        expect(Number(after[0]?.n)).toBe(Number(before[0]?.n) + 1);
      }
    }),
    params(250),
  );
  await storedRowsKeepThePipelineRules();
});

test('/cf/click: never a 5xx, whatever the campaign ID and parameters', async () => {
  const campaignId = fc.oneof(fc.constant(funnel.campaignId), fc.uuid(), hostileText.map((text) => encodeURIComponent(text.replace(/[\ud800-\udfff]/g, '')) || 'x'));
  await fc.assert(
    fc.asyncProperty(campaignId, fields, async (id, values) => {
      const qs = encode(values);
      const response = await t.app.inject({ method: 'GET', url: `/cf/click/${id}${qs ? `?${qs}` : ''}` });
      expect(response.statusCode).toBeLessThan(500);
      expect([302, 404, 414]).toContain(response.statusCode);
    }),
    params(150),
  );
  const broken = await query<{ n: string }>(testDb.db, "SELECT count(*)::text AS n FROM clicks WHERE params::text ~ '\\\\u0000'");
  expect(broken[0]?.n).toBe('0');
});

const csvCell = fc.oneof(
  knownClick,
  hostileText.map((text) => text.replace(/\n/g, ' ')),
  fc.constantFrom('"quoted, with comma"', '"unterminated', 'a"b', '""', '12.50', 'sale', 'EUR', '2025-10-02T14:30:00Z'),
);
const csvText = fc
  .array(fc.array(csvCell, { minLength: 1, maxLength: 7 }), { minLength: 1, maxLength: 30 })
  .map((rows) => rows.map((cells) => cells.join(',')).join(fc.sample(fc.constantFrom('\n', '\r\n'), 1)[0] ?? '\n'));

test('upload API: never a 5xx; counts add up; every rejected line has a reason in the answer and the log', async () => {
  await fc.assert(
    fc.asyncProperty(csvText, fc.boolean(), async (csv, withHeader) => {
      const body = withHeader ? `click_id,payout,transaction_id,conversion_type,timestamp,payout_currency,status\n${csv}\n` : `${csv}\n`;
      const response = await t.app.inject({ method: 'POST', url: '/api/v1/uploads', headers: { ...auth, 'content-type': 'text/csv' }, payload: body });
      expect(response.statusCode).toBeLessThan(500);
      if (response.statusCode !== 200) return;
      const summary = response.json();
      expect(summary.accepted + summary.duplicates + summary.updated + summary.rejected).toBe(summary.rows);
      for (const line of summary.lines.filter((entry: { status: string }) => entry.status === 'rejected')) expect(line.reason).toEqual(expect.any(String));
      const logged = await query<{ n: string }>(testDb.db, "SELECT count(*)::text AS n FROM registration_log WHERE upload_id = $1 AND outcome = 'rejected' AND reason IS NOT NULL", [summary.upload_id]);
      expect(Number(logged[0]?.n)).toBe(summary.rejected);
    }),
    params(60),
  );
  await storedRowsKeepThePipelineRules();
});

test('tally upload (CLI): exits 0, 2 or 3 with a summary, or 1 with a one-line reason; never a crash', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-fc-upload-'));
  let run = 0;
  await fc.assert(
    fc.asyncProperty(csvText, async (csv) => {
      const file = join(dir, `file-${(run += 1)}.csv`);
      writeFileSync(file, `${csv}\n`);
      const result = await runCli(['upload', file, '--errors-only'], { DATABASE_URL: testDb.url, TALLY_STATE_DIR: join(dir, 'state') });
      expect([0, 1, 2, 3]).toContain(result.code);
      if (result.code === 1) expect(result.stderr.trim().split('\n')).toHaveLength(1);
      else expect(result.stdout).toMatch(/\d+ rows: \d+ accepted, \d+ duplicates, \d+ updated, \d+ rejected/);
      expect(result.stderr).not.toMatch(/at .+\.js:\d+/);
    }),
    params(8),
  );
}, 120_000);

const adminRequest = fc.oneof(
  fc.record({ method: fc.constant('POST'), url: fc.constantFrom('/api/v1/networks', '/api/v1/offers', '/api/v1/campaigns', '/api/v1/clicks', '/api/v1/fx-rates', '/api/v1/connections', '/api/v1/backfills'), body: fc.jsonValue({ maxDepth: 3 }) }),
  fc.record({
    method: fc.constant('PATCH'),
    url: fc.oneof(fc.constant(`/api/v1/offers/${'00000000-0000-4000-8000-000000000000'}`), hostileText.map((text) => `/api/v1/networks/${encodeURIComponent(text.replace(/[\ud800-\udfff]/g, '')) || 'x'}`)),
    body: fc.jsonValue({ maxDepth: 3 }),
  }),
  fc.record({
    method: fc.constant('GET'),
    url: fc.tuple(fc.constantFrom('/api/v1/conversions', '/api/v1/postback-log', '/api/v1/reports', '/api/v1/networks/templates'), fields).map(([path, values]) => `${path}?${encode(values)}`),
    body: fc.constant(undefined),
  }),
);

test('admin API: never a 5xx for bad input, with or without credentials', async () => {
  await fc.assert(
    fc.asyncProperty(adminRequest, fc.boolean(), async (request, authenticated) => {
      const response = await t.app.inject({
        method: request.method as 'GET' | 'POST' | 'PATCH',
        url: request.url,
        headers: { ...(authenticated ? auth : {}), ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(request.body !== undefined ? { payload: JSON.stringify(request.body) } : {}),
      });
      expect(response.statusCode).toBeLessThan(500);
      // Unauthenticated callers learn nothing but that (414 for an over-long URL comes first).
      if (!authenticated) expect([401, 414]).toContain(response.statusCode);
      if (response.statusCode >= 400) expect(response.json().error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
    }),
    params(200),
  );
});
