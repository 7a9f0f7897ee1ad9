import type { Knex } from 'knex';
import { migrations } from '../../migrations';
import { ensureDatabaseExists, createDb, type Db } from './database';

/** Serves the statically imported migrations so they run the same from dist/ and under jest. */
class StaticMigrationSource implements Knex.MigrationSource<string> {
  async getMigrations(): Promise<string[]> {
    return Object.keys(migrations);
  }
  getMigrationName(name: string): string {
    return name;
  }
  async getMigration(name: string): Promise<Knex.Migration> {
    const migration = migrations[name];
    if (!migration) throw new Error(`unknown migration ${name}`);
    return migration;
  }
}

export const migrationConfig: Knex.MigratorConfig = {
  migrationSource: new StaticMigrationSource(),
  tableName: 'knex_migrations',
};

/** Runs every pending migration on an open handle; returns the names applied. */
export async function migrateLatest(db: Db): Promise<string[]> {
  const [, applied] = (await db.migrate.latest(migrationConfig)) as [number, string[]];
  return applied;
}

/** Creates the database if missing, then migrates it (what `tally migrate` does). */
export async function createAndMigrate(databaseUrl: string): Promise<{ created: boolean; applied: string[] }> {
  const created = await ensureDatabaseExists(databaseUrl);
  const db = createDb(databaseUrl, { poolMax: 2, applicationName: 'tally-migrate' });
  try {
    return { created, applied: await migrateLatest(db) };
  } finally {
    await db.destroy();
  }
}
