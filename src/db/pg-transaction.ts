import type pg from 'pg';
import type { Db } from './database';

/** A statement prepared once per connection (Postgres caches its plan) and run with $n parameters. */
export interface PreparedStatement {
  readonly name: string;
  readonly text: string;
}

/** An open transaction on one raw pg connection from knex's pool. */
export interface PgTransaction {
  query<Row>(statement: PreparedStatement, values: readonly unknown[]): Promise<Row[]>;
}

interface KnexPgClient {
  acquireConnection(): Promise<pg.Client>;
  releaseConnection(connection: pg.Client): Promise<void>;
}

/** Thrown inside a transaction to roll it back on purpose (dry runs). */
export class Rollback extends Error {}

/**
 * Runs `work` in a transaction on a raw pg connection taken from the knex pool. The hot path uses
 * named prepared statements here: planning the registration statement cost more than executing
 * it for small batches, and knex re-wrote the SQL text on every call. Commits when `work`
 * resolves, rolls back when it throws; a connection whose transaction state is unknown (network
 * error during COMMIT/ROLLBACK) is destroyed rather than reused.
 */
export async function withPgTransaction<T>(db: Db, work: (transaction: PgTransaction) => Promise<T>): Promise<T> {
  const client = db.client as unknown as KnexPgClient;
  const connection = await client.acquireConnection();
  let broken = false;
  const transaction: PgTransaction = {
    async query<Row>(statement: PreparedStatement, values: readonly unknown[]): Promise<Row[]> {
      const result = await connection.query({ name: statement.name, text: statement.text, values: values as unknown[] });
      return result.rows as Row[];
    },
  };
  try {
    await connection.query('BEGIN');
    let result: T;
    try {
      result = await work(transaction);
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
    await client.releaseConnection(connection);
  }
}
