import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // An operator may already have a `revenue` type (a postback created it with the defaults): keep theirs.
  await knex.raw(`
    INSERT INTO conversion_types (name, include_in_conversions, include_in_revenue, sign) VALUES ('revenue', true, true, 1)
    ON CONFLICT (name) DO NOTHING
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DELETE FROM conversion_types WHERE name = 'revenue' AND NOT EXISTS (SELECT 1 FROM conversions WHERE type = 'revenue')");
}
