import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findConnector } from '../../connectors';
import { GLOBAL_TOKEN_PLACEHOLDER, POSTBACK_TEMPLATES } from '../../src/catalog/postback-templates';
import type { TestDatabase } from '../support/database';
import { auth, createTestApp, type TestApp, useTestApp } from '../support/app';
import { createClicks, createFunnel, type Funnel } from '../support/fixtures';

let testDb: TestDatabase;
let t: TestApp;

useTestApp((db, app) => {
  testDb = db;
  t = app;
});

interface Template {
  id: string;
  network: string;
  platform: string;
  connector?: string;
  postback_url: string | null;
  offer_url_parameter: string;
  confidence: string;
  notes: string;
}

const TEMPLATES = '/api/v1/networks/templates';
const get = (app: TestApp, url: string) => app.app.inject({ method: 'GET', url, headers: auth });
const templates = async (app: TestApp = t, query = ''): Promise<Template[]> => {
  const response = await get(app, `${TEMPLATES}${query}`);
  expect(response.statusCode).toBe(200);
  return response.json();
};
const byId = (rows: Template[]) => Object.fromEntries(rows.map((row) => [row.id, row]));

/** The `name=macro` pairs of a postback URL, in order. */
function parameters(url: string): [string, string][] {
  return url
    .slice(url.indexOf('?') + 1)
    .split('&')
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)] as [string, string]);
}

/** What a network puts in place of each macro when it fires. */
const FILLED: Readonly<Record<string, (clickId: string, id: string) => string>> = {
  click_id: (clickId) => clickId,
  payout: () => '12.34',
  txid: (_clickId, id) => `tx-${id}`,
  status: () => 'APPROVED',
  payout_currency: () => 'USD',
  ct: () => 'sale',
  network_status: () => '1',
  is_event: () => 'N',
};

/** Fires a postback URL at /cf/cv: `fill` gives each parameter's value (the token is sent as it stands). */
async function fire(url: string, fill: (name: string, macro: string) => string) {
  const query = new URLSearchParams(parameters(url).map(([name, macro]) => [name, name === 'token' ? macro : fill(name, macro)]));
  return t.app.inject({ method: 'GET', url: `/cf/cv?${query.toString()}` });
}

test('admin credentials are needed', async () => {
  expect((await t.app.inject({ method: 'GET', url: TEMPLATES })).statusCode).toBe(401);
});

test('every network the design lists has a row; postback rows are /cf/cv with the network\'s macros, the others say why not', async () => {
  const response = await get(t, TEMPLATES);
  expect(response.headers['cache-control']).toBe('no-store');
  const rows = byId(response.json());
  const required = ['everflow', 'cake', 'hasoffers', 'affise', 'scaleo', 'impact', 'clickbank', 'digistore24', 'maxbounty', 'clickdealer', 'crakrevenue', 'awin', 'cj', 'partnerize', 'rakuten', 'tonic', 'system1', 'crossroads', 'sedo'];
  expect(Object.keys(rows).sort()).toEqual([...required].sort());
  expect(rows.cake).toMatchObject({ postback_url: 'http://localhost:80/cf/cv?click_id=#s2#&payout=#price#&txid=#leadid#', offer_url_parameter: 's2={cf_click_id}', confidence: 'CONFIRMED', connector: 'cake' });
  expect(rows.hasoffers).toMatchObject({ postback_url: 'http://localhost:80/cf/cv?click_id={aff_sub}&payout={payout}&txid={transaction_id}', offer_url_parameter: 'aff_sub={cf_click_id}', confidence: 'TRACKER-GUIDE', connector: 'hasoffers' });
  expect(rows.awin).toMatchObject({ postback_url: expect.stringMatching(/^http:\/\/localhost:80\/cf\/cv\?click_id=!!!clickRef!!!&payout=!!!commission!!!&txid=!!!transactionId!!!/), offer_url_parameter: 'clickref={cf_click_id}', confidence: 'INFERRED', connector: 'awin' });
  expect(rows.maxbounty).toMatchObject({ postback_url: 'http://localhost:80/cf/cv?click_id=#S1#&payout=#RATE#&txid=#LEADID#', confidence: 'INFERRED' });
  expect(rows.maxbounty?.connector).toBeUndefined();
  for (const id of ['cj', 'partnerize', 'clickbank', 'tonic', 'system1', 'crossroads', 'sedo']) expect(rows[id]?.postback_url).toBeNull();
  expect(rows.cj?.notes).toMatch(/no postback for publishers/);
  expect(rows.clickbank?.notes).toMatch(/INS/);
  for (const row of Object.values(rows)) {
    expect(row.notes.startsWith(`${row.confidence}: `)).toBe(true);
    expect(row.offer_url_parameter).toContain('{cf_click_id}');
    // A connector is named only when Tally has it.
    if (row.connector !== undefined) expect(findConnector(row.connector)).toBeDefined();
    if (row.postback_url === null) continue;
    expect(parameters(row.postback_url)[0]?.[0]).toBe('click_id');
    expect(row.postback_url).not.toContain('token=');
    expect(row.notes).toMatch(/No token applies/);
  }
});

test('PUBLIC_URL is the base of the URLs', async () => {
  const app = await createTestApp(testDb, { publicUrl: 'https://track.example.com/' });
  try {
    expect(byId(await templates(app)).everflow?.postback_url).toMatch(/^https:\/\/track\.example\.com\/cf\/cv\?click_id=\{sub1\}&/);
  } finally {
    await app.app.close();
  }
});

