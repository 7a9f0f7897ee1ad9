import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE pull_runs (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      connection_id uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
      trigger text NOT NULL CHECK (trigger IN ('schedule', 'manual', 'backfill', 'demo')),
      job_id text,
      window_from timestamptz NOT NULL,
      window_to timestamptz NOT NULL,
      status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed', 'rate_limited', 'skipped')),
      fetched integer NOT NULL DEFAULT 0,
      inserted integer NOT NULL DEFAULT 0,
      updated integer NOT NULL DEFAULT 0,
      unchanged integer NOT NULL DEFAULT 0,
      unmatched integer NOT NULL DEFAULT 0,
      rejected integer NOT NULL DEFAULT 0,
      error text,
      started_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz
    );
    CREATE INDEX pull_runs_connection_started_idx ON pull_runs (connection_id, started_at DESC);
    COMMENT ON TABLE pull_runs IS 'One row per pull of a connection (scheduled, manual or a backfill chunk) with what it fetched and stored.';
    COMMENT ON COLUMN pull_runs.status IS 'rate_limited: the network asked to wait longer than the retry budget; the job was delayed, not failed. skipped: another pull of the connection was running.';
    COMMENT ON COLUMN pull_runs.unchanged IS 'Records that matched an existing conversion with no change (re-pulled lookback).';
    COMMENT ON COLUMN pull_runs.unmatched IS 'Records whose click id is unknown; kept in the registration log for re-matching.';
    COMMENT ON COLUMN pull_runs.rejected IS 'Records rejected for another reason (invalid payout, macro, ...).';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE pull_runs');
}
