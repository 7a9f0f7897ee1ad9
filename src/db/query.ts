import type { Knex } from 'knex';

/** Anything that runs SQL: the knex handle or a transaction. */
export type Runner = Knex | Knex.Transaction;

/**
 * Runs raw SQL with `?` placeholders (array bindings) or `:name` placeholders (object bindings)
 * and returns the rows. Arrays bind as Postgres arrays (for `unnest(?::text[])`), which knex's
 * binding types do not describe. Beware: knex reads a `?` inside a SQL string literal as a
 * placeholder; bind such values instead.
 */
export async function queryRows<Row>(runner: Runner, sql: string, bindings: readonly unknown[] | Readonly<Record<string, unknown>> = []): Promise<Row[]> {
  const result = (await runner.raw(sql, bindings as unknown as Knex.RawBinding[])) as { rows: Row[] };
  return result.rows;
}
