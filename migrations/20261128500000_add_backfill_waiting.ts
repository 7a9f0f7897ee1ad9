import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE backfills DROP CONSTRAINT backfills_status_check;
    ALTER TABLE backfills ADD CONSTRAINT backfills_status_check
      CHECK (status IN ('queued', 'running', 'waiting', 'completed', 'failed', 'cancelled'));
    COMMENT ON COLUMN backfills.status IS 'queued, running, waiting (rate-limited or retrying after a transient failure; resumes by itself), completed, failed (the job gave up; error says why) or cancelled.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    UPDATE backfills SET status = 'running' WHERE status = 'waiting';
    ALTER TABLE backfills DROP CONSTRAINT backfills_status_check;
    ALTER TABLE backfills ADD CONSTRAINT backfills_status_check CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled'));
  `);
}
