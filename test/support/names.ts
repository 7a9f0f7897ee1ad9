import pg from 'pg';

/** The maintenance database URL of the test server (TEST_DATABASE_URL overrides the host). */
export function adminUrl(): string {
  const url = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = '/postgres';
  return url.toString();
}

/** A run id that embeds the jest parent's pid so that later runs can spot abandoned databases. */
export function testRunId(): string {
  return `${process.pid}_${Date.now().toString(36)}`;
}

export const templateName = (runId: string): string => `tally_test_${runId}_template`;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Drops test databases of this run, or (staleOnly) of earlier runs whose process is gone. */
export async function dropRunDatabases(admin: pg.Client, options: { staleOnly: boolean; runId?: string | undefined }): Promise<void> {
  const { rows } = await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'tally\\_test\\_%'");
  for (const { datname } of rows) {
    const pid = Number(/^tally_test_(\d+)_/.exec(datname)?.[1]);
    const mine = options.runId !== undefined && datname.startsWith(`tally_test_${options.runId}_`);
    const stale = Number.isFinite(pid) && !pidAlive(pid);
    if (options.staleOnly ? stale : mine) {
      await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`);
    }
  }
}
