import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE networks (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      currency char(3),
      duplicate_policy text NOT NULL DEFAULT 'ignore' CHECK (duplicate_policy IN ('ignore', 'accept', 'update')),
      postback_ips cidr[],
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    COMMENT ON TABLE networks IS 'Affiliate networks (or revenue feeds) that report conversions; they set the default payout currency and the duplicate policy for conversions without a transaction id.';
    COMMENT ON COLUMN networks.currency IS 'Default payout currency of the network''s offers (ISO 4217); third step of the currency precedence.';
    COMMENT ON COLUMN networks.duplicate_policy IS 'What a second conversion of the same click and type WITHOUT txid does: ignore (duplicate), accept (counts again) or update (latest wins).';
    COMMENT ON COLUMN networks.postback_ips IS 'When set, postbacks for this network''s offers are accepted only from these addresses/ranges; NULL accepts any.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE networks');
}
