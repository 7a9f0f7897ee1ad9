import type { TallyConfig } from '../config/config';
import { createDb, type Db } from '../db/database';
import { Registrar } from '../pipeline/registrar';
import { explainConnectionError } from '../util/connection-errors';

/** The long-lived pieces a command needs, opened once and closed together. */
export interface Services {
  readonly config: TallyConfig;
  readonly db: Db;
  readonly registrar: Registrar;
  close(): Promise<void>;
}

/** Opens the database (checking that it answers) and builds the pipeline. */
export async function openServices(config: TallyConfig, options: { poolMax?: number; applicationName?: string } = {}): Promise<Services> {
  const db = createDb(config.databaseUrl, options);
  try {
    await db.raw('SELECT 1');
  } catch (error) {
    await db.destroy();
    throw explainConnectionError(error, 'Postgres', config.databaseUrl);
  }
  const registrar = new Registrar(db, { displayCurrency: config.displayCurrency, defaultCurrency: config.defaultCurrency });
  return {
    config,
    db,
    registrar,
    async close() {
      await db.destroy();
    },
  };
}
