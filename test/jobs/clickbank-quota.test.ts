import nock from 'nock';
import { ConnectorAuthError, ConnectorRateLimitError } from '../../connectors/kit/errors';
import { runPull } from '../../jobs/pull-job';
import { createConnection } from '../../src/connections/connection-store';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createPullHarness, SECRET_KEY, type PullHarness } from '../support/pulls';

/**
 * ClickBank's daily quota through the pull job, real Redis and Postgres: ClickBank (nock) answers
 * 403 over its quota (https://github.com/OcelliSolutions/OpenClickBank#developer-notes); the
 * order body follows the OpenClickBank OrderData fields (values INFERRED).
 */

const BASE = 'https://clickbank.api.test';
const LIST = '/rest/1.3/orders2/list';
let testDb: TestDatabase;
let harness: PullHarness;

beforeAll(async () => {
  testDb = await createTestDatabase();
  harness = await createPullHarness(testDb);
  nock.disableNetConnect();
  nock.enableNetConnect(/127\.0\.0\.1|localhost/);
});
afterEach(() => nock.cleanAll());
afterAll(async () => {
  nock.enableNetConnect();
  nock.restore();
  await harness.close();
  await testDb.drop();
});

const connect = (name: string) => createConnection(testDb.db, SECRET_KEY, { connector: 'clickbank', name, config: { api_key: 'API-123', base_url: BASE }, lookback_days: 1 });
const pull = (connectionId: string) => runPull(harness.deps, { connectionId, trigger: 'manual' }, undefined, new AbortController().signal);
const order = {
  transactionTime: new Date(Date.now() - 3_600_000).toISOString().replace('Z', '+00:00'),
  receipt: 'QUOTA1',
  trackingId: 'unknownclick',
  transactionType: 'SALE',
  currency: 'USD',
  lineItemData: [{ itemNo: '1', accountAmount: '31.12', lineItemType: 'ORIGINAL' }],
};

test('a 403 after a success this quota day is the quota: the job waits for the reset, the connection stays healthy, later pulls do not call', async () => {
  const connection = await connect('quota');
  nock(BASE).get(LIST).query(true).reply(206, JSON.stringify({ orderData: [order] }), { 'content-type': 'application/json' });
  nock(BASE).get(LIST).query(true).matchHeader('page', '2').reply(403, 'Forbidden', { 'content-type': 'text/plain' });
  const error = await pull(connection.id).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConnectorRateLimitError);
  expect((error as ConnectorRateLimitError).retryAfterMs).toBeGreaterThan(1000);
  const row = await testDb.db('connections').where({ id: connection.id }).first();
  expect(row).toMatchObject({ healthy: true, last_error: null });
  const [run] = await testDb.db('pull_runs').where({ connection_id: connection.id });
  expect(run).toMatchObject({ status: 'rate_limited' });

  // The budget is spent for every worker: the next pull stops before asking ClickBank.
  const untouched = nock(BASE).get(LIST).query(true).reply(200, 'null');
  await expect(pull(connection.id)).rejects.toThrow(/daily API quota .* is spent; it resets at/);
  expect(untouched.isDone()).toBe(false);
});

test('a 403 on a connection that has not worked since the quota reset is refused credentials: unhealthy', async () => {
  const connection = await connect('bad key');
  nock(BASE).get(LIST).query(true).reply(403, 'Forbidden', { 'content-type': 'text/plain' });
  await expect(pull(connection.id)).rejects.toBeInstanceOf(ConnectorAuthError);
  const row = await testDb.db('connections').where({ id: connection.id }).first();
  expect(row.healthy).toBe(false);
  expect(row.last_error).toMatch(/refused the credentials \(403 on rest\/1\.3\/orders2\/list: Forbidden\)/);
});
