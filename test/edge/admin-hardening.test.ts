import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { loadConfig } from '../../src/config/config';
import { loadOrCreateLocalSecret } from '../../src/config/local-secrets';
import { explainConnectionError } from '../../src/util/connection-errors';
import { auth, ADMIN_TOKEN, createTestApp, type TestApp, useTestApp } from '../support/app';
import { runCli } from '../support/cli';
import type { TestDatabase } from '../support/database';

let testDb: TestDatabase;
let t: TestApp;

useTestApp((db, app) => {
  testDb = db;
  t = app;
});

describe('admin routes check credentials before they parse or validate anything', () => {
  test('an unauthenticated request with an invalid or unparseable body gets 401, not 400', async () => {
    const invalid = await t.app.inject({ method: 'POST', url: '/api/v1/networks', payload: { name: '' } });
    expect(invalid.statusCode).toBe(401);
    const garbage = await t.app.inject({ method: 'POST', url: '/api/v1/offers', headers: { 'content-type': 'application/json' }, payload: '{not json' });
    expect(garbage.statusCode).toBe(401);
    const wrong = await t.app.inject({ method: 'PATCH', url: '/api/v1/networks/not-a-uuid', headers: { authorization: 'Bearer wrong-token-0000000000' }, payload: { bad: true } });
    expect([wrong.statusCode, wrong.json().error.message]).toEqual([401, 'the admin token is wrong']);
    // With credentials the same body is judged on its content.
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/networks', headers: auth, payload: { name: '' } })).statusCode).toBe(400);
  });

  test('an empty bearer token or Basic password never matches', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/networks', headers: { authorization: 'Bearer ' } })).statusCode).toBe(401);
    const emptyBasic = Buffer.from('user:').toString('base64');
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/networks', headers: { authorization: `Basic ${emptyBasic}` } })).statusCode).toBe(401);
  });
});

describe('state-changing requests a browser sends from another site are refused', () => {
  const body = { name: 'Cross-site test' };
  test('by Origin', async () => {
    const evil = await t.app.inject({ method: 'POST', url: '/api/v1/networks', headers: { ...auth, origin: 'https://evil.example' }, payload: body });
    expect([evil.statusCode, evil.json().error.code]).toEqual([403, 'cross_site_request']);
    const same = await t.app.inject({ method: 'POST', url: '/api/v1/networks', headers: { ...auth, origin: 'http://localhost' }, payload: body });
    expect(same.statusCode).toBe(201);
  });

  test('by Sec-Fetch-Site', async () => {
    const crossSite = await t.app.inject({ method: 'POST', url: '/api/v1/networks', headers: { ...auth, 'sec-fetch-site': 'cross-site' }, payload: body });
    expect(crossSite.statusCode).toBe(403);
    const sameSite = await t.app.inject({ method: 'POST', url: '/api/v1/networks', headers: { ...auth, 'sec-fetch-site': 'same-site' }, payload: body });
    expect(sameSite.statusCode).toBe(403);
    const sameOrigin = await t.app.inject({ method: 'POST', url: '/api/v1/networks', headers: { ...auth, 'sec-fetch-site': 'same-origin' }, payload: body });
    expect(sameOrigin.statusCode).toBe(201);
  });

  test('reads and non-browser clients are judged by credentials alone', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/networks', headers: { ...auth, 'sec-fetch-site': 'cross-site' } })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/networks', headers: auth, payload: body })).statusCode).toBe(201);
  });
});

test('a filter Postgres cannot search for (U+0000) is a 400 that says so, not a 500', async () => {
  const response = await t.app.inject({ method: 'GET', url: '/api/v1/conversions?txid=%00', headers: auth });
  expect(response.statusCode).toBe(400);
  expect(response.json().error).toMatchObject({ code: 'invalid_characters', message: expect.stringMatching(/U\+0000/) });
});

describe('metrics and readiness', () => {
  test('/metrics needs the admin token or METRICS_TOKEN unless METRICS_PUBLIC=true', async () => {
    const scraper = await createTestApp(testDb, { metricsToken: 'prometheus-scrape-token-0123' });
    const open = await createTestApp(testDb, { metricsPublic: true });
    try {
      expect((await scraper.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
      expect((await scraper.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer prometheus-scrape-token-0123' } })).statusCode).toBe(200);
      expect((await scraper.app.inject({ method: 'GET', url: '/metrics', headers: auth })).statusCode).toBe(200);
      expect((await scraper.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer prometheus-scrape-token-0124' } })).statusCode).toBe(401);
      expect((await open.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
      // The metrics token opens nothing else.
      expect((await scraper.app.inject({ method: 'GET', url: '/api/v1/networks', headers: { authorization: 'Bearer prometheus-scrape-token-0123' } })).statusCode).toBe(401);
    } finally {
      await scraper.app.close();
      await open.app.close();
    }
  });

  test('/readyz names states, never raw error text', async () => {
    const dead = new Redis('redis://:hunter2secret@127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on('error', () => undefined);
    const withRedis = await createTestApp(testDb);
    (withRedis.ctx as { redis?: unknown }).redis = dead;
    try {
      const response = await withRedis.app.inject({ method: 'GET', url: '/readyz' });
      // Ready: a postback can be made durable without Redis (DESIGN "Durability when Postgres is away").
      expect(response.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'unreachable', spool: 'disabled' } });
      expect(response.body).not.toMatch(/hunter2|127\.0\.0\.1|ECONNREFUSED/);
    } finally {
      await withRedis.app.close();
      dead.disconnect();
    }
  });
});

describe('secrets', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'tally-secrets-'));

  test('a generated secret file is created once, whole, readable by its owner only', () => {
    const state = dir();
    const first = loadOrCreateLocalSecret(state, 'admin-token', 24);
    const second = loadOrCreateLocalSecret(state, 'admin-token', 24);
    expect(first).toMatch(/^[0-9a-f]{48}$/);
    expect(second).toBe(first);
    expect(statSync(join(state, 'admin-token')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(state, 'admin-token'), 'utf8')).toBe(`${first}\n`);
  });

  test('an empty or short secret file stops the process instead of becoming a weak token', () => {
    const state = dir();
    writeFileSync(join(state, 'admin-token'), '');
    expect(() => loadConfig({ TALLY_STATE_DIR: state, SECRET_KEY: 'ab'.repeat(32) })).toThrow(/admin-token holds nothing; a secret needs at least 16/);
    writeFileSync(join(state, 'admin-token'), 'short\n');
    expect(() => loadConfig({ TALLY_STATE_DIR: state, SECRET_KEY: 'ab'.repeat(32) })).toThrow(/only 5 characters/);
  });

  test('passwords in URLs never reach an error message', async () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://tally:s3cr3t-pass@db.example/tally', ADMIN_TOKEN, SECRET_KEY: 'ab'.repeat(32) })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('s3cr3t-pass') }),
    );
    const refused = explainConnectionError(Object.assign(new Error('password authentication failed for postgres://tally:s3cr3t-pass@db/x'), { code: '28P01' }), 'Postgres', 'postgres://tally:s3cr3t-pass@db.example/tally');
    expect((refused as Error).message).not.toContain('s3cr3t-pass');
    const cli = await runCli(['migrate'], { DATABASE_URL: 'postgres://postgres:s3cr3t-pass@127.0.0.1:1/tally', TALLY_STATE_DIR: dir() });
    expect(cli.code).toBe(1);
    expect(cli.stderr).not.toContain('s3cr3t-pass');
    expect(cli.stderr).toMatch(/^tally: cannot reach Postgres at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/tally/);
  });
});
