import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config';
import { ConfigError } from '../../src/util/errors';

const stateDir = () => mkdtempSync(join(tmpdir(), 'tally-config-'));

test('defaults follow the design', () => {
  const config = loadConfig({ TALLY_STATE_DIR: stateDir() });
  expect(config).toMatchObject({
    databaseUrl: 'postgres://postgres@127.0.0.1:5432/tally',
    redisUrl: 'redis://127.0.0.1:6379',
    queuePrefix: 'tally',
    port: 8080,
    host: '0.0.0.0',
    displayCurrency: 'USD',
    defaultCurrency: 'USD',
    postbackToken: undefined,
    intake: { maxInFlight: 2, maxWaitMs: 2 },
    workerLockMs: 60_000,
  });
  expect(config.secretKey).toHaveLength(32);
  expect(config.adminTokenGenerated).toBe(true);
});

test('the spool is on by default, under the state directory; SPOOL_* and TALLY_JOB_BACKOFF_MS are read and checked', () => {
  const dir = stateDir();
  expect(loadConfig({ TALLY_STATE_DIR: dir })).toMatchObject({
    spool: { enabled: true, dir: join(dir, 'spool'), maxBytes: 1024 * 1024 * 1024, afterMs: 2000 },
    jobBackoffMs: 30_000,
  });
  expect(loadConfig({ TALLY_STATE_DIR: dir, SPOOL_ENABLED: 'false', SPOOL_DIR: '/var/lib/tally/spool', SPOOL_MAX_MB: '64', SPOOL_AFTER_MS: '500', TALLY_JOB_BACKOFF_MS: '1000' })).toMatchObject({
    spool: { enabled: false, dir: '/var/lib/tally/spool', maxBytes: 64 * 1024 * 1024, afterMs: 500 },
    jobBackoffMs: 1000,
  });
  expect(() => loadConfig({ TALLY_STATE_DIR: dir, SPOOL_ENABLED: 'maybe' })).toThrow('Invalid SPOOL_ENABLED: SPOOL_ENABLED must be true or false (got "maybe")');
  expect(() => loadConfig({ TALLY_STATE_DIR: dir, SPOOL_MAX_MB: '0' })).toThrow('Invalid SPOOL_MAX_MB: SPOOL_MAX_MB must be an integer from 1 to 1048576 (got "0")');
  expect(() => loadConfig({ TALLY_STATE_DIR: dir, SPOOL_AFTER_MS: '5' })).toThrow('Invalid SPOOL_AFTER_MS: SPOOL_AFTER_MS must be an integer from 10 to 600000 (got "5")');
});

test('generated secrets are stored once and reused by the next process', () => {
  const dir = stateDir();
  const first = loadConfig({ TALLY_STATE_DIR: dir });
  const second = loadConfig({ TALLY_STATE_DIR: dir });
  expect(second.adminToken).toBe(first.adminToken);
  expect(second.secretKey.equals(first.secretKey)).toBe(true);
  expect(readFileSync(join(dir, 'admin-token'), 'utf8').trim()).toBe(first.adminToken);
});

test.each([
  [{ PORT: 'abc' }, 'Invalid PORT: PORT must be an integer between 0 and 65535 (got "abc")'],
  [{ PORT: '70000' }, 'Invalid PORT: PORT must be an integer between 0 and 65535 (got "70000")'],
  [{ DATABASE_URL: 'mysql://x/y' }, 'Invalid DATABASE_URL: DATABASE_URL must be a URL starting with postgres:// or postgresql:// (got "mysql://x/y")'],
  [{ REDIS_URL: 'localhost:6379' }, 'Invalid REDIS_URL: REDIS_URL must be a URL starting with redis:// or rediss:// (got "localhost:6379")'],
  [{ DISPLAY_CURRENCY: 'EURO' }, 'Invalid DISPLAY_CURRENCY: DISPLAY_CURRENCY must be an ISO 4217 currency code such as USD or EUR (got "EURO")'],
  [{ QUEUE_PREFIX: 'a b' }, 'Invalid QUEUE_PREFIX: QUEUE_PREFIX must be 1-64 characters of letters, digits, "_", "." or "-" (got "a b")'],
  [{ ADMIN_TOKEN: 'short' }, 'Invalid ADMIN_TOKEN: ADMIN_TOKEN must be at least 16 characters (generate one with `openssl rand -hex 24`)'],
  [{ SECRET_KEY: 'abc' }, 'Invalid SECRET_KEY: expected 32 bytes as 64 hex characters or base64 (`openssl rand -hex 32`)'],
  [{ TALLY_INTAKE_IN_FLIGHT: '0' }, 'Invalid TALLY_INTAKE_IN_FLIGHT: TALLY_INTAKE_IN_FLIGHT must be an integer from 1 to 64 (got "0")'],
  [{ TALLY_WORKER_LOCK_MS: '10' }, 'Invalid TALLY_WORKER_LOCK_MS: TALLY_WORKER_LOCK_MS must be an integer of at least 1000 (got "10")'],
])('a wrong value stops with one line naming the variable: %j', (env, message) => {
  expect(() => loadConfig({ TALLY_STATE_DIR: stateDir(), ...env })).toThrow(new ConfigError(message));
});

test('production requires the admin token and secret key instead of generating them', () => {
  expect(() => loadConfig({ NODE_ENV: 'production', TALLY_STATE_DIR: stateDir() })).toThrow(/Missing ADMIN_TOKEN/);
  expect(() => loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN: 'x'.repeat(20), TALLY_STATE_DIR: stateDir() })).toThrow(/Missing SECRET_KEY/);
  const config = loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN: 'x'.repeat(20), SECRET_KEY: Buffer.alloc(32, 7).toString('base64') });
  expect(config.secretKey.equals(Buffer.alloc(32, 7))).toBe(true);
});

test('secrets never appear in the error message', () => {
  const token = 'tiny-secret';
  expect(() => loadConfig({ ADMIN_TOKEN: token, TALLY_STATE_DIR: stateDir() })).toThrow(expect.objectContaining({ message: expect.not.stringContaining(token) }));
});
