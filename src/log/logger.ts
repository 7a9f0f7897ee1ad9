import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Paths that may hold credentials anywhere in a log record. Connection configs are redacted
 * before they reach a logger as well; this is the second line of defence.
 */
const REDACT_PATHS = [
  'config.api_key', 'config.auth_token', 'config.password', 'config.secret', 'config.token',
  '*.api_key', '*.auth_token', '*.password', '*.secret', '*.token', '*.apiKey', '*.authToken',
  'headers.authorization', 'headers["x-eflow-api-key"]', 'req.headers.authorization', 'request.headers.authorization',
];

/** Creates the process logger (JSON lines on stdout, or stderr for CLI commands that print results). */
export function createLogger(level: string, destination: 'stdout' | 'stderr' = 'stdout'): Logger {
  return pino(
    { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'tally' } },
    pino.destination({ fd: destination === 'stdout' ? 1 : 2, sync: false }),
  );
}

/** A logger that drops everything; for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
