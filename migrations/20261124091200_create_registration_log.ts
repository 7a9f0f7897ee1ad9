import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE registration_log (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      received_at timestamptz NOT NULL DEFAULT now(),
      source text NOT NULL CHECK (source IN ('postback', 'pixel', 'script', 'api', 'upload')),
      outcome text NOT NULL CHECK (outcome IN ('accepted', 'duplicate', 'updated', 'rejected')),
      reason text,
      message text,
      click_id text,
      txid text,
      type text,
      conversion_id bigint,
      connection_id uuid,
      upload_id uuid,
      upload_line integer,
      rematch_of bigint,
      warnings jsonb,
      fields jsonb,
      request jsonb NOT NULL
    );
    -- Settled attempts are found through their conversion (whose id mostly grows, so this index
    -- appends); only unsettled ones (rejections) are indexed by click id. Indexing every attempt
    -- by click id cost about 15% of a 10,000-conversion batch.
    CREATE INDEX registration_log_conversion_id_idx ON registration_log (conversion_id) WHERE conversion_id IS NOT NULL;
    CREATE INDEX registration_log_unsettled_click_idx ON registration_log (click_id) WHERE conversion_id IS NULL;
    CREATE UNIQUE INDEX registration_log_rematch_of_key ON registration_log (rematch_of) WHERE rematch_of IS NOT NULL;
    COMMENT ON TABLE registration_log IS 'Append-only ledger of every registration attempt from every route: the postback log operators read to troubleshoot. Never updated.';
    COMMENT ON COLUMN registration_log.reason IS 'Machine-readable reason: for rejections why (unknown_click_id, unreplaced_macro, invalid_payout, ...); for updates what happened (changed, adopted).';
    COMMENT ON COLUMN registration_log.message IS 'Human-readable explanation with a hint how to fix it.';
    COMMENT ON COLUMN registration_log.click_id IS 'Normalized (lower-cased) click id when one could be read.';
    COMMENT ON COLUMN registration_log.conversion_id IS 'The conversion accepted, updated or duplicated; NULL for rejections.';
    COMMENT ON COLUMN registration_log.upload_line IS 'Line number in the uploaded CSV (1-based, counting the header).';
    COMMENT ON COLUMN registration_log.rematch_of IS 'For re-registrations of an unknown_click_id attempt after its click arrived: the original attempt.';
    COMMENT ON COLUMN registration_log.warnings IS 'JSON array of things that did not block registration, e.g. an unreplaced macro in an optional field that was ignored.';
    COMMENT ON COLUMN registration_log.fields IS 'For rejected attempts: the conversion fields as handed to the pipeline, so an unknown_click_id attempt can be re-registered when its click arrives.';
    COMMENT ON COLUMN registration_log.request IS 'The raw input as received (query and body for postbacks, the CSV line, the API record); secrets removed.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE registration_log');
}
