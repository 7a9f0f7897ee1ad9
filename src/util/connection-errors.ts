import { maskUrlPasswords } from './mask-secrets';

/** Redacts the password of a connection URL for messages. */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** A service (Postgres, Redis) could not be reached at all: nothing was wrong with the request. */
export class ServiceUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServiceUnreachableError';
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN']);

/**
 * Turns "cannot connect" errors from pg/ioredis into one line that says which service, where,
 * and how to fix it. Other errors pass through unchanged.
 */
export function explainConnectionError(error: unknown, service: 'Postgres' | 'Redis', url: string): unknown {
  const code = (error as { code?: string } | null)?.code;
  const message = (error as Error | null)?.message ?? String(error);
  if ((code && NETWORK_CODES.has(code)) || /ECONNREFUSED|connect ETIMEDOUT|getaddrinfo/.test(message)) {
    const variable = service === 'Postgres' ? 'DATABASE_URL' : 'REDIS_URL';
    return new ServiceUnreachableError(`cannot reach ${service} at ${safeUrl(url)} (${code ?? message}); start it or point ${variable} at a running server`);
  }
  if (code === '28P01' || code === '28000') {
    return new Error(`${service} at ${safeUrl(url)} refused the login (${maskUrlPasswords(message)}); fix the user/password in DATABASE_URL`);
  }
  if (code === '3D000') {
    return new Error(`${maskUrlPasswords(message)} at ${safeUrl(url)}; run \`npx tally migrate\` to create and migrate it`);
  }
  return error;
}
