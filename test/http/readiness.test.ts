import Fastify from 'fastify';
import type { AppContext } from '../../src/http/context';
import { healthRoutes } from '../../src/http/routes/health';
import { Metrics } from '../../src/observability/metrics';
import type { Spool, SpoolState } from '../../src/spool/spool';
import { testConfig } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';

/**
 * /readyz says whether a postback can be made durable now. Postgres answering is enough only
 * while no spooled backlog waits: behind one, postbacks go to the spool (arrival order), so the
 * spool decides. (Found by an audit: a spool that could not be written, with a backlog left,
 * refused every postback while /readyz said ready because Postgres answered.)
 */
let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb.drop();
});

function fakeSpool(state: SpoolState, backlog: boolean): Spool {
  return {
    state,
    hasBacklog: backlog,
    acceptsPostbacks: state === 'ok' || state === 'draining',
    stats: () => ({ entries: backlog ? 3 : 0, bytes: backlog ? 300 : 0, oldestAt: backlog ? new Date('2026-11-29T00:00:00Z') : undefined }),
  } as unknown as Spool;
}

async function readyz(spool: Spool | undefined): Promise<{ status: number; body: Record<string, unknown> }> {
  const app = Fastify();
  const ctx = { db: testDb.db, spool, metrics: new Metrics({ defaultMetrics: false }), config: testConfig({ metricsPublic: true }) } as unknown as AppContext;
  await app.register(healthRoutes, { ctx });
  try {
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    return { status: response.statusCode, body: response.json() };
  } finally {
    await app.close();
  }
}

test.each([
  ['no spool, Postgres answers', 200, undefined],
  ['spool empty and writable', 200, fakeSpool('ok', false)],
  ['spool unwritable, no backlog: postbacks go straight to Postgres', 200, fakeSpool('unwritable', false)],
  ['backlog draining into a writable spool', 200, fakeSpool('draining', true)],
  ['backlog left and the spool unwritable: every postback would be refused', 503, fakeSpool('unwritable', true)],
  ['backlog left and the spool full', 503, fakeSpool('full', true)],
] as const)('%s → %i', async (_name, expected, spool) => {
  const { status, body } = await readyz(spool);
  expect(status).toBe(expected);
  expect(body.checks).toMatchObject({ postgres: 'ok' });
});
