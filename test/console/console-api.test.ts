import { auth, type TestApp, useTestApp } from '../support/app';
import type { TestDatabase } from '../support/database';
import { createClicks, createFunnel, type Funnel } from '../support/fixtures';

let testDb: TestDatabase;
let t: TestApp;

useTestApp((db, app) => {
  testDb = db;
  t = app;
});

const get = (url: string) => t.app.inject({ method: 'GET', url, headers: auth });
const post = (url: string, payload?: unknown) =>
  t.app.inject({ method: 'POST', url, headers: payload === undefined ? auth : { ...auth, 'content-type': 'application/json' }, ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }) });
const patch = (url: string, payload: unknown) => t.app.inject({ method: 'PATCH', url, headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
/** A postback as a network's server sends it, from `ip`. */
const postback = (query: string, ip = '198.51.100.7') => t.app.inject({ method: 'GET', url: `/cf/cv?${query}`, remoteAddress: ip });

async function lastAttempt(filter: string): Promise<{ id: string; [key: string]: unknown }> {
  const log = await get(`/api/v1/postback-log?${filter}&limit=1`);
  expect(log.statusCode).toBe(200);
  return log.json().items[0];
}

/** Everything explain could write to, as one comparable fingerprint. */
async function fingerprint(): Promise<string> {
  const tables = ['conversions', 'registration_log', 'conversion_types', 'clicks', 'networks', 'offers', 'fx_rates'];
  const parts = await Promise.all(
    tables.map(async (table) => {
      const result = await testDb.db.raw(`SELECT count(*)::text AS n, coalesce(sum(hashtext(t::text)::bigint), 0)::text AS h FROM ${table} t`);
      return `${table}:${result.rows[0].n}:${result.rows[0].h}`;
    }),
  );
  return parts.join(' ');
}

describe('register again', () => {
  let funnel: Funnel;
  let clickId: string;

  beforeAll(async () => {
    funnel = await createFunnel(testDb.db, { network: { name: 'Listed network', postback_ips: ['203.0.113.0/24'] } });
    [clickId] = (await createClicks(testDb.db, funnel.campaignId, 1)) as [string];
  });

  test('an attempt rejected for its address registers once its IP is listed, with the evidence kept at receipt, and only once', async () => {
    const first = await postback(`click_id=${clickId}&payout=7.25&txid=IP-1`);
    expect(first.json().reason).toBe('ip_not_allowed');
    const attempt = await lastAttempt(`network_id=${funnel.networkId}&outcome=rejected`);
    expect(attempt).toMatchObject({ reason: 'ip_not_allowed', client_ip: '198.51.100.7', times_seen: 1, txid: 'IP-1', registered_again_as: null });

    const detail = await get(`/api/v1/postback-log/${attempt.id}`);
    expect(detail.json()).toMatchObject({ can_register_again: true, guide: { title: "The postback came from an address outside the network's allow-list" } });
    expect(detail.json().request).toMatchObject({ path: '/cf/cv', query: { click_id: clickId, payout: '7.25', txid: 'IP-1' }, ip: '198.51.100.7' });

    // The operator's own request (admin token, another address) grants nothing: the kept IP is judged.
    expect((await patch(`/api/v1/networks/${funnel.networkId}`, { postback_ips: ['203.0.113.0/24', '198.51.100.7'] })).statusCode).toBe(200);
    const retried = await post(`/api/v1/postback-log/${attempt.id}/retry`);
    expect(retried.statusCode).toBe(200);
    expect(retried.json()).toMatchObject({ attempt_id: attempt.id, outcome: { status: 'accepted', reason: null } });
    const logged = await get(`/api/v1/postback-log/${retried.json().logged_as}`);
    expect(logged.json()).toMatchObject({ rematch_of: attempt.id, outcome: 'accepted', client_ip: '198.51.100.7', source: 'postback' });

    const again = await post(`/api/v1/postback-log/${attempt.id}/retry`);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('already_registered_again');
    const conversions = await get(`/api/v1/conversions?txid=IP-1`);
    expect(conversions.json().items).toHaveLength(1);
    expect(conversions.json().items[0]).toMatchObject({ payout: '7.25', source: 'postback' });
  });

  test('before the cause is fixed a register-again is rejected again, and that new attempt can be registered again later', async () => {
    const network = await createFunnel(testDb.db, { network: { name: 'Strict network', postback_ips: ['203.0.113.9'] } });
    const [click] = (await createClicks(testDb.db, network.campaignId, 1)) as [string];
    await postback(`click_id=${click}&payout=3&txid=CHAIN-1`);
    const original = await lastAttempt(`network_id=${network.networkId}`);
    const tooEarly = await post(`/api/v1/postback-log/${original.id}/retry`);
    expect(tooEarly.json().outcome).toMatchObject({ status: 'rejected', reason: 'ip_not_allowed' });
    const second = tooEarly.json().logged_as as string;
    expect((await get(`/api/v1/postback-log/${original.id}`)).json()).toMatchObject({ can_register_again: false, registered_again_as: second });
    await patch(`/api/v1/networks/${network.networkId}`, { postback_ips: null });
    const fixed = await post(`/api/v1/postback-log/${second}/retry`);
    expect(fixed.json().outcome.status).toBe('accepted');
  });

  test('concurrent register-agains of one attempt count the conversion once', async () => {
    const network = await createFunnel(testDb.db, { network: { name: 'Race network', postback_ips: ['203.0.113.9'], duplicate_policy: 'accept' } });
    const [click] = (await createClicks(testDb.db, network.campaignId, 1)) as [string];
    await postback(`click_id=${click}&payout=4`);
    const attempt = await lastAttempt(`network_id=${network.networkId}`);
    await patch(`/api/v1/networks/${network.networkId}`, { postback_ips: ['198.51.100.0/24'] });
    const answers = await Promise.all(Array.from({ length: 6 }, () => post(`/api/v1/postback-log/${attempt.id}/retry`)));
    expect(answers.every((answer) => answer.statusCode === 200 || answer.statusCode === 409)).toBe(true);
    const count = await testDb.db.raw('SELECT count(*)::int AS n FROM conversions WHERE click_id = ?', [click]);
    expect(count.rows[0].n).toBe(1);
    const rows = await testDb.db.raw('SELECT count(*)::int AS n FROM registration_log WHERE rematch_of = ?', [attempt.id]);
    expect(rows.rows[0].n).toBe(1);
  });

  test('a token is judged by the digest of the one presented at receipt: setting the network token to it lets the attempt register', async () => {
    const network = await createFunnel(testDb.db, { network: { name: 'Token network', postback_token: 'the-old-token-0123456789' } });
    const [click] = (await createClicks(testDb.db, network.campaignId, 1)) as [string];
    const sent = await postback(`click_id=${click}&payout=9&txid=TOK-1&token=the-network-sends-this-token`);
    expect(sent.json().reason).toBe('invalid_token');
    const attempt = await lastAttempt(`network_id=${network.networkId}`);
    expect(JSON.stringify(attempt)).not.toContain('the-network-sends-this-token');
    // The admin's bearer token proves nothing about the postback.
    expect((await post(`/api/v1/postback-log/${attempt.id}/retry`)).json().outcome.reason).toBe('invalid_token');
    const second = (await get(`/api/v1/postback-log/${attempt.id}`)).json().registered_again_as as string;
    await patch(`/api/v1/networks/${network.networkId}`, { postback_token: 'the-network-sends-this-token' });
    expect((await post(`/api/v1/postback-log/${second}/retry`)).json().outcome.status).toBe('accepted');
  });

  test('accepted attempts and rejections of the request itself cannot be registered again', async () => {
    const network = await createFunnel(testDb.db, { network: { name: 'Open network' } });
    const [click] = (await createClicks(testDb.db, network.campaignId, 1)) as [string];
    await postback(`click_id=${click}&payout=2&txid=OK-1`);
    const accepted = await lastAttempt(`network_id=${network.networkId}`);
    const refused = await post(`/api/v1/postback-log/${accepted.id}/retry`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('not_rejected');
    await postback('click_id={clickid}&payout=2');
    const macro = await lastAttempt('reason=unreplaced_macro');
    const detail = await get(`/api/v1/postback-log/${macro.id}`);
    expect(detail.json()).toMatchObject({ can_register_again: false, guide: { title: 'The click ID is a placeholder the network never filled in' } });
    expect(detail.json().register_again_refusal).toMatch(/the sender must fix it/);
    expect((await post(`/api/v1/postback-log/${macro.id}/retry`)).json().error.code).toBe('not_fixable_here');
    expect((await post('/api/v1/postback-log/999999999/retry')).statusCode).toBe(404);
    expect((await get('/api/v1/postback-log/abc')).statusCode).toBe(404);
  });

  test('an unknown click imported later: registering the attempt again matches it (the same path click import re-matching takes)', async () => {
    await postback('click_id=imported-later-1&payout=6&txid=LATE-1');
    const attempt = await lastAttempt('click_id=imported-later-1');
    expect(attempt.reason).toBe('unknown_click_id');
    const network = await createFunnel(testDb.db, { network: { name: 'Late network' } });
    await testDb.db.raw("INSERT INTO clicks (click_id, campaign_id, offer_id) SELECT 'imported-later-1', id, offer_id FROM campaigns WHERE id = ?", [network.campaignId]);
    expect((await post(`/api/v1/postback-log/${attempt.id}/retry`)).json().outcome.status).toBe('accepted');
  });
});

describe('postback log filters', () => {
  test('by network, txid and receipt time; rows carry client IP, times seen and last seen', async () => {
    const network = await createFunnel(testDb.db, { network: { name: 'Filter network' } });
    const [click] = (await createClicks(testDb.db, network.campaignId, 1)) as [string];
    const before = new Date(Date.now() - 1000).toISOString();
    await postback(`click_id=${click}&payout=1&txid=F-1`, '192.0.2.44');
    const byNetwork = await get(`/api/v1/postback-log?network_id=${network.networkId}`);
    expect(byNetwork.json().items).toHaveLength(1);
    expect(byNetwork.json().items[0]).toMatchObject({ txid: 'F-1', client_ip: '192.0.2.44', times_seen: 1, network_id: network.networkId });
    expect(byNetwork.json().items[0].last_seen_at).toBe(byNetwork.json().items[0].received_at);
    expect((await get(`/api/v1/postback-log?txid=F-1&from=${encodeURIComponent(before)}`)).json().items).toHaveLength(1);
    expect((await get(`/api/v1/postback-log?txid=F-1&to=${encodeURIComponent(before)}`)).json().items).toHaveLength(0);
    expect((await get('/api/v1/postback-log?network_id=nope')).statusCode).toBe(400);
  });
});

describe('explain', () => {
  let funnel: Funnel;
  let clicks: string[];

  beforeAll(async () => {
    funnel = await createFunnel(testDb.db, {
      network: { name: 'Explained network', postback_token: 'explain-token-0123456789', currency: 'EUR' },
      offer: { name: 'Explained offer', payout_mode: 'manual', payout: '20.00' },
    });
    clicks = await createClicks(testDb.db, funnel.campaignId, 3);
  });

  const explain = (body: unknown) => post('/api/v1/explain', body);

  test('a good postback: every step passes, priced by the manual offer, would be accepted — and nothing is written', async () => {
    const before = await fingerprint();
    const answer = await explain({ url: `http://localhost/cf/cv?click_id=${clicks[0]}&payout=5.50&txid=EX-1&token=explain-token-0123456789` });
    expect(answer.statusCode).toBe(200);
    const body = answer.json();
    expect(body.verdict).toMatchObject({ status: 'accepted', http_status: 200, conversion_id: null });
    expect(body.steps.map((step: { key: string; status: string }) => `${step.key}:${step.status}`)).toEqual(['request:ok', 'fields:ok', 'click:ok', 'trust:ok', 'price:warn', 'identity:ok', 'outcome:ok']);
    const price = body.steps.find((step: { key: string }) => step.key === 'price');
    expect(price.summary).toMatch(/fixed 20\.00 EUR/);
    expect(price.details.find((detail: { label: string }) => detail.label === 'in USD').value).toMatch(/no FX rate for EUR/);
    expect(answer.body).not.toContain('explain-token-0123456789');
    expect(await fingerprint()).toBe(before);
  });

  test('a duplicate: explain shows the existing conversion and the attempts that registered it', async () => {
    const sent = await postback(`click_id=${clicks[1]}&payout=5&txid=EX-2&token=explain-token-0123456789`);
    expect(sent.json().status).toBe('accepted');
    const before = await fingerprint();
    const body = (await explain({ url: `/cf/cv?click_id=${clicks[1]}&payout=5&txid=EX-2&token=explain-token-0123456789` })).json();
    expect(body.verdict).toMatchObject({ status: 'duplicate', reason: 'unchanged', conversion_id: sent.json().conversion_id });
    expect(body.history.attempts).toHaveLength(1);
    expect(body.history.conversions).toHaveLength(1);
    expect(body.history.conversions[0]).toMatchObject({ txid: 'EX-2', status: 'approved' });
    expect(await fingerprint()).toBe(before);
  });

  test.each([
    ['a missing token', (click: string) => `click_id=${click}&payout=5`, 'trust', 'invalid_token', 401],
    ['an unreplaced macro', () => 'click_id=%7Bclickid%7D&payout=5', 'fields', 'unreplaced_macro', 400],
    ['an unknown click', () => 'click_id=never-issued-click&payout=5', 'click', 'unknown_click_id', 404],
  ])('%s: the failing step says why, the verdict says how to fix it', async (_name, query, failing, reason, http) => {
    const before = await fingerprint();
    const body = (await explain({ url: `?${query(clicks[2] as string)}` })).json();
    expect(body.verdict).toMatchObject({ status: 'rejected', reason, http_status: http });
    expect(body.steps.find((step: { key: string }) => step.key === failing).status).toBe('fail');
    expect(body.guide.fix.length).toBeGreaterThan(20);
    expect(await fingerprint()).toBe(before);
  });

  test('a wrong path, an image pixel the network does not accept, and the sender outside the IP list', async () => {
    const path = (await explain({ url: `https://localhost/postback?click_id=${clicks[2]}` })).json();
    expect(path.steps[0]).toMatchObject({ key: 'request', status: 'fail' });
    expect(path.steps[0].summary).toMatch(/not at \/postback/);
    const pixel = (await explain({ url: `/cf/cv?click_id=${clicks[2]}&payout=1`, route: 'pixel' })).json();
    expect(pixel.verdict).toMatchObject({ status: 'rejected', reason: 'route_not_allowed', http_status: 200 });
    const listed = await createFunnel(testDb.db, { network: { name: 'IP network', postback_ips: ['203.0.113.0/24'] } });
    const [click] = (await createClicks(testDb.db, listed.campaignId, 1)) as [string];
    const assumed = (await explain({ url: `/cf/cv?click_id=${click}&payout=1` })).json();
    expect(assumed.verdict.status).toBe('accepted');
    expect(assumed.steps.find((step: { key: string }) => step.key === 'trust').details).toContainEqual({ label: 'sender', value: expect.stringMatching(/not given/) });
    const outside = (await explain({ url: `/cf/cv?click_id=${click}&payout=1`, client_ip: '192.0.2.1' })).json();
    expect(outside.verdict).toMatchObject({ status: 'rejected', reason: 'ip_not_allowed', http_status: 403 });
  });

  test('a click ID: where it leads, what a postback must carry, what happened', async () => {
    const body = (await explain({ click_id: clicks[1]!.toUpperCase() })).json();
    expect(body.kind).toBe('click_id');
    expect(body.steps[0]).toMatchObject({ key: 'click', status: 'ok' });
    expect(body.steps[0].summary).toContain('network "Explained network"');
    expect(body.steps[1].summary).toMatch(/token=<the network's own postback token>/);
    expect(body.history.conversions).toHaveLength(1);
    const unknown = (await explain({ click_id: 'someone-elses-id' })).json();
    expect(unknown.steps[0].status).toBe('fail');
    expect(unknown.steps[0].summary).toMatch(/does not look like a click ID Tally issued/);
  });

  test('bad input gets a 400 that says what to send', async () => {
    expect((await explain({})).json().error.message).toMatch(/send either url or click_id/);
    expect((await explain({ url: 'http://[bad' })).json().error.message).toMatch(/not a URL/);
    expect((await explain({ url: 'x', client_ip: 'nope' })).statusCode).toBe(400);
  });
});

describe('conversions export', () => {
  test('CSV of the filtered conversions, with formula-like cells escaped and amounts left as numbers', async () => {
    const funnel = await createFunnel(testDb.db, { network: { name: 'Export network' } });
    const [click] = (await createClicks(testDb.db, funnel.campaignId, 1)) as [string];
    expect((await postback(`click_id=${click}&payout=12.50&txid=${encodeURIComponent('=HYPERLINK("http://x","y")')}&param1=${encodeURIComponent('@SUM(A1)')}`)).json().status).toBe('accepted');
    expect((await postback(`click_id=${click}&payout=-3.10&txid=REFUND-1&ct=refund`)).json().status).toBe('accepted');
    const csv = await get(`/api/v1/conversions/export?campaign_id=${funnel.campaignId}`);
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="tally-conversions-\d{8}-\d{6}\.csv"$/);
    const lines = csv.body.trimEnd().split('\r\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^id,occurred_at,visit_at,received_at,click_id,txid,type,status,/);
    expect(lines[1]).toContain(',REFUND-1,refund,approved,,-3.10,USD,');
    expect(lines[2]).toContain(`,"'=HYPERLINK(""http://x"",""y"")",conversion,approved,,12.50,USD,`);
    expect(lines[2]).toContain('Export network');
    expect(lines[2]).toContain(`"{""param1"":""@SUM(A1)""}"`);
    expect((await get('/api/v1/conversions/export?status=maybe')).statusCode).toBe(400);
  });

  test('the list filters by campaign, offer and network, and shows network_status', async () => {
    const funnel = await createFunnel(testDb.db, { network: { name: 'Listed filters' } });
    const [click] = (await createClicks(testDb.db, funnel.campaignId, 1)) as [string];
    await postback(`click_id=${click}&payout=1&txid=L-1`);
    for (const filter of [`campaign_id=${funnel.campaignId}`, `offer_id=${funnel.offerId}`, `network_id=${funnel.networkId}`]) {
      const items = (await get(`/api/v1/conversions?${filter}`)).json().items;
      expect([filter, items.length, items[0].network_status]).toEqual([filter, 1, null]);
    }
  });
});

describe('reports, pull activity, campaigns', () => {
  test('reports group by day and source together', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const rows = (await get(`/api/v1/reports?group_by=day,source&from=${today}&to=${today}`)).json().rows;
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((row: Record<string, unknown>) => row.day === today && row.source === 'postback')).toBe(true);
    const bySource = (await get(`/api/v1/reports?group_by=source&from=${today}&to=${today}`)).json().rows;
    expect(bySource).toEqual([{ source: 'postback', conversions: expect.any(Number), revenue: expect.any(String) }]);
    expect((await get(`/api/v1/reports?group_by=day,day&from=${today}&to=${today}`)).json().error.message).toMatch(/two of them separated by a comma/);
  });

  test('pull runs, backfills and schedules answer (empty without queues)', async () => {
    expect((await get('/api/v1/pull-runs')).json()).toEqual({ items: [] });
    expect((await get('/api/v1/backfills')).json()).toEqual({ items: [] });
    expect((await get('/api/v1/schedules')).json()).toEqual({ queues: false, items: [] });
  });

  test('a campaign can be renamed and pointed at another offer; its click URL stays', async () => {
    const funnel = await createFunnel(testDb.db);
    const other = await post('/api/v1/offers', { name: 'Other offer', url: 'https://other.example/?s={cf_click_id}' });
    const changed = await patch(`/api/v1/campaigns/${funnel.campaignId}`, { name: 'Renamed', offer_id: other.json().id });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toMatchObject({ name: 'Renamed', offer_id: other.json().id, click_url: `http://localhost:80/cf/click/${funnel.campaignId}` });
    expect((await patch(`/api/v1/campaigns/${funnel.campaignId}`, {})).statusCode).toBe(400);
    expect((await patch('/api/v1/campaigns/00000000-0000-4000-8000-000000000000', { name: 'x' })).statusCode).toBe(404);
  });
});
