import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Partial: only revenue-feed conversions pay for it. The revenue job finds a day's earlier
  // conversions (txid <feed>:<day>) per connection to count sub-ids the feed stopped reporting.
  await knex.raw(`
    CREATE INDEX conversions_revenue_day_idx ON conversions (connection_id, txid) WHERE type = 'revenue';
    COMMENT ON INDEX conversions_revenue_day_idx IS 'Revenue-feed conversions of one connection and feed day (txid <feed>:<YYYY-MM-DD>).';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX conversions_revenue_day_idx');
}
