import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE connections
      ADD COLUMN estimate_days integer CHECK (estimate_days BETWEEN 1 AND 90),
      ADD COLUMN final_after_days integer CHECK (final_after_days BETWEEN 1 AND 90),
      ADD CONSTRAINT connections_estimate_before_final CHECK (estimate_days IS NULL OR final_after_days IS NULL OR estimate_days <= final_after_days);
    COMMENT ON COLUMN connections.estimate_days IS 'Revenue feeds: days (today included, in the feed''s zone) pulled on every tick while estimated; NULL uses the feed''s default.';
    COMMENT ON COLUMN connections.final_after_days IS 'Revenue feeds: age in days at which a day gets its one final pull (and, for feeds without a final flag, becomes final); NULL uses the feed''s default.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE connections DROP COLUMN estimate_days, DROP COLUMN final_after_days');
}
