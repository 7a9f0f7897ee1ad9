import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE networks
      ADD COLUMN postback_token_encrypted text,
      ADD COLUMN postback_token_digest text,
      ADD COLUMN previous_token_digest text,
      ADD COLUMN previous_token_expires_at timestamptz,
      ADD COLUMN accepted_routes text[] CHECK (accepted_routes <@ ARRAY['postback', 'pixel', 'script']::text[]);
    COMMENT ON COLUMN networks.postback_token_encrypted IS 'The network''s postback token, AES-256-GCM with SECRET_KEY (base64 of iv | tag | ciphertext); decrypted only to fill the postback URL template for the operator. NULL: no token of its own (POSTBACK_TOKEN applies if set).';
    COMMENT ON COLUMN networks.postback_token_digest IS 'HMAC-SHA256 (SECRET_KEY) of the postback token, hex: what S2S postbacks are checked against, so the check never needs the token.';
    COMMENT ON COLUMN networks.previous_token_digest IS 'Digest of the token replaced by the last rotation; still accepted until previous_token_expires_at.';
    COMMENT ON COLUMN networks.accepted_routes IS 'Routes that may register conversions for this network''s clicks (postback, pixel, script). NULL: all three when no token applies to the network and it has no IP list, otherwise only postback.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE networks DROP COLUMN postback_token_encrypted, DROP COLUMN postback_token_digest, DROP COLUMN previous_token_digest,
      DROP COLUMN previous_token_expires_at, DROP COLUMN accepted_routes
  `);
}
