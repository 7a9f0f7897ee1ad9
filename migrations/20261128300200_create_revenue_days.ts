import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE revenue_days (
      connection_id uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
      day date NOT NULL,
      state text NOT NULL DEFAULT 'estimated' CHECK (state IN ('estimated', 'final')),
      amount numeric NOT NULL DEFAULT 0,
      unmatched_amount numeric NOT NULL DEFAULT 0,
      currency text,
      sub_ids integer NOT NULL DEFAULT 0,
      unmatched_sub_ids integer NOT NULL DEFAULT 0,
      network_status text,
      pulls integer NOT NULL DEFAULT 0,
      last_pulled_at timestamptz,
      final_at timestamptz,
      final_attempted_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (connection_id, day)
    );
    COMMENT ON TABLE revenue_days IS 'Per revenue-feed connection and feed day: whether the day is estimated or final, what its latest stored pull summed, and when it was pulled. The scheduled revenue pull selects days from it; its row lock serializes pulls of one day.';
    COMMENT ON COLUMN revenue_days.day IS 'The feed''s reporting day, in the feed''s own time zone.';
    COMMENT ON COLUMN revenue_days.state IS 'estimated until the feed calls the day final (or, for feeds without a flag, until its final pull at final_after_days); never goes back from final.';
    COMMENT ON COLUMN revenue_days.amount IS 'Sum of every row of the day in the latest stored pull (matched and unmatched), as the feed reported it: reconciles with the feed''s dashboard.';
    COMMENT ON COLUMN revenue_days.unmatched_amount IS 'Part of amount whose sub-id matched no click (unknown, empty or rejected sub-ids).';
    COMMENT ON COLUMN revenue_days.network_status IS 'The feed''s word for the day''s stage in the latest stored pull (e.g. estimated_revenue, final).';
    COMMENT ON COLUMN revenue_days.final_attempted_at IS 'Last final pull (at final_after_days or later); a day the feed still calls estimated is tried again a day later, for a week.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE revenue_days');
}
