import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE connections ADD COLUMN warnings jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(warnings) = 'array');
    COMMENT ON COLUMN connections.warnings IS 'Caveats an operator must know about this connection (JSON array of strings), e.g. that the network''s API does not report a conversion''s status. Set from the connector when the connection is saved or pulled; a warning does not make the connection unhealthy.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE connections DROP COLUMN warnings');
}
