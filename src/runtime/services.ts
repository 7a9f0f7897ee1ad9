import { query } from '../db/sql';
import type { TallyConfig } from '../config/config';
import { createDb, type Db } from '../db/database';
import type { Metrics } from '../observability/metrics';
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
export async function openServices(config: TallyConfig, options: { poolMax?: number; applicationName?: string; metrics?: Metrics } = {}): Promise<Services> {
  const db = createDb(config.databaseUrl, { ...(options.poolMax ? { poolMax: options.poolMax } : {}), ...(options.applicationName ? { applicationName: options.applicationName } : {}) });
  try {
    await query(db, 'SELECT 1');
  } catch (error) {
    await db.destroy();
    throw explainConnectionError(error, 'Postgres', config.databaseUrl);
  }
  // One pipeline per process: every route and job shares it (and its cache of known types).
  const { metrics } = options;
  const registrar = new Registrar(db, {
    displayCurrency: config.displayCurrency,
    defaultCurrency: config.defaultCurrency,
    ...(metrics ? { onOutcomes: (source, outcomes) => metrics.recordOutcomes(source, outcomes) } : {}),
  });
  return {
    config,
    db,
    registrar,
    async close() {
      await db.destroy();
    },
  };
}
