import { connectors } from '../../connectors';
import { schedulerId } from '../../jobs/queues';
import { listData, startSandboxNetwork, type SandboxNetwork } from '../../src/demo/sandbox-network';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { auth, ADMIN_TOKEN, createTestApp, type TestApp } from '../support/app';
import { createPullHarness, SANDBOX_KEY, SECRET_KEY, type PullHarness } from '../support/pulls';
import { buildApp } from '../../src/http/app';

let testDb: TestDatabase;
let harness: PullHarness;
let tally: TestApp;
let sandbox: SandboxNetwork;

beforeAll(async () => {
  testDb = await createTestDatabase();
  harness = await createPullHarness(testDb);
  // The app with queues: built with pulls so that Bull Board is mounted too.
  const base = await createTestApp(testDb, { secretKey: SECRET_KEY });
  await base.app.close();
  const app = await buildApp({ ...base.ctx, pulls: harness.service });
  await app.ready();
  tally = { app, ctx: { ...base.ctx, pulls: harness.service } };
  sandbox = await startSandboxNetwork(listData(() => []), { apiKey: SANDBOX_KEY });
});

afterAll(async () => {
  await sandbox.close();
  await tally.app.close();
  await harness.close();
  await testDb.drop();
});

const request = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
  tally.app.inject({ method, url, headers: auth, ...(payload === undefined ? {} : { payload: payload as string }) });

