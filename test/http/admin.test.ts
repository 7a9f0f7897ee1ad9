import type { TestDatabase } from '../support/database';
import { auth, type TestApp, useTestApp } from '../support/app';
import { createClicks, createFunnel } from '../support/fixtures';

let testDb: TestDatabase;
let t: TestApp;

useTestApp((db, app) => {
  testDb = db;
  t = app;
});

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url, headers: { ...auth, ...headers }, payload: payload as string });
const get = (url: string) => t.app.inject({ method: 'GET', url, headers: auth });

describe('catalog', () => {
  test('a JSON payout keeps its exact digits (no binary float on the way)', async () => {
    const offer = await post('/api/v1/offers', { name: 'o', url: 'https://x.example', payout_mode: 'manual', payout: 0.1234567 });
    expect(offer.statusCode).toBe(400);
    expect(offer.json().error.message).toMatch(/more than 6 decimal places/);
    const exact = await post('/api/v1/offers', { name: 'o', url: 'https://x.example', payout_mode: 'manual', payout: 19.99 });
    expect(exact.json().payout).toBe('19.99');
  });

  test('creates a network, an offer and a campaign with a click URL', async () => {
    const network = await post('/api/v1/networks', { name: 'MaxBounty', currency: 'eur', duplicate_policy: 'update', postback_ips: ['203.0.113.7', '198.51.100.0/24'] });
    expect(network.statusCode).toBe(201);
    expect(network.json()).toMatchObject({ name: 'MaxBounty', currency: 'EUR', duplicate_policy: 'update', postback_ips: ['203.0.113.7/32', '198.51.100.0/24'] });
    const offer = await post('/api/v1/offers', { name: 'Keto', url: 'https://offer.example/?s2={cf_click_id}', network_id: network.json().id, payout_mode: 'manual', payout: '12.5', currency: 'USD' });
    expect(offer.statusCode).toBe(201);
    expect(offer.json()).toMatchObject({ payout_mode: 'manual', payout: '12.50', currency: 'USD' });
    const campaign = await post('/api/v1/campaigns', { name: 'FB US', offer_id: offer.json().id });
    expect(campaign.statusCode).toBe(201);
    expect(campaign.json().click_url).toBe(`http://localhost:80/cf/click/${campaign.json().id}`);
  });

  test.each([
    ['/api/v1/networks', { name: 'x', currency: 'EURO' }, 400, 'body.currency: must be an ISO 4217 currency code such as USD'],
    ['/api/v1/networks', { name: 'x', postback_ips: ['10.0.0.300'] }, 400, 'body.postback_ips.0: must be an IP address or CIDR range such as 203.0.113.0/24'],
    ['/api/v1/networks', { name: '' }, 400, 'body.name: Too small: expected string to have >=1 characters'],
    ['/api/v1/offers', { name: 'o', url: 'https://x.example', payout_mode: 'manual' }, 400, 'body.payout: payout is required when payout_mode is "manual"'],
    ['/api/v1/offers', { name: 'o', url: 'https://x.example', payout: 'ten' }, 400, 'body.payout: "ten" is not a decimal number; use digits with an optional "." such as 12.50'],
    ['/api/v1/offers', { name: 'o', url: 'https://x.example', network_id: '00000000-0000-4000-8000-000000000000' }, 404, 'network 00000000-0000-4000-8000-000000000000 does not exist'],
    ['/api/v1/campaigns', { name: 'c', offer_id: 'nope' }, 400, 'body.offer_id: must be a UUID'],
    ['/api/v1/campaigns', { name: 'c', offer_id: '00000000-0000-4000-8000-000000000000' }, 404, 'offer 00000000-0000-4000-8000-000000000000 does not exist'],
  ])('POST %s %j → %i', async (url, body, status, message) => {
    const response = await post(url, body);
    expect(response.statusCode).toBe(status);
    expect(response.json().error.message).toBe(message);
  });

  test('click import re-matches conversions that arrived before their click', async () => {
    const funnel = await createFunnel(testDb.db);
    const early = await t.app.inject({ method: 'GET', url: '/cf/cv?click_id=Imported-Click-1&payout=9&txid=EARLY' });
    expect(early.statusCode).toBe(404);
    const imported = await post('/api/v1/clicks', { clicks: [{ click_id: 'Imported-Click-1', campaign_id: funnel.campaignId, visited_at: '2026-11-01T10:00:00Z' }, { campaign_id: funnel.campaignId }] });
    expect(imported.statusCode).toBe(201);
    expect(imported.json()).toEqual({ click_ids: ['imported-click-1', expect.stringMatching(/^[0-9a-z]{24}$/)], rematched: 1 });
    const [conversion] = await testDb.db('conversions').where({ click_id: 'imported-click-1' });
    expect(conversion).toMatchObject({ txid: 'EARLY', payout: '9.000000', source: 'postback' });
    expect(conversion.visit_at.toISOString()).toBe('2026-11-01T10:00:00.000Z');
    // Importing again re-matches nothing twice.
    expect((await post('/api/v1/clicks', { clicks: [{ click_id: 'imported-click-1', campaign_id: funnel.campaignId }] })).json().rematched).toBe(0);
    const log = await testDb.db('registration_log').where({ txid: 'EARLY' }).orderBy('id');
    expect(log.map((row) => [row.outcome, row.reason])).toEqual([['rejected', 'unknown_click_id'], ['accepted', null]]);
    expect(log[1].rematch_of).toBe(log[0].id);
  });

  test('click import validates its input', async () => {
    expect((await post('/api/v1/clicks', { clicks: [] })).statusCode).toBe(400);
    const bad = await post('/api/v1/clicks', { clicks: [{ click_id: 'has space', campaign_id: '00000000-0000-4000-8000-000000000000' }] });
    expect(bad.json().error.message).toBe('body.clicks.0.click_id: must be 1-64 characters of letters, digits, "_" or "-"');
    const unknown = await post('/api/v1/clicks', { clicks: [{ campaign_id: '00000000-0000-4000-8000-000000000000' }] });
    expect(unknown.statusCode).toBe(404);
  });
});

