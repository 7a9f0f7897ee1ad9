import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE connections (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      connector text NOT NULL,
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      config jsonb NOT NULL DEFAULT '{}'::jsonb,
      secrets_encrypted text NOT NULL,
      every_minutes integer NOT NULL DEFAULT 60 CHECK (every_minutes BETWEEN 1 AND 10080),
      lookback_days integer CHECK (lookback_days BETWEEN 0 AND 365),
      network_id uuid REFERENCES networks (id),
      offer_id uuid REFERENCES offers (id),
      conversion_type text REFERENCES conversion_types (name),
      enabled boolean NOT NULL DEFAULT true,
      healthy boolean NOT NULL DEFAULT true,
      last_error text,
      last_error_at timestamptz,
      last_success_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    COMMENT ON TABLE connections IS 'An operator''s account on a connector (network API). Each enabled one has a BullMQ job scheduler.';
    COMMENT ON COLUMN connections.connector IS 'Connector id, e.g. everflow, impact, clickbank.';
    COMMENT ON COLUMN connections.config IS 'The non-secret part of the connector config (base_url, click_id_field, ...).';
    COMMENT ON COLUMN connections.secrets_encrypted IS 'Secret config fields as JSON, AES-256-GCM with SECRET_KEY: base64 of iv(12) | tag(16) | ciphertext. Never logged or returned.';
    COMMENT ON COLUMN connections.lookback_days IS 'Days re-pulled behind the checkpoint to catch late status/payout changes; NULL uses the connector default.';
    COMMENT ON COLUMN connections.network_id IS 'Network whose currency and duplicate policy apply to pulled conversions (overrides the click''s offer network).';
    COMMENT ON COLUMN connections.conversion_type IS 'Type given to pulled conversions whose record has none.';
    COMMENT ON COLUMN connections.healthy IS 'False after an authentication or configuration failure; last_error says why. Reset by the next successful pull.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE connections');
}