describe('tokens', () => {
  let tokened: Funnel;
  let plain: Funnel;
  const TOKEN = 'net-token-0123456789abcdef';
  beforeAll(async () => {
    tokened = await createFunnel(testDb.db, { network: { name: 'Tokened', postback_token: TOKEN } });
    plain = await createFunnel(testDb.db, { network: { name: 'Plain' } });
  });

  test("with network_id, the URLs carry that network's own token; no other answer shows it", async () => {
    const rows = await templates(t, `?network_id=${tokened.networkId}`);
    for (const row of rows.filter((candidate) => candidate.postback_url !== null)) {
      expect(row.postback_url!.endsWith(`&token=${TOKEN}`)).toBe(true);
      expect(row.notes).toMatch(/keep it private/);
    }
    for (const url of [`/api/v1/networks/${tokened.networkId}`, '/api/v1/networks', `${TEMPLATES}`, `${TEMPLATES}?network_id=${plain.networkId}`]) {
      expect((await get(t, url)).body).not.toContain(TOKEN);
    }
  });

  test('the global POSTBACK_TOKEN is never shown: a placeholder and a note stand for it', async () => {
    const global = await createTestApp(testDb, { postbackToken: 'global-secret-0123456789' });
    try {
      for (const query of ['', `?network_id=${plain.networkId}`]) {
        const response = await get(global, `${TEMPLATES}${query}`);
        expect(response.body).not.toContain('global-secret-0123456789');
        const cake = byId(response.json()).cake!;
        expect(cake.postback_url).toBe(`http://localhost:80/cf/cv?click_id=#s2#&payout=#price#&txid=#leadid#&token=${GLOBAL_TOKEN_PLACEHOLDER}`);
        expect(cake.notes).toMatch(/POSTBACK_TOKEN/);
      }
      // A network's own token wins over the global one.
      expect(byId((await get(global, `${TEMPLATES}?network_id=${tokened.networkId}`)).json()).cake?.postback_url).toMatch(new RegExp(`&token=${TOKEN}$`));
    } finally {
      await global.app.close();
    }
  });

  test('an unknown network is 404, a malformed id 400, each with a message', async () => {
    const unknown = await get(t, `${TEMPLATES}?network_id=00000000-0000-4000-8000-000000000000`);
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([404, 'network_not_found']);
    const malformed = await get(t, `${TEMPLATES}?network_id=abc`);
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.message).toMatch(/network_id: must be a UUID/);
  });

  test('every postback URL, as the network fills it in, registers its conversion through /cf/cv with the token', async () => {
    const rows = (await templates(t, `?network_id=${tokened.networkId}`)).filter((row) => row.postback_url !== null);
    const clicks = await createClicks(testDb.db, tokened.campaignId, rows.length);
    for (const [index, row] of rows.entries()) {
      const clickId = clicks[index]!;
      const response = await fire(row.postback_url!, (name) => {
        const fill = FILLED[name];
        if (!fill) throw new Error(`template ${row.id} sends ${name}, which this test does not know how to fill`);
        return fill(clickId, row.id);
      });
      expect([row.id, response.statusCode, response.json().status]).toEqual([row.id, 200, 'accepted']);
      const [conversion] = (await get(t, `/api/v1/conversions?click_id=${clickId}`)).json().items;
      expect([row.id, conversion.payout, conversion.txid, conversion.status]).toEqual([row.id, '12.34', `tx-${row.id}`, 'approved']);
    }
  });

  test('a postback URL whose macros the network did not fill is rejected as an unreplaced macro, never registered', async () => {
    const rows = (await templates(t, `?network_id=${tokened.networkId}`)).filter((row) => row.postback_url !== null);
    for (const row of rows) {
      const response = await fire(row.postback_url!, (_name, macro) => macro);
      expect([row.id, response.statusCode, response.json().reason]).toEqual([row.id, 400, 'unreplaced_macro']);
    }
  });
  test('with only the click ID filled in, the other macros are ignored with a warning and the conversion still counts', async () => {
    const rows = (await templates(t, `?network_id=${tokened.networkId}`)).filter((row) => row.postback_url !== null);
    const clicks = await createClicks(testDb.db, tokened.campaignId, rows.length);
    for (const [index, row] of rows.entries()) {
      const response = await fire(row.postback_url!, (name, macro) => (name === 'click_id' ? clicks[index]! : macro));
      expect([row.id, response.statusCode, response.json().status]).toEqual([row.id, 200, 'accepted']);
      expect(response.json().warnings).toEqual(expect.arrayContaining([expect.stringMatching(/^payout .* looks like an unreplaced macro/)]));
    }
  });
});

test('the templates are in /docs', async () => {
  const spec = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
  expect(spec.paths[TEMPLATES]?.get?.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'network_id', in: 'query' })]));
});

test('the data: each postback starts with click_id, names each /cf/cv parameter once, and has a sub-id for offer URLs', () => {
  for (const template of POSTBACK_TEMPLATES) {
    if (template.postback === null) continue;
    expect(template.postback[0]?.[0]).toBe('click_id');
    const names = template.postback.map(([name]) => name);
    expect(new Set(names).size).toBe(names.length);
  }
  expect(new Set(POSTBACK_TEMPLATES.map((template) => template.id)).size).toBe(POSTBACK_TEMPLATES.length);
});

test("the README's templates table is the same data", () => {
  const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
  for (const template of POSTBACK_TEMPLATES) {
    const row = readme.split('\n').find((line) => line.startsWith(`| ${template.network} | ${template.platform} | `));
    expect([template.id, row !== undefined]).toEqual([template.id, true]);
    if (template.postback) expect(row).toContain(`\`/cf/cv?${template.postback.map(([name, macro]) => `${name}=${macro}`).join('&')}\``);
    expect(row).toContain(`\`${template.offerUrlParameter.split(' (')[0]}\``);
    expect(row).toContain(`| ${template.confidence} |`);
  }
});