describe('conversions and the postback log', () => {
  test('lists conversions with filters and cursor paging; money as decimal strings', async () => {
    const funnel = await createFunnel(testDb.db);
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    for (let index = 0; index < 5; index += 1) {
      await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=L${index}&payout=1.5&ct=${index % 2 ? 'lead' : 'sale'}` });
    }
    const first = await get(`/api/v1/conversions?click_id=${clickId!.toUpperCase()}&limit=2`);
    expect(first.statusCode).toBe(200);
    expect(first.json().items.map((item: { txid: string }) => item.txid)).toEqual(['L4', 'L3']);
    expect(first.json().items[0]).toMatchObject({ payout: '1.50', currency: 'USD', display_payout: '1.50', display_currency: 'USD', fx_rate: '1', source: 'postback', campaign_id: funnel.campaignId });
    const second = await get(`/api/v1/conversions?click_id=${clickId}&limit=2&cursor=${first.json().next_cursor}`);
    expect(second.json().items.map((item: { txid: string }) => item.txid)).toEqual(['L2', 'L1']);
    const last = await get(`/api/v1/conversions?click_id=${clickId}&limit=2&cursor=${second.json().next_cursor}`);
    expect(last.json()).toMatchObject({ items: [{ txid: 'L0' }], next_cursor: null });
    expect((await get(`/api/v1/conversions?click_id=${clickId}&type=lead`)).json().items).toHaveLength(2);
    expect((await get('/api/v1/conversions?cursor=garbage')).json().error.code).toBe('invalid_cursor');
    expect((await get('/api/v1/conversions?status=maybe')).statusCode).toBe(400);
  });

  test('the postback log answers "my postback fires but nothing shows up"', async () => {
    const funnel = await createFunnel(testDb.db);
    const [clickId] = await createClicks(testDb.db, funnel.campaignId);
    await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=G1` });
    await t.app.inject({ method: 'GET', url: `/cf/cv?click_id=${clickId}&txid=G1` });
    await t.app.inject({ method: 'GET', url: '/cf/cv?click_id={clickid}&txid=G2' });
    const byClick = await get(`/api/v1/postback-log?click_id=${clickId}`);
    expect(byClick.json().items.map((item: { outcome: string; reason: string | null }) => [item.outcome, item.reason])).toEqual([['duplicate', 'unchanged'], ['accepted', null]]);
    expect(byClick.json().items[0]).toMatchObject({ message: 'already registered with the same status and payout', request: { method: 'GET', path: '/cf/cv', query: { click_id: clickId, txid: 'G1' } } });
    const macros = await get('/api/v1/postback-log?outcome=rejected&reason=unreplaced_macro&source=postback');
    expect(macros.json().items[0]).toMatchObject({ outcome: 'rejected', reason: 'unreplaced_macro', click_id: null, txid: 'G2', request: { query: { click_id: '{clickid}' } } });
    expect(macros.json().items[0].message).toMatch(/unreplaced macro/);
    const paged = await get('/api/v1/postback-log?limit=1');
    expect(paged.json().next_cursor).toEqual(expect.any(String));
  });
});

