import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE backfills (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      connection_id uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
      from_date date NOT NULL,
      to_date date NOT NULL,
      status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
      chunks_total integer NOT NULL,
      chunks_done integer NOT NULL DEFAULT 0,
      fetched bigint NOT NULL DEFAULT 0,
      inserted bigint NOT NULL DEFAULT 0,
      updated bigint NOT NULL DEFAULT 0,
      unchanged bigint NOT NULL DEFAULT 0,
      unmatched bigint NOT NULL DEFAULT 0,
      rejected bigint NOT NULL DEFAULT 0,
      error text,
      job_id text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz,
      CHECK (from_date <= to_date)
    );
    COMMENT ON TABLE backfills IS 'Operator-triggered pulls over a date range, split into chunks of the connector''s max window.';
    COMMENT ON COLUMN backfills.from_date IS 'First day (inclusive, UTC).';
    COMMENT ON COLUMN backfills.to_date IS 'Last day (inclusive, UTC).';

    CREATE TABLE backfill_chunks (
      backfill_id uuid NOT NULL REFERENCES backfills (id) ON DELETE CASCADE,
      chunk_index integer NOT NULL,
      window_from timestamptz NOT NULL,
      window_to timestamptz NOT NULL,
      done_at timestamptz,
      PRIMARY KEY (backfill_id, chunk_index)
    );
    COMMENT ON TABLE backfill_chunks IS 'The windows of a backfill. done_at is set in the transaction that stores the chunk''s last page, so a killed worker resumes at the first chunk without it.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE backfill_chunks; DROP TABLE backfills');
}
