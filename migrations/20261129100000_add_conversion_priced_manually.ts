import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // A constant default: no table rewrite (Postgres 11+), on a plain or a partitioned table.
  await knex.raw(`
    ALTER TABLE conversions ADD COLUMN priced_manually boolean NOT NULL DEFAULT false;
    COMMENT ON COLUMN conversions.priced_manually IS 'The payout was assigned from a manual-mode offer at first registration. Such a price is never changed by a later report, even after the offer switched to auto mode (DESIGN: manual payout is assigned once). Conversions registered before this column existed read false: later reports of them follow the offer''s current mode, as they did then.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE conversions DROP COLUMN priced_manually');
}
