import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { adminUrl } from '../support/names';
import { runCli } from '../support/cli';

test('tally migrate creates a missing database, migrates it, and is idempotent', async () => {
  const name = `tally_test_${process.env.TALLY_TEST_RUN_ID}_${randomBytes(3).toString('hex')}`;
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const env = { DATABASE_URL: url.toString(), TALLY_STATE_DIR: '/tmp/tally-migrate-test-state' };
  try {
    const first = await runCli(['migrate'], env);
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toContain(`created database ${name}`);
    expect(first.stdout).toMatch(/applied \d+ migrations/);
    const second = await runCli(['migrate'], env);
    expect(second.stdout).toBe('database is up to date\n');

    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    const { rows } = await client.query<{ relname: string; comment: string | null }>(
      `SELECT c.relname, obj_description(c.oid) AS comment FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname NOT LIKE 'knex%'`,
    );
    await client.end();
    // Every table of the data model exists and carries a comment.
    expect(rows.map((row) => row.relname).sort()).toEqual([
      'backfill_chunks', 'backfills', 'campaigns', 'clicks', 'connections', 'console_sessions', 'conversion_parts', 'conversion_types', 'conversions',
      'fx_rates', 'networks', 'offers', 'pull_runs', 'registration_log', 'revenue_days', 'sync_checkpoints', 'uploads',
    ]);
    expect(rows.filter((row) => !row.comment)).toEqual([]);
  } finally {
    const admin = new pg.Client({ connectionString: adminUrl() });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    await admin.end();
  }
});

test('an unreachable database gives one line that says where and how to fix it', async () => {
  const result = await runCli(['migrate'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/tally', TALLY_STATE_DIR: '/tmp/tally-migrate-test-state' });
  expect(result.code).toBe(1);
  expect(result.stderr).toBe('tally: cannot reach Postgres at postgres://postgres@127.0.0.1:1/tally (ECONNREFUSED); start it or point DATABASE_URL at a running server\n');
});

test('an invalid environment value exits with a one-line reason', async () => {
  const result = await runCli(['migrate'], { PORT: 'eighty', TALLY_STATE_DIR: '/tmp/tally-migrate-test-state' });
  expect(result.code).toBe(1);
  expect(result.stderr).toBe('tally: Invalid PORT: PORT must be an integer between 0 and 65535 (got "eighty")\n');
});
