import Redis from 'ioredis';
import { clickIdTime } from '../../src/catalog/click-id';
import { createDb } from '../../src/db/database';
import type { TestDatabase } from '../support/database';
import { auth, createTestApp, type TestApp, useTestApp } from '../support/app';
import { createClicks, createFunnel } from '../support/fixtures';

let testDb: TestDatabase;
let t: TestApp;

useTestApp((db, app) => {
  testDb = db;
  t = app;
});

async function funnelWithClick(options: Parameters<typeof createFunnel>[1] = {}) {
  const funnel = await createFunnel(testDb.db, options);
  const [clickId] = await createClicks(testDb.db, funnel.campaignId);
  return { ...funnel, clickId: clickId as string };
}

describe('GET /cf/click/:campaignId', () => {
  test('issues a time-ordered click ID, stores the click with its parameters, sets the cookie and redirects with tokens replaced', async () => {
    const funnel = await createFunnel(testDb.db, {
      offer: { url: 'https://offer.example/land?s2={cf_click_id}&cid={click_id}&c={campaign_id}&o={offer_id}&keep={unknown}' },
    });
    const before = Date.now();
    const first = await t.app.inject({ method: 'GET', url: `/cf/click/${funnel.campaignId}?sub1=fb&utm_source=meta%20ads` });
    const second = await t.app.inject({ method: 'GET', url: `/cf/click/${funnel.campaignId}` });
    expect(first.statusCode).toBe(302);
    const location = new URL(first.headers.location as string);
    const clickId = location.searchParams.get('s2') as string;
    expect(clickId).toMatch(/^[0-9a-hjkmnp-tv-z]{24}$/);
    expect(location.searchParams.get('cid')).toBe(clickId);
    expect(location.searchParams.get('c')).toBe(funnel.campaignId);
    expect(location.searchParams.get('o')).toBe(funnel.offerId);
    expect(location.searchParams.get('keep')).toBe('{unknown}');
    expect(clickIdTime(clickId)).toBeGreaterThanOrEqual(before - 1);
    const secondId = new URL(second.headers.location as string).searchParams.get('s2') as string;
    expect(secondId > clickId).toBe(true);
    expect(first.headers['set-cookie']).toMatch(new RegExp(`^cf_click_id=${clickId}; Max-Age=7776000; Path=/; HttpOnly; SameSite=Lax$`));
    const stored = await testDb.db('clicks').where({ click_id: clickId }).first();
    expect(stored).toMatchObject({ campaign_id: funnel.campaignId, offer_id: funnel.offerId, params: { sub1: 'fb', utm_source: 'meta ads' } });
  });

  test('URL-encodes replaced values', async () => {
    const funnel = await createFunnel(testDb.db, { offer: { url: 'https://offer.example/{campaign_id}/?x={cf_click_id}' } });
    const response = await t.app.inject({ method: 'GET', url: `/cf/click/${funnel.campaignId}` });
    expect(response.headers.location).toMatch(new RegExp(`^https://offer.example/${funnel.campaignId}/\\?x=[0-9a-z]{24}$`));
  });

  test('over HTTPS the cookie is SameSite=None; Secure so a cross-site pixel may carry it', async () => {
    const secure = await createTestApp(testDb, {}, { trustProxy: 1 });
    const funnel = await createFunnel(testDb.db);
    const response = await secure.app.inject({ method: 'GET', url: `/cf/click/${funnel.campaignId}`, headers: { 'x-forwarded-proto': 'https' } });
    expect(response.headers['set-cookie']).toMatch(/SameSite=None; Secure$/);
    await secure.app.close();
  });

  test('an unknown campaign is a 404 with a reason', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const response = await t.app.inject({ method: 'GET', url: `/cf/click/${id}` });
      expect(response.statusCode).toBe(404);
      expect(response.json()).toEqual({ error: { code: 'campaign_not_found', message: `campaign ${id} does not exist` } });
    }
  });
});

