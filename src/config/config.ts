import { isIP } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../util/errors';
import { maskUrlPasswords } from '../util/mask-secrets';
import { isCurrencyCode } from '../money/currency';
import { loadOrCreateLocalSecret } from './local-secrets';

/** Validated process configuration; see the env table in README.md. */
export interface TallyConfig {
  readonly nodeEnv: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly queuePrefix: string;
  readonly port: number;
  readonly host: string;
  /** Bearer token for the admin API and Bull Board. */
  readonly adminToken: string;
  /** True when the admin token was generated into the state directory rather than given. */
  readonly adminTokenGenerated: boolean;
  /** 32-byte key that encrypts connection credentials at rest. */
  readonly secretKey: Buffer;
  readonly displayCurrency: string;
  /** The account's default payout currency: last step of the currency precedence. */
  readonly defaultCurrency: string;
  readonly postbackToken: string | undefined;
  /** Base URL for links handed out (campaign click URLs); derived from each request when unset. */
  readonly publicUrl: string | undefined;
  /**
   * Which proxies' X-Forwarded-For/-Proto to trust: false (none: the socket address is the
   * client), a hop count, or a list of proxy addresses/CIDRs. `true` is refused: it would take
   * the client-controlled leftmost address.
   */
  readonly trustProxy: false | number | string[];
  /** Flood limits per client IP per minute (0 turns one off); see DESIGN "Trust". */
  readonly rejectLimitPerMinute: number;
  readonly clickRateLimitPerMinute: number;
  /** Age in days after which attempts that created or changed nothing are deleted. */
  readonly logRetentionDays: number;
  /** Largest CSV the upload API accepts, in bytes. */
  readonly uploadMaxBytes: number;
  /** `/metrics` without a token when true; otherwise the admin token or `metricsToken` as bearer. */
  readonly metricsPublic: boolean;
  readonly metricsToken: string | undefined;
  /** `tally worker` serves /metrics and /healthz on this port when set. */
  readonly metricsPort: number | undefined;
  readonly stateDir: string;
  readonly logLevel: string;
  /** Group-commit batches committing at once, how long a batch waits for company (ms), and how many postbacks it holds at most. */
  readonly intake: { readonly maxInFlight: number; readonly maxWaitMs: number; readonly maxPending: number };
  /** How long a worker's job lock lasts; a killed worker's job is retried after it (ms). */
  readonly workerLockMs: number;
  /** First wait before a pull or backfill that failed transiently (5xx, network) is retried; doubles per attempt up to 15 minutes (ms). */
  readonly jobBackoffMs: number;
  /** The local durable spool in front of Postgres (DESIGN "Durability when Postgres is away"). */
  readonly spool: SpoolConfig;
}

/** SPOOL_ENABLED / SPOOL_DIR / SPOOL_MAX_MB / SPOOL_AFTER_MS. */
export interface SpoolConfig {
  readonly enabled: boolean;
  /** Each `serve` process owns a subdirectory of it. */
  readonly dir: string;
  /** Beyond this many bytes in a process's spool, postbacks get 503 with Retry-After. */
  readonly maxBytes: number;
  /** A postback whose commit has not happened within this many milliseconds is spooled and answered 202. */
  readonly afterMs: number;
}

const currency = (name: string) =>
  z
    .string()
    .transform((value) => value.trim().toUpperCase())
    .refine(isCurrencyCode, { message: `${name} must be an ISO 4217 currency code such as USD or EUR` });