describe('uploads', () => {
  test('registers a CSV body, and a dry run stores nothing', async () => {
    const funnel = await createFunnel(testDb.db);
    const [a, b] = await createClicks(testDb.db, funnel.campaignId, 2);
    const csv = `click_id,payout,transaction_id,conversion_type,timestamp\n${a},5.2,U1,sale,2025-10-02T14:30:00+02:00\n${b},bad,U2,sale,\nnope,1,U3,sale,\n`;
    const dry = await post('/api/v1/uploads?dry_run=true', csv, { 'content-type': 'text/csv' });
    expect(dry.statusCode).toBe(200);
    expect(dry.json()).toMatchObject({ upload_id: null, rows: 3, accepted: 1, rejected: 2 });
    expect(await testDb.db('conversions').where({ click_id: a })).toHaveLength(0);
    const real = await post('/api/v1/uploads', csv, { 'content-type': 'text/csv' });
    expect(real.json()).toMatchObject({
      rows: 3, accepted: 1, duplicates: 0, updated: 0, rejected: 2,
      lines: [
        { line: 2, status: 'accepted' },
        { line: 3, status: 'rejected', reason: 'invalid_payout' },
        { line: 4, status: 'rejected', reason: 'unknown_click_id' },
      ],
    });
    expect((await post('/api/v1/uploads', csv, { 'content-type': 'text/csv' })).json()).toMatchObject({ accepted: 0, duplicates: 1 });
  });

  test('a non-CSV body is refused with a hint', async () => {
    const response = await post('/api/v1/uploads', { not: 'csv' });
    expect(response.statusCode).toBe(415);
    expect(response.json().error.message).toMatch(/Content-Type: text\/csv/);
    expect((await post('/api/v1/uploads', '\n\n', { 'content-type': 'text/csv' })).statusCode).toBe(400);
  });
});

