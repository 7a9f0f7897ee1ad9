import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE registration_log
      ADD COLUMN client_ip inet,
      ADD COLUMN token_digest text,
      ADD COLUMN intake_id uuid,
      ADD COLUMN network_id uuid,
      ADD COLUMN times_seen integer NOT NULL DEFAULT 1 CHECK (times_seen >= 1),
      ADD COLUMN last_seen_at timestamptz;
    UPDATE registration_log SET last_seen_at = received_at;
    ALTER TABLE registration_log ALTER COLUMN last_seen_at SET NOT NULL, ALTER COLUMN last_seen_at SET DEFAULT now();
    CREATE UNIQUE INDEX registration_log_intake_id_key ON registration_log (intake_id) WHERE intake_id IS NOT NULL;
    CREATE UNIQUE INDEX registration_log_pulled_rejection_key ON registration_log (connection_id, txid, reason)
      WHERE outcome = 'rejected' AND connection_id IS NOT NULL AND txid IS NOT NULL;
    -- The retention job deletes old attempts that created or changed nothing, oldest first.
    CREATE INDEX registration_log_retention_idx ON registration_log (last_seen_at) WHERE outcome IN ('rejected', 'duplicate');
    COMMENT ON TABLE registration_log IS 'Ledger of every registration attempt from every route: the postback log operators read to troubleshoot. Append-only, except the counters (times_seen, last_seen_at) and refreshed record of a repeatedly pulled rejection, and the retention job deleting old attempts that created or changed nothing.';
    COMMENT ON COLUMN registration_log.client_ip IS 'Address the attempt came from (after TRUST_PROXY); kept so an attempt whose network was unknown at receipt can be judged against the network''s postback_ips when re-matched.';
    COMMENT ON COLUMN registration_log.token_digest IS 'HMAC-SHA256 (SECRET_KEY) of the postback token the attempt presented, never the token: lets re-matching judge the token later.';
    COMMENT ON COLUMN registration_log.intake_id IS 'Id assigned when an HTTP request was received; unique, so a request registered twice (e.g. from the spool after a late commit) settles once.';
    COMMENT ON COLUMN registration_log.network_id IS 'Network of the matched click when known (settled attempts and trust rejections).';
    COMMENT ON COLUMN registration_log.times_seen IS 'How often this attempt was seen: a pulled record that keeps being rejected for the same reason is logged once per (connection, txid, reason) and counted here. 1 for everything else.';
    COMMENT ON COLUMN registration_log.last_seen_at IS 'Latest sighting (equals received_at unless times_seen > 1); the retention job ages attempts by it.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE registration_log DROP COLUMN client_ip, DROP COLUMN token_digest, DROP COLUMN intake_id, DROP COLUMN network_id,
      DROP COLUMN times_seen, DROP COLUMN last_seen_at
  `);
}
