import type pg from 'pg';
import type { Db } from './database';

/**
 * The one way hand-written SQL runs in Tally: `$n` parameters on a raw pg connection taken from
 * knex's pool (knex keeps migrations and the pool, nothing else). A statement with a `name` is
 * prepared once per connection and its plan cached by Postgres — used on hot paths, where
 * planning cost more than executing; a bare string runs unnamed.
 */
export interface PreparedStatement {
  readonly name: string;
  readonly text: string;
}

export type Statement = string | PreparedStatement;

/** An open transaction on one connection; the only transaction type. */
export interface Transaction {
  query<Row>(statement: Statement, values?: readonly unknown[]): Promise<Row[]>;
}

/** Where a statement can run: the pool (its own implicit transaction) or an open transaction. */
export type Queryable = Db | Transaction;

interface KnexPgClient {
  acquireConnection(): Promise<pg.Client>;
  releaseConnection(connection: pg.Client): Promise<void>;
}

/** Thrown inside a transaction to roll it back on purpose (dry runs). */
export class Rollback extends Error {}

function poolOf(db: Db): KnexPgClient {
  return db.client as unknown as KnexPgClient;
}

function run<Row>(connection: pg.Client, statement: Statement, values: readonly unknown[]): Promise<Row[]> {
  const config = typeof statement === 'string' ? { text: statement, values: values as unknown[] } : { name: statement.name, text: statement.text, values: values as unknown[] };
  return connection.query(config).then((result) => result.rows as Row[]);
}

/** Runs one statement and returns its rows. */
export async function query<Row = Record<string, unknown>>(on: Queryable, statement: Statement, values: readonly unknown[] = []): Promise<Row[]> {
  if (typeof on !== 'function') return on.query<Row>(statement, values);
  const pool = poolOf(on);
  const connection = await pool.acquireConnection();
  try {
    return await run<Row>(connection, statement, values);
  } finally {
    await pool.releaseConnection(connection);
  }
}

/** Runs one statement and returns its first row, or undefined. */
export async function queryOne<Row = Record<string, unknown>>(on: Queryable, statement: Statement, values: readonly unknown[] = []): Promise<Row | undefined> {
  const rows = await query<Row>(on, statement, values);
  return rows[0];
}

/**
 * Runs `work` in a transaction. Commits when `work` resolves, rolls back when it throws; a
 * connection whose transaction state is unknown (network error during COMMIT/ROLLBACK) is
 * destroyed rather than returned to the pool. Inside an open transaction, `work` simply runs in
 * it (no nesting).
 */
export async function transaction<T>(on: Queryable, work: (transaction: Transaction) => Promise<T>): Promise<T> {
  if (typeof on !== 'function') return work(on);
  const pool = poolOf(on);
  const connection = await pool.acquireConnection();
  let broken = false;
  const trx: Transaction = {
    query: <Row>(statement: Statement, values: readonly unknown[] = []) => run<Row>(connection, statement, values),
  };
  try {
    await connection.query('BEGIN');
    let result: T;
    try {
      result = await work(trx);
    } catch (error) {
      try {
        await connection.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw error;
    }
    try {
      await connection.query('COMMIT');
    } catch (error) {
      broken = true;
      throw error;
    }
    return result;
  } finally {
    if (broken) {
      (connection as pg.Client & { __knex__disposed?: unknown }).__knex__disposed = 'transaction state unknown';
      await connection.end().catch(() => undefined);
    }
    await pool.releaseConnection(connection);
  }
}
