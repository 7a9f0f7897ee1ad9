import pg from 'pg';
import { adminUrl, dropRunDatabases } from './names';

/** Drops this run's template and any per-file databases a crashed suite left behind. */
export default async function globalTeardown(): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await dropRunDatabases(admin, { staleOnly: false, runId: process.env.TALLY_TEST_RUN_ID });
  } finally {
    await admin.end();
  }
}
