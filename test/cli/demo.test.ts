import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { adminUrl } from '../support/names';
import { REPO_ROOT } from '../support/cli';

jest.setTimeout(90_000);

test('tally demo creates everything on an empty database, pulls the sandbox, prints the table and stops on Ctrl-C', async () => {
  const name = `tally_test_${process.env.TALLY_TEST_RUN_ID}_${randomBytes(3).toString('hex')}`;
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'tally.js'), 'demo'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: url.toString(), PORT: '0', HOST: '127.0.0.1', QUEUE_PREFIX: `demo-test-${randomBytes(3).toString('hex')}`, TALLY_STATE_DIR: `/tmp/${name}`, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    for (let waited = 0; waited < 60_000 && !stdout.includes('Ctrl-C stops'); waited += 200) {
      if (child.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(stderr).toBe('');
    expect(stdout).toContain('Registered from the sandbox network');
    expect(stdout).toMatch(/\(9 conversions from 12 clicks; 1 pulled record\(s\) with an unknown click ID/);
    expect(stdout).toMatch(/upsell\s+approved\s+12\.50/);
    // The revenue feed: one pending `revenue` conversion per click for today, with the feed's word; unmatched revenue reported.
    expect(stdout).toContain('Revenue from the sandbox feed (Tonic publisher API shape), estimated:');
    expect(stdout).toMatch(/tonic:\d{4}-\d{2}-\d{2}\s+pending\s+0\.42\s+estimated_revenue/);
    expect(stdout).toMatch(/\(3 revenue conversions for \d{4}-\d{2}-\d{2}, day estimated; 2\.00 of revenue matched no click\)/);
    expect(stdout).toMatch(/Bull Board\s+http:\/\/127\.0\.0\.1:\d+\/admin\/queues/);
    child.kill('SIGINT');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(stdout).toContain('demo stopped');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    const admin = new pg.Client({ connectionString: adminUrl() });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    await admin.end();
  }
});
