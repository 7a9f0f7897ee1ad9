import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE conversion_parts (
      connection_id uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
      txid text NOT NULL,
      part_id text NOT NULL,
      amount numeric,
      currency char(3),
      status text NOT NULL CHECK (status IN ('approved', 'pending', 'declined')),
      network_status text,
      type text,
      click_id text,
      occurred_at timestamptz NOT NULL,
      posted_at timestamptz NOT NULL,
      original boolean NOT NULL,
      first_seen_at timestamptz NOT NULL DEFAULT now(),
      last_seen_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (connection_id, txid, part_id)
    );
    COMMENT ON TABLE conversion_parts IS 'Records a network reports as parts of one conversion that nets over them (CJ: an original action and the corrections that arrive later as records of their own). The pull job registers the conversion with the sum of its parts; written only by jobs/conversion-netting.ts.';
    COMMENT ON COLUMN conversion_parts.txid IS 'The netted conversion''s txid (CJ: originalActionId), shared by all its parts.';
    COMMENT ON COLUMN conversion_parts.part_id IS 'The record''s own id (CJ: commissionId).';
    COMMENT ON COLUMN conversion_parts.amount IS 'This record''s amount exactly as reported (unconstrained NUMERIC: the sum is exact; the pipeline validates its scale).';
    COMMENT ON COLUMN conversion_parts.status IS 'Our status of this record; the latest posted part''s status is the conversion''s.';
    COMMENT ON COLUMN conversion_parts.posted_at IS 'When the network posted the record (CJ: postingDate): orders the parts.';
    COMMENT ON COLUMN conversion_parts.original IS 'The original record (its click ID, time and type are the conversion''s) rather than a correction.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE conversion_parts');
}