describe('GET|POST /cf/cv', () => {
  test('registers an S2S postback and answers only with the committed outcome', async () => {
    const { clickId } = await funnelWithClick();
    const response = await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&payout=4.20&txid=A1&ct=sale&param1=kw` });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toEqual({ status: 'accepted', reason: null, message: null, conversion_id: expect.stringMatching(/^\d+$/) });
    const row = await testDb.db('conversions').where({ id: body.conversion_id }).first();
    expect(row).toMatchObject({ click_id: clickId, payout: '4.200000', txid: 'A1', type: 'sale', source: 'postback', params: { param1: 'kw' } });
  });

  test('duplicate, updated and the reasons of rejections map to status codes', async () => {
    const { clickId } = await funnelWithClick();
    const send = (query: string) => t.app.inject({ method: 'GET', url: `/cf/cv?${query}` });
    expect((await send(`click_id=${clickId}&txid=B&status=pending`)).statusCode).toBe(200);
    const duplicate = await send(`click_id=${clickId}&txid=B&status=pending`);
    expect([duplicate.statusCode, duplicate.json().status, duplicate.json().reason]).toEqual([200, 'duplicate', 'unchanged']);
    const updated = await send(`click_id=${clickId}&txid=B&status=approved`);
    expect([updated.statusCode, updated.json().status, updated.json().reason]).toEqual([200, 'updated', 'changed']);
    const unknown = await send('click_id=nosuchclick&payout=1');
    expect([unknown.statusCode, unknown.json().reason]).toEqual([404, 'unknown_click_id']);
    const macro = await send('click_id=%23s2%23&payout=1');
    expect([macro.statusCode, macro.json().reason]).toEqual([400, 'unreplaced_macro']);
    const badPayout = await send(`click_id=${clickId}&payout=ten`);
    expect([badPayout.statusCode, badPayout.json().reason]).toEqual([400, 'invalid_payout']);
    expect(badPayout.json().message).toMatch(/not a decimal number/);
    const missing = await send('payout=1');
    expect([missing.statusCode, missing.json().reason]).toEqual([400, 'missing_click_id']);
  });

  test('the /cf/postback alias with cid, form and JSON bodies; JSON numbers keep their exact digits', async () => {
    const { clickId } = await funnelWithClick();
    const alias = await t.app.inject({ method: 'GET', url: `/cf/postback?cid=${clickId}&txid=P1` });
    expect(alias.json().status).toBe('accepted');
    const form = await t.app.inject({ method: 'POST', url: '/cf/cv', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `click_id=${clickId}&txid=P2&payout=2.5` });
    expect(form.json().status).toBe('accepted');
    const json = await t.app.inject({ method: 'POST', url: '/cf/cv', headers: { 'content-type': 'application/json' }, payload: `{"click_id":"${clickId}","txid":"P3","payout":12.345678}` });
    expect(json.json().status).toBe('accepted');
    const row = await testDb.db('conversions').where({ click_id: clickId, txid: 'P3' }).first();
    expect(row.payout).toBe('12.345678');
    const broken = await t.app.inject({ method: 'POST', url: '/cf/cv', headers: { 'content-type': 'application/json' }, payload: '{"click_id":' });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.code).toBe('invalid_json');
  });

  test('an image request always gets a 1x1 GIF; the outcome is in the log', async () => {
    const { clickId } = await funnelWithClick();
    const ok = await t.app.inject({ method: 'GET', url: `/cf/cv?payout=3&txid=IMG1`, headers: { 'sec-fetch-dest': 'image', cookie: `cf_click_id=${clickId}` } });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toBe('image/gif');
    expect(ok.rawPayload.subarray(0, 6).toString()).toBe('GIF89a');
    const rejected = await t.app.inject({ method: 'GET', url: '/cf/cv?payout=3', headers: { accept: 'image/avif,image/webp,*/*' } });
    expect([rejected.statusCode, rejected.headers['content-type']]).toEqual([200, 'image/gif']);
    const [row] = await testDb.db('conversions').where({ click_id: clickId });
    expect(row).toMatchObject({ source: 'pixel', txid: 'IMG1' });
    const log = await testDb.db('registration_log').where({ source: 'pixel', reason: 'missing_click_id' });
    expect(log.length).toBeGreaterThan(0);
  });

  test('pixel: the cookie replaces a missing or placeholder click ID, a real one in the URL wins', async () => {
    const { clickId } = await funnelWithClick();
    const [other] = await createClicks(testDb.db, (await createFunnel(testDb.db)).campaignId);
    const viaPlaceholder = await t.app.inject({ method: 'GET', url: '/cf/cv?click_id=OPTIONAL&txid=C1', headers: { cookie: `x=1; cf_click_id=${clickId}` } });
    expect(viaPlaceholder.json()).toMatchObject({ status: 'accepted', warnings: ['click ID "OPTIONAL" in the URL was a placeholder; used the cf_click_id cookie'] });
    const explicit = await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${other}&txid=C2`, headers: { cookie: `cf_click_id=${clickId}` } });
    expect(explicit.json().status).toBe('accepted');
    expect(await testDb.db('conversions').where({ click_id: other, txid: 'C2' })).toHaveLength(1);
    const [logged] = await testDb.db('registration_log').where({ txid: 'C1' });
    expect(logged.request).toMatchObject({ cookie_click_id: clickId, query: { click_id: 'OPTIONAL', txid: 'C1' } });
  });

  test('src=script marks conversions from the conversion script', async () => {
    const { clickId } = await funnelWithClick();
    await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&src=script&txid=S1`, headers: { 'sec-fetch-dest': 'image' } });
    expect((await testDb.db('conversions').where({ click_id: clickId }).first()).source).toBe('script');
  });

  test('concurrent postbacks share group commits and the same one registers exactly once', async () => {
    const { clickId } = await funnelWithClick();
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=${index < 20 ? 'SAME' : `U${index}`}&payout=1` }),
      ),
    );
    const statuses = responses.map((response) => response.json().status);
    expect(statuses.filter((status) => status === 'accepted')).toHaveLength(21);
    expect(statuses.filter((status) => status === 'duplicate')).toHaveLength(19);
    expect(await testDb.db('conversions').where({ click_id: clickId })).toHaveLength(21);
    const batches = await t.ctx.metrics.intakeBatchSize.get();
    const count = batches.values.find((value) => value.metricName === 'tally_intake_batch_size_count')?.value ?? 0;
    const sum = batches.values.find((value) => value.metricName === 'tally_intake_batch_size_sum')?.value ?? 0;
    expect(sum / count).toBeGreaterThan(1);
  });

  test('413 for a large body and 414 for a long URL', async () => {
    const large = await t.app.inject({ method: 'POST', url: '/cf/cv', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `click_id=x&param1=${'a'.repeat(70_000)}` });
    expect(large.statusCode).toBe(413);
    expect(large.json().error.code).toBe('payload_too_large');
    const long = await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=x&param1=${'a'.repeat(9000)}` });
    expect(long.statusCode).toBe(414);
  });
});

describe('POSTBACK_TOKEN', () => {
  test('a missing or wrong token is a 401, logged with its reason and without the token', async () => {
    const guarded = await createTestApp(testDb, { postbackToken: 's3cret-token' });
    const { clickId } = await funnelWithClick();
    const missing = await guarded.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=T1` });
    expect([missing.statusCode, missing.json().reason]).toEqual([401, 'invalid_token']);
    const wrong = await guarded.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=T1&token=guess` });
    expect(wrong.statusCode).toBe(401);
    const right = await guarded.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=T1&token=s3cret-token` });
    expect([right.statusCode, right.json().status]).toEqual([200, 'accepted']);
    const log = await testDb.db('registration_log').where({ reason: 'invalid_token' });
    expect(log.length).toBeGreaterThanOrEqual(2);
    const everything = JSON.stringify(await testDb.db('registration_log').select('request', 'fields'));
    expect(everything).not.toContain('s3cret-token');
    expect(everything).not.toContain('guess');
    await guarded.app.close();
  });
});

