import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Redis from 'ioredis';
import { REPO_ROOT } from '../support/cli';
import { createTestDatabase, type TestDatabase } from '../support/database';

jest.setTimeout(60_000);

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb.drop();
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('tally worker serves /metrics on METRICS_PORT behind the metrics token: queue depth and age, job runs, table sizes', async () => {
  const port = await freePort();
  const prefix = `worker-metrics-${process.pid}`;
  const metricsToken = 'prometheus-token-0123456789';
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'tally.js'), 'worker'], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '', DATABASE_URL: testDb.url, QUEUE_PREFIX: prefix, HOST: '127.0.0.1', METRICS_PORT: String(port), METRICS_TOKEN: metricsToken,
      ADMIN_TOKEN: 'admin-token-0123456789abcdef', SECRET_KEY: '1'.repeat(64), TALLY_STATE_DIR: `/tmp/${prefix}`, LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    let healthy = false;
    for (let waited = 0; waited < 30_000 && !healthy; waited += 100) {
      healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then((response) => response.ok, () => false);
      if (!healthy) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(healthy).toBe(true);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(401);
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toMatch(/^tally_queue_jobs\{queue="pull",state="waiting"\} 0$/m);
    expect(text).toMatch(/^tally_queue_jobs\{queue="maintenance",state="delayed"\} 1$/m);
    expect(text).toMatch(/^tally_queue_oldest_job_age_seconds\{queue="backfill",state="waiting"\} 0$/m);
    expect(text).toMatch(/^tally_table_bytes\{table="ledger"\} [1-9]\d*$/m);
    expect(text).toMatch(/^tally_table_rows_estimate\{table="conversions"\} \d+$/m);
    expect(text).toContain('# TYPE tally_pull_runs_total counter');
    expect(text).toContain('tally_process_cpu_seconds_total');
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
});
