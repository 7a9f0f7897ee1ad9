import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE campaigns (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      offer_id uuid NOT NULL REFERENCES offers (id),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX campaigns_offer_id_idx ON campaigns (offer_id);
    COMMENT ON TABLE campaigns IS 'Traffic campaigns; /cf/click/:campaignId issues click ids for them and redirects to their offer.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE campaigns');
}
