import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE conversions (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      click_id text NOT NULL REFERENCES clicks (click_id),
      type text NOT NULL,
      txid text,
      dedup_key text NOT NULL,
      status text NOT NULL CHECK (status IN ('approved', 'pending', 'declined')),
      payout numeric(20, 6) NOT NULL,
      currency char(3) NOT NULL,
      reported_payout numeric(20, 6),
      reported_currency char(3),
      display_payout numeric(20, 6),
      display_currency char(3) NOT NULL,
      fx_rate numeric(24, 12),
      occurred_at timestamptz NOT NULL,
      visit_at timestamptz NOT NULL,
      received_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      revision integer NOT NULL DEFAULT 1,
      source text NOT NULL CHECK (source IN ('postback', 'pixel', 'script', 'api', 'upload')),
      connection_id uuid,
      upload_id uuid,
      campaign_id uuid NOT NULL,
      offer_id uuid NOT NULL,
      network_id uuid,
      params jsonb NOT NULL DEFAULT '{}'::jsonb,
      CONSTRAINT conversions_identity UNIQUE (click_id, type, dedup_key),
      CONSTRAINT conversions_txid_in_key CHECK ((txid IS NULL) = (dedup_key NOT LIKE 'tx:%'))
    );
    CREATE INDEX conversions_occurred_at_idx ON conversions (occurred_at);
    COMMENT ON TABLE conversions IS 'Registered conversions: exactly one row per real conversion. Written only by the registration pipeline.';
    COMMENT ON COLUMN conversions.click_id IS 'Matched click (lower-cased).';
    COMMENT ON COLUMN conversions.type IS 'A conversion_types name. No foreign key (it cost a trigger per row for a table of a dozen rows): the pipeline inserts unknown types before the conversion, and types are never deleted.';
    COMMENT ON COLUMN conversions.dedup_key IS 'Identity within (click_id, type): ''tx:''||txid when a txid was given; '''' for the one txid-less conversion under the ignore/update policies; ''acc:''||uuid for each txid-less conversion under accept.';
    COMMENT ON COLUMN conversions.payout IS 'Payout that counts, in currency: the reported payout in auto mode, the offer''s fixed payout in manual mode. Stored as reported; for types with sign -1 reports subtract abs(payout), whichever sign the network used.';
    COMMENT ON COLUMN conversions.reported_payout IS 'Payout as the source reported it (NULL if none), kept even when a manual offer payout replaced it.';
    COMMENT ON COLUMN conversions.display_payout IS 'payout converted into display_currency with fx_rate for the conversion''s UTC date; NULL until a rate for that date is known.';
    COMMENT ON COLUMN conversions.display_currency IS 'Display currency at registration time; a later DISPLAY_CURRENCY change does not rewrite history.';
    COMMENT ON COLUMN conversions.fx_rate IS 'Units of display_currency per 1 unit of currency used for display_payout.';
    COMMENT ON COLUMN conversions.occurred_at IS 'Conversion time (reported timestamp, or receipt time when none was given).';
    COMMENT ON COLUMN conversions.visit_at IS 'Visit (click) time, copied from the click so reports can bucket by either.';
    COMMENT ON COLUMN conversions.revision IS 'Starts at 1; incremented whenever a later report changes status or payout, or a txid is adopted.';
    COMMENT ON COLUMN conversions.source IS 'Route of the first registration: postback, pixel, script, api or upload.';
    COMMENT ON COLUMN conversions.params IS 'param1..param20 as sent with the conversion.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE conversions');
}
