import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE uploads (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      filename text,
      status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed')),
      rows integer NOT NULL DEFAULT 0,
      accepted integer NOT NULL DEFAULT 0,
      duplicates integer NOT NULL DEFAULT 0,
      updated integer NOT NULL DEFAULT 0,
      rejected integer NOT NULL DEFAULT 0,
      error text,
      started_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz
    );
    COMMENT ON TABLE uploads IS 'Manual CSV conversion uploads (CLI or API). Dry runs are not recorded. Per-line outcomes are in the registration log.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE uploads');
}
