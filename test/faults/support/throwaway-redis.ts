import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports';
import Redis from 'ioredis';

/**
 * A Redis of its own for one fault case: a private port on 127.0.0.1 and a private unix socket,
 * nothing kept on disk (a restart loses everything, as the fault cases require), noeviction.
 */
export interface ThrowawayRedis {
  readonly port: number;
  readonly url: string;
  /** kill -9 and start again, empty. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startThrowawayRedis(): Promise<ThrowawayRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'tally-fault-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--unixsocket', join(dir, 'redis.sock'), '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--dir', dir], { stdio: 'ignore' });
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await waitFor(async () => {
        if (probe.status !== 'ready') await probe.connect().catch(() => undefined);
        return probe.ping();
      }, (pong) => pong === 'PONG', 'the throwaway Redis to answer', 10_000, 20);
    } finally {
      probe.disconnect();
    }
  };
  const kill = async (): Promise<void> => {
    const current = child;
    if (!current || current.exitCode !== null) return;
    current.kill('SIGKILL');
    await once(current, 'exit');
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async restart() {
      await kill();
      await launch();
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
