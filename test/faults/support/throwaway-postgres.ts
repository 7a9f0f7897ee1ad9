import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';

/**
 * A Postgres cluster of its own for one fault case: Debian's initdb/pg_ctl of the installed major
 * version, on a private port (127.0.0.1 only) and a private socket directory, run as the
 * `postgres` user when the tests run as root. Stopping it never touches the machine's Postgres.
 */
export interface ThrowawayPostgres {
  readonly port: number;
  /** postgres://postgres@127.0.0.1:<port>/<database> */
  url(database: string): string;
  /** `pg_ctl stop -m immediate`: what a crash or a pulled plug looks like to clients. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and deletes its files. */
  destroy(): Promise<void>;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) if (existsSync(join(root, version, 'bin', 'pg_ctl'))) return join(root, version, 'bin');
  throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql/<version>/bin (apt-get install postgresql)');
}

/** Runs a Postgres server binary, as `postgres` when we are root (Postgres refuses to run as root). */
async function run(bin: string, args: string[]): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  const command = asRoot ? 'runuser' : bin;
  const argv = asRoot ? ['-u', 'postgres', '--', bin, ...args] : args;
  // Asynchronous, so that load a case generates meanwhile keeps its pace.
  const child = spawn(command, argv, { cwd: '/tmp', stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`${bin} ${args.join(' ')} failed (${code}): ${output}`);
}

export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const bin = binDir();
  const root = mkdtempSync(join(tmpdir(), 'tally-fault-pg-'));
  const data = join(root, 'data');
  const sockets = join(root, 'sockets');
  execFileSync('mkdir', ['-p', sockets]);
  chmodSync(root, 0o755);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(root, uid, gid);
    chownSync(sockets, uid, gid);
  }
  const port = await freePort();
  await run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const options = `-p ${port} -k ${sockets} -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=64MB`;
  const pgCtl = (...args: string[]): Promise<void> => run(join(bin, 'pg_ctl'), ['-D', data, ...args]);
  const start = (): Promise<void> => pgCtl('-l', join(root, 'server.log'), '-o', options, '-w', '-t', '60', 'start');
  await start();
  let running = true;
  return {
    port,
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async stop() {
      if (!running) return;
      running = false;
      await pgCtl('-m', 'immediate', '-w', 'stop');
    },
    async start() {
      if (running) return;
      await start();
      running = true;
    },
    async destroy() {
      try {
        if (running) await pgCtl('-m', 'immediate', '-w', 'stop');
      } finally {
        running = false;
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}
