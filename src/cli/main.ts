import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../config/config';
import { maskUrlPasswords } from '../util/mask-secrets';
import { createAndMigrate } from '../db/migrate';
import { openServices } from '../runtime/services';
import { explainConnectionError, ServiceUnreachableError } from '../util/connection-errors';
import { runUpload } from './upload-command';
import { runExample } from './example-command';
import { createLogger } from '../log/logger';
import { startHttp } from '../runtime/http-runtime';
import { onShutdown } from './shutdown';
import { openPullRuntime } from '../runtime/pull-runtime';
import { Metrics } from '../observability/metrics';
import { registerWorkerGauges } from '../observability/gauges';
import { startMetricsServer } from '../observability/metrics-server';
import { runBackfillCommand } from './backfill-command';
import { runDemo } from './demo-command';

const out = (text: string): void => {
  process.stdout.write(text);
};

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError('expected a positive integer');
  return parsed;
}

/** Migrates, turning connection failures into a one-line reason. */
async function migrate(databaseUrl: string): Promise<{ created: boolean; applied: string[] }> {
  try {
    return await createAndMigrate(databaseUrl);
  } catch (error) {
    throw explainConnectionError(error, 'Postgres', databaseUrl);
  }
}

/** Builds the `tally` command line. Exported for tests. */
export function buildProgram(): Command {
  const program = new Command('tally')
    .description('Tally registers conversions from postbacks, pixels, scripts, network APIs and CSV uploads.')
    .showHelpAfterError('(run `tally --help` for usage)')
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  program
    .command('migrate')
    .description('create the database if it does not exist, then apply pending migrations')
    .action(async () => {
      const config = loadConfig();
      const { created, applied } = await migrate(config.databaseUrl);
      if (created) out(`created database ${new URL(config.databaseUrl).pathname.slice(1)}\n`);
      out(applied.length > 0 ? `applied ${applied.length} migrations\n` : 'database is up to date\n');
    });

  program
    .command('upload')
    .description('register conversions from a CSV file: click_id,payout,transaction_id,conversion_type,timestamp (header optional)')
    .argument('<file.csv>', 'the CSV file')
    .option('--dry-run', 'validate and show what would happen without storing anything')
    .option('--errors-only', 'print only lines that were not accepted or duplicates')
    .option('--batch-size <n>', 'conversions per database batch', positiveInteger, 5000)
    .action(async (file: string, options: { dryRun?: boolean; errorsOnly?: boolean; batchSize: number }) => {
      const config = loadConfig();
      await migrate(config.databaseUrl);
      const services = await openServices(config, { poolMax: 2, applicationName: 'tally-upload' });
      try {
        const { code } = await runUpload(services.db, services.registrar, file, options, out);
        process.exitCode = code;
      } finally {
        await services.close();
      }
    });

  program
    .command('serve')
    .description('run the HTTP server: tracking endpoints, admin API, docs (no workers)')
    .action(async () => {
      const config = loadConfig();
      const logger = createLogger(config.logLevel);
      try {
        await migrate(config.databaseUrl);
      } catch (error) {
        // With the spool, postbacks are taken (and kept on disk) while Postgres is away, even
        // across a restart; the schema was migrated by an earlier start.
        if (!config.spool.enabled || !(error instanceof ServiceUnreachableError)) throw error;
        logger.warn({ err: (error as Error).message }, 'could not migrate: Postgres is unreachable; serving with postbacks spooled until it is back');
      }
      const runtime = await startHttp(config, logger);
      out(`tally serve listening on ${runtime.address} (admin API /api/v1, docs /docs)\n`);
      if (config.adminTokenGenerated) out(`admin token (generated, kept in ${config.stateDir}/admin-token): ${config.adminToken}\n`);
      await onShutdown(logger, () => runtime.stop());
    });

  program
    .command('worker')
    .description('run the pull and backfill workers and keep the job schedulers in line with the connections (no HTTP)')
    .option('--concurrency <n>', 'pull jobs at a time', positiveInteger, 4)
    .action(async (options: { concurrency: number }) => {
      const config = loadConfig();
      await migrate(config.databaseUrl);
      const logger = createLogger(config.logLevel);
      const metrics = new Metrics({ defaultMetrics: config.metricsPort !== undefined });
      const services = await openServices(config, { poolMax: 10, applicationName: 'tally-worker', metrics });
      const pulls = await openPullRuntime(config, services, logger, metrics);
      await pulls.startWorkers({ pullConcurrency: options.concurrency });
      registerWorkerGauges(metrics, { db: services.db, queues: [pulls.queues.pull, pulls.queues.backfill, pulls.queues.maintenance] });
      const metricsServer = config.metricsPort === undefined ? undefined : await startMetricsServer(metrics, config, config.metricsPort);
      out(`tally worker running (queues under prefix "${config.queuePrefix}")${metricsServer ? `; metrics on port ${config.metricsPort}` : ''}\n`);
      await onShutdown(logger, async () => {
        await pulls.close();
        await metricsServer?.close();
        await services.close();
      });
    });

  program
    .command('start')
    .description('migrate, then run HTTP, workers and schedulers in one process')
    .action(async () => {
      const config = loadConfig();
      await migrate(config.databaseUrl);
      const logger = createLogger(config.logLevel);
      const metrics = new Metrics();
      const services = await openServices(config, { poolMax: 20, applicationName: 'tally-start', metrics });
      const pulls = await openPullRuntime(config, services, logger, metrics);
      await pulls.startWorkers();
      const http = await startHttp(config, logger, { services, pulls: pulls.service, metrics, redis: pulls.redis });
      registerWorkerGauges(metrics, { db: services.db, queues: [pulls.queues.pull, pulls.queues.backfill, pulls.queues.maintenance], tables: false });
      out(`tally listening on ${http.address} (admin API /api/v1, docs /docs, queues /admin/queues) with workers\n`);
      if (config.adminTokenGenerated) out(`admin token (generated, kept in ${config.stateDir}/admin-token): ${config.adminToken}\n`);
      await onShutdown(logger, async () => {
        await http.stop();
        await pulls.close();
        await services.close();
      });
    });

  program
    .command('backfill')
    .description('pull a connection over a date range (UTC days, inclusive); shows progress and exits when done')
    .requiredOption('--connection <id>', 'connection id')
    .requiredOption('--from <YYYY-MM-DD>', 'first day')
    .requiredOption('--to <YYYY-MM-DD>', 'last day')
    .action(async (options: { connection: string; from: string; to: string }) => {
      const config = loadConfig();
      await migrate(config.databaseUrl);
      process.exitCode = await runBackfillCommand(config, options, out);
    });

  program
    .command('demo')
    .description('a self-contained demo: migrates, creates a campaign with clicks, starts a sandbox network API, pulls it and keeps running')
    .action(async () => {
      const config = loadConfig();
      await migrate(config.databaseUrl);
      await runDemo(config, out);
    });

  program
    .command('example')
    .description('migrate, create an example network/offer/campaign with clicks, and upload examples/conversions.csv')
    .action(async () => {
      const config = loadConfig();
      await migrate(config.databaseUrl);
      const services = await openServices(config, { poolMax: 2, applicationName: 'tally-example' });
      try {
        process.exitCode = await runExample(services, out);
      } finally {
        await services.close();
      }
    });

  return program;
}

/**
 * Entry point used by bin/tally.js, which prints a failure as one line. Passwords of any URL in
 * the message (a DATABASE_URL echoed by a driver, say) are masked first.
 */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    const message = maskUrlPasswords((error as Error)?.message ?? String(error));
    throw Object.assign(new Error(message), { code: (error as { code?: unknown })?.code });
  }
}
