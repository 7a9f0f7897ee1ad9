import type { Redis } from 'ioredis';
import type { TallyConfig } from '../config/config';
import type { Db } from '../db/database';
import type { ConversionIntake } from '../intake/conversion-intake';
import type { FloodGuard } from '../intake/flood-guard';
import type { Logger } from '../log/logger';
import type { Metrics } from '../observability/metrics';
import type { Registrar } from '../pipeline/registrar';
import type { Spool } from '../spool/spool';

/** What the routes need; built once by the caller of buildApp. */
export interface AppContext {
  readonly config: TallyConfig;
  readonly db: Db;
  readonly registrar: Registrar;
  readonly intake: ConversionIntake;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** For /readyz and the shared flood counters; absent means Redis is not part of this process. */
  readonly redis?: Redis;
  /** Flood limits per client IP; absent: no limits (tests of other behaviour). */
  readonly flood?: FloodGuard;
  /** The local durable spool behind `intake` (SPOOL_ENABLED); absent: Postgres down means 503. */
  readonly spool?: Spool;
  /** Pull scheduling, backfills and connection tests; absent when the process has no queues. */
  readonly pulls?: import('../../jobs/pull-service').PullService;
}
