import { loadConfig } from '../../src/config/config';
import { tokenDigest } from '../../src/trust/token-digest';
import { auth, createTestApp, testConfig, type TestApp, useTestApp } from '../support/app';
import type { TestDatabase } from '../support/database';
import { createClicks, createFunnel } from '../support/fixtures';

let testDb: TestDatabase;
let t: TestApp;
const TOKEN = 'net-token-0123456789abcdef';
const NEW_TOKEN = 'net-token-rotated-9876543210';

useTestApp((db, app) => {
  testDb = db;
  t = app;
});

async function networkWith(body: Record<string, unknown>, app: TestApp = t): Promise<{ networkId: string; clickId: string; campaignId: string }> {
  const network = await app.app.inject({ method: 'POST', url: '/api/v1/networks', headers: auth, payload: { name: 'Trust test', ...body } });
  expect(network.statusCode).toBe(201);
  const funnel = await createFunnel(testDb.db);
  await testDb.db('offers').where({ id: funnel.offerId }).update({ network_id: network.json().id });
  const [clickId] = await createClicks(testDb.db, funnel.campaignId);
  return { networkId: network.json().id, clickId: clickId as string, campaignId: funnel.campaignId };
}

const image = { 'sec-fetch-dest': 'image' };

describe("a network's own postback token", () => {
  test('S2S postbacks must carry it; the answer and the log never show it', async () => {
    const { clickId, networkId } = await networkWith({ postback_token: TOKEN });
    const missing = await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=T1` });
    expect([missing.statusCode, missing.json().reason]).toEqual([401, 'invalid_token']);
    expect(missing.json().message).toMatch(/carries no token/);
    const wrong = await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=T1&token=wrong-token-0000000000` });
    expect([wrong.statusCode, wrong.json().reason]).toEqual([401, 'invalid_token']);
    const right = await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=T1&token=${TOKEN}` });
    expect([right.statusCode, right.json().status]).toEqual([200, 'accepted']);

    const rows = await testDb.db('registration_log').where({ click_id: clickId }).orWhere({ txid: 'T1' });
    expect(JSON.stringify(rows)).not.toContain(TOKEN);
    expect(rows.find((row) => row.outcome === 'accepted')?.token_digest).toBe(tokenDigest(Buffer.alloc(32, 1), TOKEN));
    const shown = await t.app.inject({ method: 'GET', url: `/api/v1/networks/${networkId}`, headers: auth });
    expect(shown.body).not.toContain(TOKEN);
    expect(shown.json()).toMatchObject({ postback_token: '[redacted]', has_postback_token: true, accepted_routes: ['postback'], forgeable: false });
  });

  test('rotation keeps the old token valid until previous_token_expires_at', async () => {
    const { clickId, networkId } = await networkWith({ postback_token: TOKEN });
    const soon = new Date(Date.now() + 60_000).toISOString();
    const rotated = await t.app.inject({ method: 'PATCH', url: `/api/v1/networks/${networkId}`, headers: auth, payload: { postback_token: NEW_TOKEN, previous_token_expires_at: soon } });
    expect(rotated.statusCode).toBe(200);
    expect(rotated.json().previous_token_expires_at).toBe(soon);
    expect((await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=R1&token=${TOKEN}` })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=R2&token=${NEW_TOKEN}` })).statusCode).toBe(200);
    // Expire the grace period: the old token stops working, the new one goes on.
    await t.app.inject({ method: 'PATCH', url: `/api/v1/networks/${networkId}`, headers: auth, payload: { postback_token: NEW_TOKEN } });
    await testDb.db('networks').where({ id: networkId }).update({ previous_token_expires_at: new Date(Date.now() - 1000) });
    expect((await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=R3&token=${TOKEN}` })).json().reason).toBe('invalid_token');
    expect((await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=R4&token=${NEW_TOKEN}` })).statusCode).toBe(200);
    // Removing the token removes both.
    await t.app.inject({ method: 'PATCH', url: `/api/v1/networks/${networkId}`, headers: auth, payload: { postback_token: null } });
    expect((await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=R5` })).statusCode).toBe(200);
  });

  test('a short or URL-unsafe token is refused with a reason', async () => {
    const short = await t.app.inject({ method: 'POST', url: '/api/v1/networks', headers: auth, payload: { name: 'x', postback_token: 'short' } });
    expect([short.statusCode, short.json().error.message]).toEqual([400, expect.stringMatching(/at least 16 characters/)]);
    const unsafe = await t.app.inject({ method: 'POST', url: '/api/v1/networks', headers: auth, payload: { name: 'x', postback_token: 'has spaces and & signs ok?' } });
    expect(unsafe.statusCode).toBe(400);
  });
});

