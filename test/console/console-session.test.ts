import { ConsoleSessions } from '../../src/console/console-sessions';
import { LOGIN_FAILURES_PER_MINUTE } from '../../src/console/login-throttle';
import { ADMIN_TOKEN, auth, createTestApp, type TestApp, useTestApp } from '../support/app';
import type { TestDatabase } from '../support/database';

let testDb: TestDatabase;
let t: TestApp;

useTestApp((db, app) => {
  testDb = db;
  t = app;
});

const form = (values: Record<string, string>) => new URLSearchParams(values).toString();
const formHeaders = { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost:80', 'sec-fetch-site': 'same-origin' };

/** Logs in through the form and returns the cookie pair (name=value). */
async function login(app: TestApp['app'] = t.app, token = ADMIN_TOKEN): Promise<string> {
  const response = await app.inject({ method: 'POST', url: '/console/login', headers: formHeaders, payload: form({ token, next: '/console/log?outcome=rejected' }) });
  expect(response.statusCode).toBe(303);
  expect(response.headers.location).toBe('/console/log?outcome=rejected');
  const cookie = String(response.headers['set-cookie']);
  return cookie.split(';')[0] as string;
}

describe('login form and session cookie', () => {
  test('a console page without credentials redirects to the login form, which works without JavaScript', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/console/log?outcome=rejected' });
    expect(page.statusCode).toBe(303);
    expect(page.headers.location).toBe('/console/login?next=%2Fconsole%2Flog%3Foutcome%3Drejected');
    const loginPage = await t.app.inject({ method: 'GET', url: page.headers.location as string });
    expect(loginPage.statusCode).toBe(200);
    expect(loginPage.body).toContain('<form method="post" action="/console/login"');
    expect(loginPage.body).toContain('<label for="token">Admin token</label>');
    expect(loginPage.body).toContain('name="next" value="/console/log?outcome=rejected"');
    expect(loginPage.headers['content-security-policy']).toContain("default-src 'self'");
    expect(loginPage.headers['x-frame-options']).toBe('DENY');
  });

  test('the right token sets an HttpOnly, SameSite=Strict session cookie (not Secure over http) that opens pages, the API, and nothing else', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/console/login', headers: formHeaders, payload: form({ token: ADMIN_TOKEN, next: '/console' }) });
    expect(response.statusCode).toBe(303);
    const setCookie = String(response.headers['set-cookie']);
    expect(setCookie).toMatch(/^tally_session=[A-Za-z0-9_-]{43}; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Strict$/);
    const cookie = setCookie.split(';')[0] as string;
    const shell = await t.app.inject({ method: 'GET', url: '/console/conversions', headers: { cookie } });
    expect(shell.statusCode).toBe(200);
    expect(shell.body).toContain('<script type="module" src="/console/assets/app.js">');
    expect(shell.headers['content-security-policy']).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    expect(shell.headers['cache-control']).toBe('no-store');
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/networks', headers: { cookie } })).statusCode).toBe(200);
    // The session id is stored only as a digest.
    const stored = await testDb.db.raw('SELECT id_digest FROM console_sessions');
    expect(stored.rows.some((row: { id_digest: string }) => cookie.includes(row.id_digest))).toBe(false);
  });

  test('over https (behind a trusted proxy) the cookie is Secure with the __Host- prefix', async () => {
    const proxied = await createTestApp(testDb, {}, { trustProxy: 1 });
    try {
      const response = await proxied.app.inject({
        method: 'POST', url: '/console/login',
        headers: { ...formHeaders, origin: 'https://localhost:80', 'x-forwarded-proto': 'https' },
        payload: form({ token: ADMIN_TOKEN, next: '/console' }),
      });
      expect(response.statusCode).toBe(303);
      expect(String(response.headers['set-cookie'])).toMatch(/^__Host-tally_session=[A-Za-z0-9_-]{43}; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Strict; Secure$/);
    } finally {
      await proxied.app.close();
    }
  });

  test('a wrong token re-renders the form with 401 and sets no cookie', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/console/login', headers: formHeaders, payload: form({ token: 'not-the-admin-token-at-all', next: '/console' }) });
    expect(response.statusCode).toBe(401);
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(response.body).toContain('That is not the admin token.');
    expect(response.body).toContain('aria-invalid="true"');
  });

  test('a login posted from another site is refused (login CSRF)', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/console/login', headers: { ...formHeaders, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, payload: form({ token: ADMIN_TOKEN }) });
    expect(response.statusCode).toBe(403);
    expect(response.headers['set-cookie']).toBeUndefined();
  });

  test('"next" never leads off the console', async () => {
    for (const next of ['https://evil.example/', '//evil.example/console', '/console/../admin', '/docs']) {
      const response = await t.app.inject({ method: 'POST', url: '/console/login', headers: formHeaders, payload: form({ token: ADMIN_TOKEN, next }) });
      expect([next, response.headers.location]).toEqual([next, '/console']);
    }
  });

  test('state changes with the cookie must come from the console: cross-site and unattributed requests are refused', async () => {
    const cookie = await login();
    const body = JSON.stringify({ name: 'From the console' });
    const json = { cookie, 'content-type': 'application/json' };
    const crossSite = await t.app.inject({ method: 'POST', url: '/api/v1/networks', headers: { ...json, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, payload: body });
    expect(crossSite.statusCode).toBe(403);
    expect(crossSite.json().error.code).toBe('cross_site_request');
    const unattributed = await t.app.inject({ method: 'POST', url: '/api/v1/networks', headers: json, payload: body });
    expect(unattributed.statusCode).toBe(403);
    expect(unattributed.json().error.message).toMatch(/must come from the console/);
    const sameOrigin = await t.app.inject({ method: 'POST', url: '/api/v1/networks', headers: { ...json, origin: 'http://localhost:80', 'sec-fetch-site': 'same-origin' }, payload: body });
    expect(sameOrigin.statusCode).toBe(201);
  });

  test('a wrong Authorization header is not rescued by a valid cookie', async () => {
    const cookie = await login();
    const response = await t.app.inject({ method: 'GET', url: '/api/v1/networks', headers: { cookie, authorization: 'Bearer wrong-token-0123456789' } });
    expect(response.statusCode).toBe(401);
  });

  test('logout ends the session on the server: the old cookie opens nothing', async () => {
    const cookie = await login();
    const logout = await t.app.inject({ method: 'POST', url: '/console/logout', headers: { cookie, origin: 'http://localhost:80' } });
    expect(logout.statusCode).toBe(303);
    expect(logout.headers.location).toBe('/console/login');
    expect(String(logout.headers['set-cookie'])).toMatch(/^tally_session=; Max-Age=0;/);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/networks', headers: { cookie } })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/console', headers: { cookie } })).statusCode).toBe(303);
  });

  test('a new ADMIN_TOKEN ends sessions opened with the old one', async () => {
    const cookie = await login();
    const rotated = await createTestApp(testDb, { adminToken: 'rotated-admin-token-0123456789' });
    try {
      expect((await rotated.app.inject({ method: 'GET', url: '/api/v1/networks', headers: { cookie } })).statusCode).toBe(401);
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/networks', headers: { cookie } })).statusCode).toBe(200);
    } finally {
      await rotated.app.close();
    }
  });

  test('sessions expire', async () => {
    const sessions = new ConsoleSessions(testDb.db, Buffer.alloc(32, 1), ADMIN_TOKEN, -1000);
    const { id } = await sessions.open();
    expect(await sessions.isValid(id)).toBe(false);
    const live = new ConsoleSessions(testDb.db, Buffer.alloc(32, 1), ADMIN_TOKEN);
    const opened = await live.open();
    expect(await live.isValid(opened.id)).toBe(true);
    expect(await live.isValid('x'.repeat(43))).toBe(false);
  });

  test(`after ${LOGIN_FAILURES_PER_MINUTE} wrong tokens from one address the form answers 429, even to the right token`, async () => {
    const own = await createTestApp(testDb);
    try {
      for (let attempt = 0; attempt < LOGIN_FAILURES_PER_MINUTE; attempt += 1) {
        const wrong = await own.app.inject({ method: 'POST', url: '/console/login', headers: formHeaders, payload: form({ token: `wrong-${attempt}-0123456789` }) });
        expect(wrong.statusCode).toBe(401);
      }
      const blocked = await own.app.inject({ method: 'POST', url: '/console/login', headers: formHeaders, payload: form({ token: ADMIN_TOKEN }) });
      expect(blocked.statusCode).toBe(429);
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await own.app.close();
    }
  });

  test('Basic and bearer credentials open console pages too', async () => {
    const basic = `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`;
    expect((await t.app.inject({ method: 'GET', url: '/console', headers: { authorization: basic } })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/console/networks', headers: auth })).statusCode).toBe(200);
  });
});

describe('assets', () => {
  test('the console script, styles and vendor libraries come from this app, never a CDN', async () => {
    const app = await t.app.inject({ method: 'GET', url: '/console/assets/app.js' });
    expect(app.statusCode).toBe(200);
    expect(app.headers['content-type']).toMatch(/javascript/);
    const preact = await t.app.inject({ method: 'GET', url: '/console/assets/vendor/preact.mjs' });
    expect(preact.statusCode).toBe(200);
    expect(preact.headers['content-type']).toMatch(/text\/javascript/);
    const again = await t.app.inject({ method: 'GET', url: '/console/assets/vendor/preact.mjs', headers: { 'if-none-match': preact.headers.etag as string } });
    expect(again.statusCode).toBe(304);
    expect((await t.app.inject({ method: 'GET', url: '/console/assets/vendor/chart.umd.min.js' })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/console/assets/vendor/lodash.js' })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/console/assets/%2e%2e/%2e%2e/console-routes.ts' })).statusCode).toBe(404);
    const shell = await t.app.inject({ method: 'GET', url: '/console', headers: auth });
    expect(shell.body).not.toMatch(/https?:\/\/(?!localhost)[a-z0-9.-]+\//i);
  });
});
