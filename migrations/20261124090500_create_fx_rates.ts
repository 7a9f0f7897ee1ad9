import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE fx_rates (
      rate_date date NOT NULL,
      base char(3) NOT NULL,
      quote char(3) NOT NULL,
      rate numeric(24, 12) NOT NULL CHECK (rate > 0),
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (base, quote, rate_date),
      CHECK (base <> quote)
    );
    COMMENT ON TABLE fx_rates IS 'Daily exchange rates: 1 unit of base = rate units of quote. A conversion uses the latest rate on or before its (UTC) date.';

    -- Rate to convert 1 unit of from_currency into to_currency on a day: same currency, a direct
    -- pair, its inverse, or a cross through a common base, whichever has the most recent date.
    CREATE FUNCTION tally_fx_rate(from_currency text, to_currency text, on_day date)
    RETURNS numeric LANGUAGE sql STABLE PARALLEL SAFE AS $$
      SELECT CASE WHEN from_currency = to_currency THEN 1::numeric ELSE (
        SELECT rate FROM (
          (SELECT d.rate_date AS day, d.rate::numeric AS rate FROM fx_rates d
            WHERE d.base = from_currency AND d.quote = to_currency AND d.rate_date <= on_day
            ORDER BY d.rate_date DESC LIMIT 1)
          UNION ALL
          (SELECT i.rate_date, round(1::numeric / i.rate, 12) FROM fx_rates i
            WHERE i.base = to_currency AND i.quote = from_currency AND i.rate_date <= on_day
            ORDER BY i.rate_date DESC LIMIT 1)
          UNION ALL
          (SELECT a.rate_date, round(b.rate / a.rate, 12) FROM fx_rates a
             JOIN fx_rates b ON b.base = a.base AND b.rate_date = a.rate_date AND b.quote = to_currency
            WHERE a.quote = from_currency AND a.rate_date <= on_day
            ORDER BY a.rate_date DESC LIMIT 1)
        ) candidates ORDER BY day DESC LIMIT 1
      ) END
    $$;
    COMMENT ON FUNCTION tally_fx_rate(text, text, date) IS 'Units of to_currency per 1 from_currency on or before on_day; NULL when no rate is known.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP FUNCTION tally_fx_rate(text, text, date); DROP TABLE fx_rates');
}