test('GET /api/v1/connectors lists every connector with its config as JSON Schema; credentials are writeOnly', async () => {
  const response = await request('GET', '/api/v1/connectors');
  const byId = Object.fromEntries(response.json().map((connector: { id: string }) => [connector.id, connector]));
  // Every registered connector, no more, no less.
  expect(Object.keys(byId).sort()).toEqual(Object.keys(connectors).sort());
  expect(Object.keys(byId)).toEqual(expect.arrayContaining(['clickbank', 'everflow', 'impact', 'cj', 'partnerize', 'rakuten', 'digistore24', 'tonic', 'system1', 'crossroads', 'sedo']));
  expect(byId.tonic.config_schema.properties.consumer_secret.writeOnly).toBe(true);
  expect(byId.everflow.config_schema.properties.api_key).toMatchObject({ type: 'string', writeOnly: true });
  expect(byId.everflow.config_schema.properties.base_url).toBeDefined();
  expect(byId.everflow.config_schema.required).toEqual(['api_key']);
  expect(byId.impact.config_schema.properties.auth_token.writeOnly).toBe(true);
  expect(byId.impact.config_schema.properties.click_id_field.enum).toEqual(['SubId1', 'SubId2', 'SubId3', 'SharedId']);
  expect(byId.clickbank.documentation_url).toMatch(/^https:\/\//);
});

test('connections: secrets encrypted at rest and redacted in every answer; config validated with readable errors', async () => {
  const created = await request('POST', '/api/v1/connections', { connector: 'everflow', name: 'EF main', config: { api_key: 'ef-super-secret', base_url: sandbox.url, click_id_field: 'sub2' }, every_minutes: 15, lookback_days: 30 });
  expect(created.statusCode).toBe(201);
  const connection = created.json();
  expect(connection).toMatchObject({ connector: 'everflow', config: { api_key: '[redacted]', base_url: sandbox.url, click_id_field: 'sub2' }, every_minutes: 15, lookback_days: 30, enabled: true, healthy: true });
  const stored = await testDb.db('connections').where({ id: connection.id }).first();
  expect(JSON.stringify(stored)).not.toContain('ef-super-secret');
  expect(JSON.stringify((await request('GET', '/api/v1/connections')).json())).not.toContain('ef-super-secret');
  expect((await request('GET', `/api/v1/connections/${connection.id}`)).json().config.api_key).toBe('[redacted]');
  // A scheduler exists for it at once.
  expect(await harness.queues.pull.getJobScheduler(schedulerId(connection.id))).toMatchObject({ every: 15 * 60_000 });

  // Changing settings keeps the secret without re-sending it ("[redacted]" round-trips harmlessly).
  const patched = await request('PATCH', `/api/v1/connections/${connection.id}`, { config: { api_key: '[redacted]', click_id_field: 'sub1' }, every_minutes: 5 });
  expect(patched.json()).toMatchObject({ config: { click_id_field: 'sub1', api_key: '[redacted]' }, every_minutes: 5 });
  expect((await request('POST', `/api/v1/connections/${connection.id}/test`)).json()).toEqual({ ok: false, message: expect.stringMatching(/refused the credentials \(401/) });
  await request('PATCH', `/api/v1/connections/${connection.id}`, { config: { api_key: SANDBOX_KEY } });
  expect((await request('POST', `/api/v1/connections/${connection.id}/test`)).json()).toEqual({ ok: true, message: 'Everflow (affiliate API) accepted the credentials' });
  expect(await harness.queues.pull.getJobScheduler(schedulerId(connection.id))).toMatchObject({ every: 5 * 60_000 });

  const pulled = await request('POST', `/api/v1/connections/${connection.id}/pull`);
  expect(pulled.statusCode).toBe(202);
  expect(pulled.json().job_id).toMatch(new RegExp(`^manual-${connection.id}-\\d+$`));

  await request('PATCH', `/api/v1/connections/${connection.id}`, { enabled: false });
  expect(await harness.queues.pull.getJobScheduler(schedulerId(connection.id))).toBeUndefined();
  await request('PATCH', `/api/v1/connections/${connection.id}`, { enabled: true });
  expect(await harness.queues.pull.getJobScheduler(schedulerId(connection.id))).toBeDefined();
  expect((await request('DELETE', `/api/v1/connections/${connection.id}`)).statusCode).toBe(204);
  expect(await harness.queues.pull.getJobScheduler(schedulerId(connection.id))).toBeUndefined();
  expect((await request('GET', `/api/v1/connections/${connection.id}`)).statusCode).toBe(404);
});

test.each([
  [{ connector: 'everflow', name: 'x', config: {} }, 'config.api_key: api_key is required: the affiliate API key from the Everflow partner portal (connector everflow)'],
  [{ connector: 'everflow', name: 'x', config: { api_key: 'k', click_id_field: 'sub9' } }, /^config\.click_id_field: .*\(connector everflow\)$/],
  [{ connector: 'nope', name: 'x', config: {} }, `unknown connector "nope"; available: ${Object.keys(connectors).join(', ')}`],
  [{ connector: 'everflow', name: 'x', config: { api_key: 'k' }, every_minutes: 0 }, /^body\.every_minutes: /],
])('POST /api/v1/connections rejects %j', async (body, message) => {
  const response = await request('POST', '/api/v1/connections', body);
  expect(response.statusCode).toBe(400);
  expect(response.json().error.message).toEqual(typeof message === 'string' ? message : expect.stringMatching(message));
});

test('scheduler reconciliation: one per enabled connection, idempotent, orphans removed', async () => {
  const make = async (name: string) => (await request('POST', '/api/v1/connections', { connector: 'everflow', name, config: { api_key: SANDBOX_KEY, base_url: sandbox.url } })).json().id as string;
  const a = await make('a');
  const b = await make('b');
  await harness.queues.pull.upsertJobScheduler(schedulerId('00000000-0000-4000-8000-00000000dead'), { every: 60_000 }, { name: 'pull', data: { connectionId: '00000000-0000-4000-8000-00000000dead', trigger: 'schedule' } });
  const first = await harness.service.reconcileSchedulers();
  expect(first.removed).toEqual([schedulerId('00000000-0000-4000-8000-00000000dead')]);
  await harness.service.reconcileSchedulers();
  await harness.service.reconcileSchedulers();
  const ids = (await harness.queues.pull.getJobSchedulers(0, -1)).map((scheduler) => scheduler.key).sort();
  expect(ids).toEqual(expect.arrayContaining([schedulerId(a), schedulerId(b)]));
  expect(ids.filter((id) => id === schedulerId(a))).toHaveLength(1);
  expect(ids).not.toContain(schedulerId('00000000-0000-4000-8000-00000000dead'));
});

test('Bull Board at /admin/queues needs the admin token, as bearer or as the Basic password', async () => {
  const none = await tally.app.inject({ method: 'GET', url: '/admin/queues' });
  expect(none.statusCode).toBe(401);
  expect(none.headers['www-authenticate']).toBe('Basic realm="Tally"');
  const basic = await tally.app.inject({ method: 'GET', url: '/admin/queues', headers: { authorization: `Basic ${Buffer.from(`anyone:${ADMIN_TOKEN}`).toString('base64')}` } });
  expect(basic.statusCode).toBe(200);
  expect(basic.body).toContain('<html');
  const wrong = await tally.app.inject({ method: 'GET', url: '/admin/queues', headers: { authorization: `Basic ${Buffer.from('anyone:guess').toString('base64')}` } });
  expect(wrong.statusCode).toBe(401);
  const queues = await tally.app.inject({ method: 'GET', url: '/admin/queues/api/queues', headers: auth });
  expect(queues.statusCode).toBe(200);
  expect(queues.json().queues.map((queue: { name: string }) => queue.name).sort()).toEqual(['backfill', 'maintenance', 'pull']);
  expect(queues.headers['cache-control']).toBe('no-store');
  // A browser replays cached Basic credentials on a cross-site request: state changes need the same origin.
  const basicAuth = { authorization: `Basic ${Buffer.from(`anyone:${ADMIN_TOKEN}`).toString('base64')}` };
  const crossSite = await tally.app.inject({ method: 'PUT', url: '/admin/queues/api/queues/pull/pause', headers: { ...basicAuth, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } });
  expect([crossSite.statusCode, crossSite.json().error.code]).toEqual([403, 'cross_site_request']);
  expect(await harness.queues.pull.isPaused()).toBe(false);
  const sameOrigin = await tally.app.inject({ method: 'PUT', url: '/admin/queues/api/queues/pull/pause', headers: { ...basicAuth, 'sec-fetch-site': 'same-origin' } });
  expect(sameOrigin.statusCode).toBe(200);
  expect(await harness.queues.pull.isPaused()).toBe(true);
  await harness.queues.pull.resume();
});

test('GET /api/v1/connectors: each connector states its maturity and what is unconfirmed', async () => {
  const items = (await request('GET', '/api/v1/connectors')).json() as { id: string; kind: string; maturity: string; unconfirmed: string[]; documentation_url: string }[];
  for (const item of items) {
    expect(item.kind).toBe(['tonic', 'system1', 'crossroads', 'sedo'].includes(item.id) ? 'revenue' : 'conversion');
    expect(['verified', 'experimental']).toContain(item.maturity);
    if (item.maturity === 'experimental') expect(item.unconfirmed.length).toBeGreaterThan(0);
    expect(item.documentation_url).toMatch(/^https:\/\//);
  }
  expect(items.find((item) => item.id === 'everflow')?.unconfirmed.join(' ')).toMatch(/documents no status field/);
});

test('base_url: https except loopback; changing it (a host-deciding field) needs the secrets in the same request', async () => {
  const plain = await request('POST', '/api/v1/connections', { connector: 'impact', name: 'i', config: { account_sid: 'IRabc', auth_token: 'tok', base_url: 'http://api.impact.example' } });
  expect(plain.statusCode).toBe(400);
  expect(plain.json().error.message).toMatch(/^config\.base_url: base_url must use https/);

  const created = (await request('POST', '/api/v1/connections', { connector: 'everflow', name: 'moves', config: { api_key: SANDBOX_KEY, base_url: sandbox.url } })).json();
  const moved = await request('PATCH', `/api/v1/connections/${created.id}`, { config: { base_url: 'https://attacker.example' } });
  expect(moved.statusCode).toBe(400);
  expect(moved.json().error).toEqual({ code: 'secrets_required', message: "config.base_url decides where the connection's credentials are sent: send config.api_key again in the same request to change it" });
  const redacted = await request('PATCH', `/api/v1/connections/${created.id}`, { config: { base_url: 'https://attacker.example', api_key: '[redacted]' } });
  expect(redacted.statusCode).toBe(400);
  expect((await request('GET', `/api/v1/connections/${created.id}`)).json().config.base_url).toBe(sandbox.url);

  // The same base_url again, or other fields alone, need no secrets; a new host with them is fine.
  expect((await request('PATCH', `/api/v1/connections/${created.id}`, { config: { base_url: sandbox.url, click_id_field: 'sub2' } })).statusCode).toBe(200);
  const withSecret = await request('PATCH', `/api/v1/connections/${created.id}`, { config: { base_url: 'https://api-eu.eflow.team', api_key: 'eu-key' } });
  expect(withSecret.statusCode).toBe(200);
  expect(withSecret.json().config).toMatchObject({ base_url: 'https://api-eu.eflow.team', api_key: '[redacted]' });
});

test("a connection shows its connector's warnings (Everflow's missing status) and stays healthy", async () => {
  const created = (await request('POST', '/api/v1/connections', { connector: 'everflow', name: 'warned', config: { api_key: SANDBOX_KEY, base_url: sandbox.url } })).json();
  expect(created.healthy).toBe(true);
  expect(created.warnings).toEqual([expect.stringMatching(/does not state a conversion's status: conversions it lists without one are registered as pending/)]);
  const patched = (await request('PATCH', `/api/v1/connections/${created.id}`, { config: { unreported_status: 'approved' } })).json();
  expect(patched.warnings).toEqual([expect.stringMatching(/registered as approved/)]);
  const impact = (await request('POST', '/api/v1/connections', { connector: 'impact', name: 'quiet', config: { account_sid: 'IRabc', auth_token: 'tok' } })).json();
  expect(impact.warnings).toEqual([]);
});
