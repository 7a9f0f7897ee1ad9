import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, REPO_ROOT } from '../support/cli';

jest.setTimeout(60_000);

const UNREACHABLE = 'postgres://postgres@127.0.0.1:1/tally';
const env = (spoolDir: string): Record<string, string> => ({
  DATABASE_URL: UNREACHABLE, PORT: '0', HOST: '127.0.0.1', ADMIN_TOKEN: 'admin-token-0123456789abcdef', SECRET_KEY: '3'.repeat(64),
  TALLY_STATE_DIR: join(spoolDir, '..', 'state'), SPOOL_DIR: spoolDir, LOG_LEVEL: 'error', REDIS_URL: 'redis://127.0.0.1:1',
});

test('tally serve starts while Postgres is unreachable and keeps postbacks in its spool; a stop leaves them for the next serve', async () => {
  const root = mkdtempSync(join(tmpdir(), 'tally-serve-spool-'));
  const spoolDir = join(root, 'spool');
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'tally.js'), 'serve'], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env(spoolDir) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  try {
    for (let waited = 0; waited < 30_000 && !/listening on/.test(stdout); waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    const base = /listening on (http:\/\/\S+)/.exec(stdout)?.[1];
    expect(base).toBeDefined();
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { postgres: 'unreachable', redis: 'unreachable', spool: 'ok' } });
    const postback = await fetch(`${base}/cf/cv?click_id=abc&txid=KEPT-1&payout=1.00`);
    expect(postback.status).toBe(202);
    expect(await postback.json()).toMatchObject({ status: 'queued' });
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    // The backlog could not reach Postgres: the subdirectory stays for the next serve to adopt.
    const left = readdirSync(spoolDir);
    expect(left).toHaveLength(1);
    expect(readdirSync(join(spoolDir, left[0] as string)).some((name) => name.endsWith('.seg'))).toBe(true);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  }
});

test('with SPOOL_ENABLED=false, tally serve refuses to start without Postgres, in one line', async () => {
  const root = mkdtempSync(join(tmpdir(), 'tally-serve-nospool-'));
  try {
    const result = await runCli(['serve'], { ...env(join(root, 'spool')), SPOOL_ENABLED: 'false' });
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/cannot reach Postgres at postgres:\/\/postgres@127\.0\.0\.1:1\/tally/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