describe('routes: what a client claims can only lose it rights', () => {
  test('a pixel or script request for a network with a token is refused route_not_allowed (the image still gets its GIF)', async () => {
    const { clickId } = await networkWith({ postback_token: TOKEN });
    const pixel = await t.app.inject({ method: 'GET', url: '/cf/cv?txid=P1', headers: { ...image, cookie: `cf_click_id=${clickId}` } });
    expect([pixel.statusCode, pixel.headers['content-type']]).toEqual([200, 'image/gif']);
    const script = await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=P2&src=script` });
    expect([script.statusCode, script.json().reason]).toEqual([403, 'route_not_allowed']);
    const acceptHeader = await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=P3`, headers: { accept: 'image/webp,*/*' } });
    expect(acceptHeader.headers['content-type']).toBe('image/gif');
    const log = await testDb.db('registration_log').where({ click_id: clickId }).orderBy('id');
    expect(log.map((row) => [row.source, row.reason])).toEqual([
      ['pixel', 'route_not_allowed'],
      ['script', 'route_not_allowed'],
      ['pixel', 'route_not_allowed'],
    ]);
    expect(await testDb.db('conversions').where({ click_id: clickId })).toHaveLength(0);
  });

  test('accepted_routes set explicitly lets browser routes in, and the API says the network is forgeable', async () => {
    const { clickId, networkId } = await networkWith({ postback_token: TOKEN, accepted_routes: ['postback', 'script'] });
    const answer = await t.app.inject({ method: 'GET', url: `/api/v1/networks`, headers: auth });
    const shown = answer.json().items.find((item: { id: string }) => item.id === networkId);
    expect(shown).toMatchObject({ forgeable: true, accepted_routes: ['postback', 'script'], accepted_routes_default: false });
    expect(shown.warnings[0]).toMatch(/anyone who knows a click ID/);
    const script = await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=S1&src=script` });
    expect(script.json()).toMatchObject({ status: 'accepted' });
    const pixel = await t.app.inject({ method: 'GET', url: `/cf/cv?txid=S2`, headers: { ...image, cookie: `cf_click_id=${clickId}` } });
    expect(pixel.headers['content-type']).toBe('image/gif');
    const [pixelLog] = await testDb.db('registration_log').where({ txid: 'S2' });
    expect(pixelLog.reason).toBe('route_not_allowed');
  });

  test('a network without token or IP list accepts all three routes, and the API warns', async () => {
    const { clickId, networkId } = await networkWith({});
    const shown = (await t.app.inject({ method: 'GET', url: `/api/v1/networks/${networkId}`, headers: auth })).json();
    expect(shown).toMatchObject({ forgeable: true, accepted_routes: ['postback', 'pixel', 'script'], accepted_routes_default: true });
    expect(shown.warnings.join(' ')).toMatch(/need no token and may come from any address/);
    for (const [url, headers] of [
      [`/cf/cv?click_id=${clickId}&txid=O1`, {}],
      [`/cf/cv?txid=O2`, { ...image, cookie: `cf_click_id=${clickId}` }],
      [`/cf/cv?click_id=${clickId}&txid=O3&src=script`, {}],
    ] as const) {
      await t.app.inject({ method: 'GET', url, headers });
    }
    expect(await testDb.db('conversions').where({ click_id: clickId })).toHaveLength(3);
  });
});

describe('the global POSTBACK_TOKEN', () => {
  test('applies to S2S postbacks of networks without a token of their own; the conversion script is refused with a reason, not silently', async () => {
    const global = await createTestApp(testDb, { postbackToken: 'global-token-0123456789' });
    try {
      const { clickId } = await networkWith({}, global);
      expect((await global.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=G1` })).json().reason).toBe('invalid_token');
      expect((await global.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=G1&token=global-token-0123456789` })).statusCode).toBe(200);
      const script = await global.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=G2&src=script` });
      expect([script.statusCode, script.json().reason]).toEqual([403, 'route_not_allowed']);
      // A network that takes the script explicitly gets it without any token: the global one is for S2S only.
      const { clickId: scripted } = await networkWith({ accepted_routes: ['postback', 'script'] }, global);
      expect((await global.app.inject({ method: 'GET', url: `/cf/cv?click_id=${scripted}&txid=G3&src=script` })).statusCode).toBe(200);
      // A network with its own token uses that one, not the global one.
      const { clickId: own } = await networkWith({ postback_token: TOKEN }, global);
      expect((await global.app.inject({ method: 'GET', url: `/cf/cv?click_id=${own}&txid=G4&token=global-token-0123456789` })).json().reason).toBe('invalid_token');
      expect((await global.app.inject({ method: 'GET', url: `/cf/cv?click_id=${own}&txid=G4&token=${TOKEN}` })).statusCode).toBe(200);
    } finally {
      await global.app.close();
    }
  });
});

