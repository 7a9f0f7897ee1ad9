import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE sync_checkpoints (
      connection_id uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
      stream text NOT NULL DEFAULT 'conversions',
      stored_until timestamptz NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (connection_id, stream)
    );
    COMMENT ON TABLE sync_checkpoints IS 'How far a connection''s scheduled pulls have fully stored data. Advanced only in the transaction that stores the last page of a window chunk.';
    COMMENT ON COLUMN sync_checkpoints.stored_until IS 'End of the last window chunk stored completely; the next pull starts at this minus the lookback.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE sync_checkpoints');
}
