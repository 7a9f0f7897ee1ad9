import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE pull_runs ADD COLUMN revenue jsonb;
    COMMENT ON COLUMN pull_runs.revenue IS 'Revenue feeds: one entry per day the run pulled: {day, phase, state, amount, unmatched_amount, sub_ids, unmatched_sub_ids, vanished, ignored, currency}. unmatched_amount is revenue that matched no click, so totals reconcile with the feed''s dashboard.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE pull_runs DROP COLUMN revenue');
}
