import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE conversions ADD COLUMN network_status text;
    COMMENT ON COLUMN conversions.network_status IS 'The status exactly as the network or feed last reported it (e.g. Impact LOCKED, Awin deleted), beside the normalized status, so an operator can reconcile against the network''s own dashboard. NULL for routes that send none.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE conversions DROP COLUMN network_status');
}
