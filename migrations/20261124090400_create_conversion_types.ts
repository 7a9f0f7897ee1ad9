import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE conversion_types (
      name text PRIMARY KEY CHECK (name ~ '^[a-z0-9_][a-z0-9_.-]{0,39}$'),
      include_in_conversions boolean NOT NULL DEFAULT true,
      include_in_revenue boolean NOT NULL DEFAULT true,
      sign smallint NOT NULL DEFAULT 1 CHECK (sign IN (1, -1)),
      created_at timestamptz NOT NULL DEFAULT now()
    );
    COMMENT ON TABLE conversion_types IS 'Kinds of conversion (the ct parameter). Unknown names arriving with a conversion are added with the defaults.';
    COMMENT ON COLUMN conversion_types.include_in_conversions IS 'Whether conversions of this type count in conversion totals.';
    COMMENT ON COLUMN conversion_types.include_in_revenue IS 'Whether payouts of this type count in revenue.';
    COMMENT ON COLUMN conversion_types.sign IS '-1 for types that take revenue back (refund, chargeback): reports subtract abs(payout).';
    INSERT INTO conversion_types (name, include_in_conversions, include_in_revenue, sign) VALUES
      ('conversion', true, true, 1),
      ('lead', true, true, 1),
      ('sale', true, true, 1),
      ('trial', true, true, 1),
      ('upsell', true, true, 1),
      ('refund', false, true, -1),
      ('chargeback', false, true, -1);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE conversion_types');
}
