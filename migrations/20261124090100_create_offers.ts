import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE offers (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      url text NOT NULL,
      network_id uuid REFERENCES networks (id),
      payout_mode text NOT NULL DEFAULT 'auto' CHECK (payout_mode IN ('auto', 'manual')),
      payout numeric(20, 6),
      currency char(3),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT offers_manual_needs_payout CHECK (payout_mode = 'auto' OR payout IS NOT NULL)
    );
    CREATE INDEX offers_network_id_idx ON offers (network_id);
    COMMENT ON TABLE offers IS 'What a campaign sends traffic to; decides how a conversion''s payout is priced.';
    COMMENT ON COLUMN offers.url IS 'Offer URL template; {cf_click_id}, {click_id}, {campaign_id} and {offer_id} are replaced on redirect.';
    COMMENT ON COLUMN offers.payout_mode IS 'auto: the payout reported with the conversion (0 if none); manual: the fixed payout below replaces it.';
    COMMENT ON COLUMN offers.payout IS 'Fixed payout per conversion in manual mode, in the offer currency.';
    COMMENT ON COLUMN offers.currency IS 'Payout currency of the offer; second step of the currency precedence.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE offers');
}