describe('FX rates and reports', () => {
  test('rates fill display amounts that were waiting, and reports group by day, campaign, offer and type in a time zone', async () => {
    const eur = await createFunnel(testDb.db, { offer: { currency: 'EUR' } });
    const other = await createFunnel(testDb.db);
    const [late, early] = await createClicks(testDb.db, eur.campaignId, 2, new Date('2025-06-01T21:30:00Z'));
    const [third] = await createClicks(testDb.db, other.campaignId, 1, new Date('2025-06-01T10:00:00Z'));
    const cv = (query: string) => t.app.inject({ method: 'GET', url: `/cf/cv?${query}` });
    // 22:30 UTC on June 1 is already June 2 in Berlin.
    await cv(`click_id=${late}&txid=R1&ct=sale&payout=10&timestamp=2025-06-01T22:30:00Z`);
    await cv(`click_id=${late}&txid=R1&ct=refund&payout=10&timestamp=2025-06-03T09:00:00Z`);
    await cv(`click_id=${early}&txid=R2&ct=sale&payout=20&timestamp=2025-06-01T12:00:00Z`);
    await cv(`click_id=${early}&txid=R3&ct=sale&payout=99&status=declined&timestamp=2025-06-01T12:00:00Z`);
    await cv(`click_id=${third}&txid=R4&ct=lead&payout=5&timestamp=2025-06-02T08:00:00Z`);
    expect((await testDb.db('conversions').where({ click_id: early, txid: 'R2' }).first()).display_payout).toBeNull();

    const rates = await post('/api/v1/fx-rates', { date: '2025-05-30', base: 'USD', rates: { EUR: '0.8', GBP: '0.75' } });
    expect(rates.statusCode).toBe(204);
    expect((await testDb.db('conversions').where({ click_id: early, txid: 'R2' }).first()).display_payout).toBe('25.000000');

    const report = async (query: string) => (await get(`/api/v1/reports?from=2025-06-01&to=2025-06-03&${query}`)).json();
    expect(await report('group_by=day&tz=Europe/Berlin')).toEqual({
      currency: 'USD',
      rows: [
        { day: '2025-06-01', conversions: 1, revenue: '25.00' },
        { day: '2025-06-02', conversions: 2, revenue: '17.50' },
        { day: '2025-06-03', conversions: 0, revenue: '-12.50' },
      ],
      unconverted_conversions: 0,
    });
    expect((await report('group_by=day&tz=UTC')).rows.map((row: { day: string }) => row.day)).toEqual(['2025-06-01', '2025-06-02', '2025-06-03']);
    expect((await report('group_by=day&tz=UTC')).rows[0]).toEqual({ day: '2025-06-01', conversions: 2, revenue: '37.50' });
    expect((await report('group_by=type&tz=UTC')).rows).toEqual([
      { type: 'lead', conversions: 1, revenue: '5.00' },
      { type: 'refund', conversions: 0, revenue: '-12.50' },
      { type: 'sale', conversions: 2, revenue: '37.50' },
    ]);
    const byCampaign = await report('group_by=campaign');
    expect(byCampaign.rows).toEqual(expect.arrayContaining([
      { campaign_id: eur.campaignId, conversions: 2, revenue: '25.00' },
      { campaign_id: other.campaignId, conversions: 1, revenue: '5.00' },
    ]));
    expect((await report('group_by=offer')).rows).toEqual(expect.arrayContaining([{ offer_id: eur.offerId, conversions: 2, revenue: '25.00' }]));
    // By visit time everything of the EUR campaign happened on June 1 (UTC).
    expect((await report('group_by=day&time_basis=visit')).rows).toEqual([
      { day: '2025-06-01', conversions: 3, revenue: '30.00' },
    ]);
  });

  test('reports and rates validate their input', async () => {
    expect((await get('/api/v1/reports?group_by=week&from=2025-01-01&to=2025-01-02')).statusCode).toBe(400);
    expect((await get('/api/v1/reports?group_by=day&from=2025-01-01&to=2025-01-02&tz=Mars/Olympus')).json().error.message).toBe('querystring.tz: must be an IANA time zone such as Europe/Berlin or UTC');
    expect((await post('/api/v1/fx-rates', { date: '2025-02-30', base: 'USD', rates: { EUR: '0.9' } })).json().error.message).toBe('body.date: must be a real calendar date');
    expect((await post('/api/v1/fx-rates', { date: '2025-02-01', base: 'USD', rates: { EUR: '-1' } })).json().error.message).toMatch(/positive decimal/);
  });
});

test('/docs serves an OpenAPI description generated from the route schemas', async () => {
  const response = await t.app.inject({ method: 'GET', url: '/docs/json' });
  expect(response.statusCode).toBe(200);
  const spec = response.json();
  expect(spec.openapi).toMatch(/^3\./);
  expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/api/v1/networks', '/api/v1/offers', '/api/v1/campaigns', '/api/v1/clicks', '/api/v1/conversions', '/api/v1/postback-log', '/api/v1/uploads', '/api/v1/fx-rates', '/api/v1/reports']));
  expect(spec.paths['/api/v1/networks'].post.requestBody.content['application/json'].schema.properties.duplicate_policy.enum).toEqual(['ignore', 'accept', 'update']);
  expect((await t.app.inject({ method: 'GET', url: '/docs' })).statusCode).toBeLessThan(400);
});
