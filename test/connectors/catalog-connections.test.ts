import { createConnection, loadConnection, updateConnection } from '../../src/connections/connection-store';
import { createTestDatabase, type TestDatabase } from '../support/database';

/**
 * HasOffers' network_id and CAKE's domain decide where the credentials go: a connection keeps its
 * secret when those change only if the secret comes along (DESIGN: host-deciding fields).
 */
const KEY = Buffer.alloc(32, 7);
let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
});

afterAll(async () => {
  await testDb.drop();
});

test.each([
  ['hasoffers', { network_id: 'demo', api_key: 'ho-secret-key' }, { network_id: 'elsewhere' }, 'api_key'],
  ['cake', { domain: 'partners.example.com', affiliate_id: 12, api_key: 'ck-secret-key' }, { domain: 'evil.example.com' }, 'api_key'],
] as const)('%s: the host-deciding field changes only together with the secret; its warnings are kept on the connection', async (connector, config, move, secret) => {
  const row = await createConnection(testDb.db, KEY, { connector, name: `${connector} main`, config: { ...config } });
  expect(JSON.stringify(row.config)).not.toContain(config[secret]);
  expect(row.warnings).toEqual([expect.any(String)]);
  await expect(updateConnection(testDb.db, KEY, row.id, { config: { ...move } })).rejects.toThrow(new RegExp(`send config\\.${secret} again`));
  await expect(updateConnection(testDb.db, KEY, row.id, { config: { ...move, [secret]: '[redacted]' } })).rejects.toThrow(/again in the same request/);
  const moved = await updateConnection(testDb.db, KEY, row.id, { config: { ...move, [secret]: 'a-new-secret' } });
  expect(moved.config).toMatchObject(move);
  expect((await loadConnection(testDb.db, KEY, row.id)).config[secret]).toBe('a-new-secret');
});
