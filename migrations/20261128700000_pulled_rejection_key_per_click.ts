import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX registration_log_pulled_rejection_key;
    -- A revenue feed's record is a sub-id's day: every sub-id of one day shares the txid
    -- <feed>:<day>, so the click ID is part of what identifies a pulled record.
    CREATE UNIQUE INDEX registration_log_pulled_rejection_key ON registration_log (connection_id, txid, (coalesce(click_id, '')), reason)
      WHERE outcome = 'rejected' AND connection_id IS NOT NULL AND txid IS NOT NULL;
    COMMENT ON COLUMN registration_log.times_seen IS 'How often this attempt was seen: a pulled record that keeps being rejected for the same reason is logged once per (connection, txid, click ID, reason) and counted here. 1 for everything else.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX registration_log_pulled_rejection_key;
    CREATE UNIQUE INDEX registration_log_pulled_rejection_key ON registration_log (connection_id, txid, reason)
      WHERE outcome = 'rejected' AND connection_id IS NOT NULL AND txid IS NOT NULL;
  `);
}