describe('re-matching judges trust with what the attempt kept', () => {
  test('the client IP and token digest survive click import lag', async () => {
    const { campaignId } = await networkWith({ postback_ips: ['203.0.113.0/24'], postback_token: TOKEN });
    const ids = ['late-allowed', 'late-wrong-ip', 'late-wrong-token'];
    await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=late-allowed&txid=L1&token=${TOKEN}`, remoteAddress: '203.0.113.9' });
    await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=late-wrong-ip&txid=L2&token=${TOKEN}`, remoteAddress: '198.51.100.9' });
    await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=late-wrong-token&txid=L3&token=nope-nope-nope-nope`, remoteAddress: '203.0.113.9' });
    const unknown = await testDb.db('registration_log').whereIn('click_id', ids).orderBy('id');
    expect(unknown.map((row) => [row.reason, row.client_ip])).toEqual([
      ['unknown_click_id', '203.0.113.9'],
      ['unknown_click_id', '198.51.100.9'],
      ['unknown_click_id', '203.0.113.9'],
    ]);
    const imported = await t.app.inject({ method: 'POST', url: '/api/v1/clicks', headers: auth, payload: { clicks: ids.map((click_id) => ({ click_id, campaign_id: campaignId })) } });
    expect(imported.json().rematched).toBe(1);
    const rematched = await testDb.db('registration_log').whereNotNull('rematch_of').whereIn('click_id', ids).orderBy('click_id');
    expect(rematched.map((row) => [row.click_id, row.outcome, row.reason, row.client_ip])).toEqual([
      ['late-allowed', 'accepted', null, '203.0.113.9'],
      ['late-wrong-ip', 'rejected', 'ip_not_allowed', '198.51.100.9'],
      ['late-wrong-token', 'rejected', 'invalid_token', '203.0.113.9'],
    ]);
  });
});

describe('TRUST_PROXY', () => {
  test('a hop count takes the address the nearest proxy saw, never the client-written leftmost one', async () => {
    const proxied = await createTestApp(testDb, { trustProxy: 1 });
    try {
      const { clickId } = await networkWith({ postback_ips: ['203.0.113.0/24'] }, proxied);
      const spoofed = await proxied.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=X1`, remoteAddress: '10.0.0.2', headers: { 'x-forwarded-for': '203.0.113.5, 198.51.100.7' } });
      expect(spoofed.json()).toMatchObject({ reason: 'ip_not_allowed' });
      const honest = await proxied.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=X2`, remoteAddress: '10.0.0.2', headers: { 'x-forwarded-for': '203.0.113.5' } });
      expect(honest.statusCode).toBe(200);
    } finally {
      await proxied.app.close();
    }
  });

  test('a list of proxy addresses is trusted, others are not; true is refused by the configuration', async () => {
    const listed = await createTestApp(testDb, { trustProxy: ['10.0.0.0/8'] });
    try {
      const { clickId } = await networkWith({ postback_ips: ['203.0.113.0/24'] }, listed);
      const viaProxy = await listed.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=Y1`, remoteAddress: '10.1.2.3', headers: { 'x-forwarded-for': '203.0.113.5' } });
      expect(viaProxy.statusCode).toBe(200);
      const notProxy = await listed.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=Y2`, remoteAddress: '198.51.100.1', headers: { 'x-forwarded-for': '203.0.113.5' } });
      expect(notProxy.json().reason).toBe('ip_not_allowed');
    } finally {
      await listed.app.close();
    }
    expect(() => loadConfig({ ...baseEnv(), TRUST_PROXY: 'true' })).toThrow(/"true" would trust the client-controlled leftmost/);
    expect(loadConfig({ ...baseEnv(), TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ ...baseEnv(), TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1']);
    expect(() => loadConfig({ ...baseEnv(), TRUST_PROXY: 'proxy.internal' })).toThrow(/not an IP address or CIDR/);
  });
});

describe('a forwarded client address that is not an address', () => {
  test('is kept out of inet columns: concurrent postbacks beside it all register, and a click with it is stored without it', async () => {
    const proxied = await createTestApp(testDb, { trustProxy: 1 });
    try {
      const funnel = await createFunnel(testDb.db);
      const clicks = await createClicks(testDb.db, funnel.campaignId, 101);
      // Concurrent: they share group-commit batches with the odd one.
      const answers = await Promise.all(
        clicks.map((clickId, index) =>
          proxied.app.inject({
            method: 'GET',
            url: `/cf/cv?click_id=${clickId}&txid=XF${index}`,
            remoteAddress: '10.0.0.2',
            headers: { 'x-forwarded-for': index === 50 ? 'not-an-ip' : `198.51.100.${index + 1}` },
          }),
        ),
      );
      expect(answers.map((answer) => answer.statusCode)).toEqual(answers.map(() => 200));
      expect(answers[50]?.json().warnings).toEqual([expect.stringMatching(/client address "not-an-ip" .* is not an IP address/)]);
      const logged = await testDb.db('registration_log').whereIn('click_id', clicks).select('txid', 'outcome', testDb.db.raw('host(client_ip) AS client_ip'), 'request');
      expect(logged).toHaveLength(101);
      expect(logged.every((row) => row.outcome === 'accepted')).toBe(true);
      const odd = logged.find((row) => row.txid === 'XF50');
      expect(odd?.client_ip).toBeNull();
      expect(odd?.request.ip).toBe('not-an-ip');
      expect(logged.find((row) => row.txid === 'XF7')?.client_ip).toBe('198.51.100.8');

      const click = await proxied.app.inject({ method: 'GET', url: `/cf/click/${funnel.campaignId}`, remoteAddress: '10.0.0.2', headers: { 'x-forwarded-for': 'fe80::1%eth0' } });
      expect(click.statusCode).toBe(302);
      const odd2 = await proxied.app.inject({ method: 'GET', url: `/cf/click/${funnel.campaignId}`, remoteAddress: '10.0.0.2', headers: { 'x-forwarded-for': '<script>' } });
      expect(odd2.statusCode).toBe(302);
      const stored = await testDb.db('clicks').where({ campaign_id: funnel.campaignId }).whereNotIn('click_id', clicks).select(testDb.db.raw('host(ip) AS ip')).orderBy('visited_at');
      expect(stored.map((row) => row.ip).sort()).toEqual(['fe80::1', null].sort());
    } finally {
      await proxied.app.close();
    }
  });
});

function baseEnv(): NodeJS.ProcessEnv {
  return { ADMIN_TOKEN: 'admin-token-0123456789', SECRET_KEY: 'ab'.repeat(32), TALLY_STATE_DIR: testConfig().stateDir };
}