describe('per-network postback IP allow-list', () => {
  test('S2S postbacks from other addresses are refused with 403 and logged; with an IP list browser routes are refused unless accepted explicitly', async () => {
    const { clickId } = await funnelWithClick({ network: { postback_ips: ['203.0.113.0/24', '2001:db8::/32'] } });
    const refused = await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=I1`, remoteAddress: '198.51.100.7' });
    expect([refused.statusCode, refused.json().reason]).toEqual([403, 'ip_not_allowed']);
    expect(refused.json().message).toMatch(/198\.51\.100\.7/);
    const allowed = await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=I1`, remoteAddress: '203.0.113.50' });
    expect(allowed.statusCode).toBe(200);
    const ipv6 = await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=I2`, remoteAddress: '2001:db8::5' });
    expect(ipv6.statusCode).toBe(200);
    // A request that presents itself as a pixel does not get around the list: the route is refused.
    const pixel = await t.app.inject({ method: 'GET', url: `/cf/cv?txid=I3`, remoteAddress: '198.51.100.7', headers: { 'sec-fetch-dest': 'image', cookie: `cf_click_id=${clickId}` } });
    expect(pixel.statusCode).toBe(200);
    expect(pixel.headers['content-type']).toBe('image/gif');
    expect(await testDb.db('conversions').where({ click_id: clickId })).toHaveLength(2);
    const [logged] = await testDb.db('registration_log').where({ click_id: clickId, source: 'pixel' });
    expect(logged).toMatchObject({ outcome: 'rejected', reason: 'route_not_allowed', client_ip: '198.51.100.7' });
  });
});

describe('script, health and metrics', () => {
  test('GET /cf/script.js serves the dependency-free script', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/cf/script.js' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/javascript; charset=utf-8');
    expect(response.body).toContain("'/cf/cv?'");
    expect(response.body).not.toMatch(/\brequire\(|\bimport\s/);
    expect(response.body.length).toBeLessThan(8000);
  });

  test('healthz, readyz and metrics', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await t.app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'ready', checks: { postgres: 'ok', spool: 'disabled' } });
    expect((await t.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics', headers: auth });
    expect(metrics.body).toMatch(/tally_registrations_total\{source="postback",outcome="accepted",reason=""\} \d+/);
    expect(metrics.body).toContain('tally_http_request_duration_seconds_bucket');
  });

  test('readyz: ready while a postback can be made durable; every dependency listed by state', async () => {
    // Redis is not needed to take a postback (the flood limits fail open): listed, not required.
    const deadRedis = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    deadRedis.on('error', () => undefined);
    const withRedis = await createTestApp(testDb);
    (withRedis.ctx as { redis?: unknown }).redis = deadRedis;
    const response = await withRedis.app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'unreachable', spool: 'disabled' } });
    deadRedis.disconnect();
    await withRedis.app.close();

    // Without a spool, Postgres away means no postback can be made durable.
    const deadDb = createDb('postgres://postgres@127.0.0.1:1/none');
    const withoutDb = await createTestApp(testDb);
    (withoutDb.ctx as { db: unknown }).db = deadDb;
    const down = await withoutDb.app.inject({ method: 'GET', url: '/readyz' });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toEqual({ status: 'not_ready', checks: { postgres: 'unreachable', spool: 'disabled' } });
    expect(down.body).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    await withoutDb.app.close();
    await deadDb.destroy();
  });

  test('the admin API needs the token', async () => {
    const none = await t.app.inject({ method: 'GET', url: '/api/v1/conversions' });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe('unauthorized');
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/conversions', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/conversions', headers: auth })).statusCode).toBe(200);
  });
});
