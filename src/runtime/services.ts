import { query } from '../db/sql';
import type { TallyConfig } from '../config/config';
import { createDb, type Db } from '../db/database';
import type { Metrics } from '../observability/metrics';
import { Registrar } from '../pipeline/registrar';
import { tokenDigest } from '../trust/token-digest';
import { explainConnectionError } from '../util/connection-errors';

/** The long-lived pieces a command needs, opened once and closed together. */
export interface Services {
  readonly config: TallyConfig;
  readonly db: Db;
  readonly registrar: Registrar;
  close(): Promise<void>;
}

/** The pipeline as the configuration sets it up (pricing currencies, the global postback token). */
export function createRegistrar(db: Db, config: TallyConfig, metrics?: Metrics): Registrar {
  return new Registrar(db, {
    displayCurrency: config.displayCurrency,
    defaultCurrency: config.defaultCurrency,
    globalTokenDigest: config.postbackToken === undefined ? null : tokenDigest(config.secretKey, config.postbackToken),
    ...(metrics
      ? { onOutcomes: (source, outcomes) => metrics.recordOutcomes(source, outcomes), onIsolation: () => metrics.batchIsolations.inc() }
      : {}),
  });
}

/** Opens the database (checking that it answers) and builds the pipeline. */
export async function openServices(
  config: TallyConfig,
  options: { poolMax?: number; applicationName?: string; metrics?: Metrics; /** Start even when Postgres does not answer (serve with a spool). */ allowUnreachable?: boolean } = {},
): Promise<Services> {
  const db = createDb(config.databaseUrl, { ...(options.poolMax ? { poolMax: options.poolMax } : {}), ...(options.applicationName ? { applicationName: options.applicationName } : {}) });
  try {
    await query(db, 'SELECT 1');
  } catch (error) {
    if (!options.allowUnreachable) {
      await db.destroy();
      throw explainConnectionError(error, 'Postgres', config.databaseUrl);
    }
  }
  // One pipeline per process: every route and job shares it (and its cache of known types).
  const { metrics } = options;
  const registrar = createRegistrar(db, config, metrics);
  return {
    config,
    db,
    registrar,
    async close() {
      await db.destroy();
    },
  };
}