const url = (name: string, protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `${name} must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

const intRange = (name: string, min: number, max: number) =>
  z.coerce
    .number({ message: `${name} must be an integer from ${min} to ${max}` })
    .int({ message: `${name} must be an integer from ${min} to ${max}` })
    .min(min, { message: `${name} must be an integer from ${min} to ${max}` })
    .max(max, { message: `${name} must be an integer from ${min} to ${max}` });

const boolean = (name: string) =>
  z.enum(['true', 'false', '1', '0'], { message: `${name} must be true or false` }).transform((value) => value === 'true' || value === '1');

const envSchema = z.object({
  NODE_ENV: z.string().default('development'),
  DATABASE_URL: url('DATABASE_URL', ['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/tally'),
  REDIS_URL: url('REDIS_URL', ['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'QUEUE_PREFIX must be 1-64 characters of letters, digits, "_", "." or "-"' })
    .default('tally'),
  PORT: z.coerce
    .number({ message: 'PORT must be an integer between 0 and 65535' })
    .int({ message: 'PORT must be an integer between 0 and 65535' })
    .min(0, { message: 'PORT must be an integer between 0 and 65535' })
    .max(65535, { message: 'PORT must be an integer between 0 and 65535' })
    .default(8080),
  HOST: z.string().min(1, { message: 'HOST must not be empty' }).default('0.0.0.0'),
  ADMIN_TOKEN: z
    .string()
    .min(16, { message: 'ADMIN_TOKEN must be at least 16 characters (generate one with `openssl rand -hex 24`)' })
    .optional(),
  SECRET_KEY: z.string().optional(),
  DISPLAY_CURRENCY: currency('DISPLAY_CURRENCY').default('USD'),
  DEFAULT_CURRENCY: currency('DEFAULT_CURRENCY').optional(),
  POSTBACK_TOKEN: z.string().min(1, { message: 'POSTBACK_TOKEN must not be empty when set' }).optional(),
  PUBLIC_URL: url('PUBLIC_URL', ['http:', 'https:']).optional(),
  TRUST_PROXY: z.string().optional(),
  TALLY_STATE_DIR: z.string().default('.tally'),
  TALLY_INTAKE_IN_FLIGHT: z.coerce.number().int().min(1, { message: 'TALLY_INTAKE_IN_FLIGHT must be an integer from 1 to 64' }).max(64, { message: 'TALLY_INTAKE_IN_FLIGHT must be an integer from 1 to 64' }).default(2),
  TALLY_INTAKE_WAIT_MS: z.coerce.number().int().min(0, { message: 'TALLY_INTAKE_WAIT_MS must be an integer from 0 to 1000' }).max(1000, { message: 'TALLY_INTAKE_WAIT_MS must be an integer from 0 to 1000' }).default(2),
  TALLY_INTAKE_MAX_PENDING: intRange('TALLY_INTAKE_MAX_PENDING', 100, 1_000_000).default(10_000),
  REJECT_LIMIT_PER_MINUTE: intRange('REJECT_LIMIT_PER_MINUTE', 0, 10_000_000).default(600),
  CLICK_RATE_LIMIT_PER_MINUTE: intRange('CLICK_RATE_LIMIT_PER_MINUTE', 0, 10_000_000).default(0),
  LOG_RETENTION_DAYS: intRange('LOG_RETENTION_DAYS', 1, 36_500).default(180),
  UPLOAD_MAX_MB: intRange('UPLOAD_MAX_MB', 1, 10_240).default(100),
  METRICS_PUBLIC: boolean('METRICS_PUBLIC').default(false),
  METRICS_TOKEN: z.string().min(16, { message: 'METRICS_TOKEN must be at least 16 characters' }).optional(),
  METRICS_PORT: intRange('METRICS_PORT', 1, 65535).optional(),
  TALLY_WORKER_LOCK_MS: z.coerce.number().int().min(1000, { message: 'TALLY_WORKER_LOCK_MS must be an integer of at least 1000' }).default(60_000),
  TALLY_JOB_BACKOFF_MS: intRange('TALLY_JOB_BACKOFF_MS', 100, 3_600_000).default(30_000),
  SPOOL_ENABLED: boolean('SPOOL_ENABLED').default(true),
  SPOOL_DIR: z.string().optional(),
  SPOOL_MAX_MB: intRange('SPOOL_MAX_MB', 1, 1_048_576).default(1024),
  SPOOL_AFTER_MS: intRange('SPOOL_AFTER_MS', 10, 600_000).default(2000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
  }).default('info'),
});

/**
 * Reads and validates configuration from the environment. A wrong value throws a ConfigError
 * whose one-line message names the variable and what is expected. Outside production a missing
 * ADMIN_TOKEN or SECRET_KEY is generated once into the state directory and reused afterwards,
 * so `serve`, `worker` and the CLI on one machine agree on them.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): TallyConfig {
  // Empty strings are how shells unset things; treat them as unset.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    const given = present[variable];
    const secret = ['ADMIN_TOKEN', 'SECRET_KEY', 'POSTBACK_TOKEN', 'METRICS_TOKEN'].includes(variable);
    const shown = secret || given === undefined ? '' : ` (got "${maskUrlPasswords(given)}")`;
    throw new ConfigError(`Invalid ${variable}: ${issue?.message ?? 'invalid value'}${shown}`);
  }
  const values = parsed.data;
  const production = values.NODE_ENV === 'production';

  let adminToken = values.ADMIN_TOKEN;
  let adminTokenGenerated = false;
  if (adminToken === undefined) {
    if (production) throw new ConfigError('Missing ADMIN_TOKEN: set it to a random string of at least 16 characters (NODE_ENV=production does not generate one)');
    adminToken = loadOrCreateLocalSecret(values.TALLY_STATE_DIR, 'admin-token', 24);
    adminTokenGenerated = true;
  }

  let secretKeyText = values.SECRET_KEY;
  if (secretKeyText === undefined) {
    if (production) throw new ConfigError('Missing SECRET_KEY: set it to 32 random bytes as 64 hex characters (`openssl rand -hex 32`)');
    secretKeyText = loadOrCreateLocalSecret(values.TALLY_STATE_DIR, 'secret-key', 32);
  }

  return {
    nodeEnv: values.NODE_ENV,
    databaseUrl: values.DATABASE_URL,
    redisUrl: values.REDIS_URL,
    queuePrefix: values.QUEUE_PREFIX,
    port: values.PORT,
    host: values.HOST,
    adminToken,
    adminTokenGenerated,
    secretKey: parseSecretKey(secretKeyText),
    displayCurrency: values.DISPLAY_CURRENCY,
    defaultCurrency: values.DEFAULT_CURRENCY ?? values.DISPLAY_CURRENCY,
    postbackToken: values.POSTBACK_TOKEN,
    publicUrl: values.PUBLIC_URL,
    trustProxy: parseTrustProxy(values.TRUST_PROXY),
    rejectLimitPerMinute: values.REJECT_LIMIT_PER_MINUTE,
    clickRateLimitPerMinute: values.CLICK_RATE_LIMIT_PER_MINUTE,
    logRetentionDays: values.LOG_RETENTION_DAYS,
    uploadMaxBytes: values.UPLOAD_MAX_MB * 1024 * 1024,
    metricsPublic: values.METRICS_PUBLIC,
    metricsToken: values.METRICS_TOKEN,
    metricsPort: values.METRICS_PORT,
    stateDir: values.TALLY_STATE_DIR,
    intake: { maxInFlight: values.TALLY_INTAKE_IN_FLIGHT, maxWaitMs: values.TALLY_INTAKE_WAIT_MS, maxPending: values.TALLY_INTAKE_MAX_PENDING },
    workerLockMs: values.TALLY_WORKER_LOCK_MS,
    jobBackoffMs: values.TALLY_JOB_BACKOFF_MS,
    spool: {
      enabled: values.SPOOL_ENABLED,
      dir: values.SPOOL_DIR ?? join(values.TALLY_STATE_DIR, 'spool'),
      maxBytes: values.SPOOL_MAX_MB * 1024 * 1024,
      afterMs: values.SPOOL_AFTER_MS,
    },
    logLevel: values.LOG_LEVEL,
  };
}

/**
 * TRUST_PROXY: unset or `false` (trust no proxy), a hop count (`1`: one proxy in front), or a
 * comma-separated list of proxy addresses/CIDRs. `true` is refused: trusting every hop takes the
 * leftmost X-Forwarded-For address, which the client writes itself.
 */
export function parseTrustProxy(value: string | undefined): false | number | string[] {
  if (value === undefined || value.trim() === '' || value.trim() === 'false') return false;
  const text = value.trim();
  if (text === 'true') {
    throw new ConfigError('Invalid TRUST_PROXY: "true" would trust the client-controlled leftmost X-Forwarded-For address; give the number of proxies in front (e.g. 1) or their addresses/CIDRs (e.g. 10.0.0.0/8,127.0.0.1)');
  }
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops < 1 || hops > 10) throw new ConfigError(`Invalid TRUST_PROXY: a hop count must be from 1 to 10 (got "${text}")`);
    return hops;
  }
  const entries = text.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address);
    const maxPrefix = family === 6 ? 128 : 32;
    if (family === 0 || (prefix !== undefined && !(/^\d+$/.test(prefix) && Number(prefix) <= maxPrefix))) {
      throw new ConfigError(`Invalid TRUST_PROXY: "${entry}" is not an IP address or CIDR; use a hop count or a comma-separated list such as 10.0.0.0/8,127.0.0.1`);
    }
  }
  return entries;
}

/** Accepts 64 hex characters or base64 of exactly 32 bytes. */
export function parseSecretKey(text: string): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) {
    const bytes = Buffer.from(trimmed, 'base64');
    if (bytes.length === 32) return bytes;
  }
  throw new ConfigError('Invalid SECRET_KEY: expected 32 bytes as 64 hex characters or base64 (`openssl rand -hex 32`)');
}
