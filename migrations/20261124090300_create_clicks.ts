import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE clicks (
      click_id text PRIMARY KEY CHECK (click_id ~ '^[a-z0-9_-]{1,64}$'),
      campaign_id uuid NOT NULL REFERENCES campaigns (id),
      offer_id uuid NOT NULL REFERENCES offers (id),
      visited_at timestamptz NOT NULL DEFAULT now(),
      params jsonb NOT NULL DEFAULT '{}'::jsonb,
      ip inet,
      user_agent text,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX clicks_campaign_visited_idx ON clicks (campaign_id, visited_at);
    COMMENT ON TABLE clicks IS 'Visits/clicks that conversions are matched to. Issued by /cf/click or imported.';
    COMMENT ON COLUMN clicks.click_id IS 'Stored lower-cased: click ids are compared case-insensitively (networks change case, e.g. ClickBank tid). Issued ids are 24 base32 characters, time ordered.';
    COMMENT ON COLUMN clicks.offer_id IS 'Offer the click was sent to, fixed at click time even if the campaign later points elsewhere.';
    COMMENT ON COLUMN clicks.params IS 'Extra query parameters of the click request (sub ids, traffic-source tokens).';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE clicks');
}
