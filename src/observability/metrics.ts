import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { RegistrationOutcome } from '../pipeline/types';

/** Prometheus metrics of one process; a registry per instance so tests do not collide. */
export class Metrics {
  readonly registry = new Registry();
  readonly registrations = new Counter({
    name: 'tally_registrations_total',
    help: 'Registration attempts by source, outcome and reason',
    labelNames: ['source', 'outcome', 'reason'],
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'tally_http_request_duration_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly intakeBatchSize = new Histogram({
    name: 'tally_intake_batch_size',
    help: 'Conversions per group-commit batch',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    registers: [this.registry],
  });
  readonly pulledRecords = new Counter({
    name: 'tally_pulled_records_total',
    help: 'Records fetched from network APIs by connector and result',
    labelNames: ['connector', 'result'],
    registers: [this.registry],
  });

  readonly intakeRefused = new Counter({
    name: 'tally_intake_refused_total',
    help: 'Postbacks answered 503 because the in-memory intake was full',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly rejectionsSuppressed = new Counter({
    name: 'tally_rejections_suppressed_total',
    help: 'Rejected attempts answered 429 and not logged because their client IP was over REJECT_LIMIT_PER_MINUTE',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly clicksLimited = new Counter({
    name: 'tally_clicks_rate_limited_total',
    help: 'Clicks answered 429 because their client IP was over CLICK_RATE_LIMIT_PER_MINUTE',
    registers: [this.registry],
  });
  readonly batchIsolations = new Counter({
    name: 'tally_batch_isolations_total',
    help: 'Batches split because one input could not be stored (each split counts once)',
    registers: [this.registry],
  });

  readonly postbacks = new Counter({
    name: 'tally_postbacks_total',
    help: 'Requests to /cf/cv by route and how they were answered: accepted, duplicate, updated, rejected, queued (spooled, 202), limited (429) or refused (503)',
    labelNames: ['route', 'outcome'],
    registers: [this.registry],
  });
  readonly spoolAppended = new Counter({
    name: 'tally_spool_appended_total',
    help: 'Postbacks made durable in the local spool, by why they did not go straight to Postgres (backlog, slow_commit, intake_full, database_error)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly spoolRefused = new Counter({
    name: 'tally_spool_refused_total',
    help: 'Postbacks answered 503 because the spool could not take them (full: SPOOL_MAX_MB reached; unwritable: a disk error)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly spoolDrained = new Counter({
    name: 'tally_spool_drained_total',
    help: 'Spooled postbacks registered by the drain, by outcome (a copy whose original committed late is a duplicate)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly spoolDrainErrors = new Counter({
    name: 'tally_spool_drain_errors_total',
    help: 'Failed attempts to register a spooled batch (Postgres still away); the batch is retried',
    registers: [this.registry],
  });
  readonly spoolCorrupt = new Counter({
    name: 'tally_spool_corrupt_total',
    help: 'Spool data that could not be read back (disk damage); copied aside for inspection. Should stay 0',
    registers: [this.registry],
  });
  readonly pullRuns = new Counter({
    name: 'tally_pull_runs_total',
    help: 'Pull and backfill job runs by kind and result (completed, skipped, cancelled, rate_limited, retrying, failed)',
    labelNames: ['kind', 'result'],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'tally_' });
  }

  /** Counts a settled batch. */
  recordOutcomes(source: string, outcomes: readonly RegistrationOutcome[]): void {
    for (const outcome of outcomes) this.registrations.inc({ source, outcome: outcome.status, reason: outcome.reason ?? '' });
  }
}
