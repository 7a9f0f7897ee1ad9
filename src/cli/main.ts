import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../config/config';
import { createAndMigrate } from '../db/migrate';
import { openServices } from '../runtime/services';
import { explainConnectionError } from '../util/connection-errors';
import { runUpload } from './upload-command';
import { runExample } from './example-command';
import { createLogger } from '../log/logger';
import { startHttp } from '../runtime/http-runtime';
import { onShutdown } from './shutdown';

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
      await migrate(config.databaseUrl);
      const logger = createLogger(config.logLevel);
      const runtime = await startHttp(config, logger);
      out(`tally serve listening on ${runtime.address} (admin API /api/v1, docs /docs)\n`);
      if (config.adminTokenGenerated) out(`admin token (generated, kept in ${config.stateDir}/admin-token): ${config.adminToken}\n`);
      await onShutdown(logger, () => runtime.stop());
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

/** Entry point used by bin/tally.js. */
export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
