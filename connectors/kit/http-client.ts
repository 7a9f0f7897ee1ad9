import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import pRetry, { AbortError } from 'p-retry';
import type { Logger } from '../../src/log/logger';
import {
  ConnectorAuthError,
  ConnectorConfigError,
  ConnectorRateLimitError,
  ConnectorTransientError,
  type BodyError,
} from './errors';
import { parseJsonLossless } from './lossless-json';
import { unlimited, type RateLimiter } from './rate-limiter';

export interface HttpRequest {
  readonly method?: 'GET' | 'POST';
  /** Path relative to the connection's base URL, or an absolute URL on the same host. */
  readonly url: string;
  readonly params?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly data?: unknown;
}

export interface HttpResponse<T = unknown> {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Parsed JSON (numbers that are not safe integers stay strings), or null for an empty body. */
  readonly data: T;
}

export interface HttpClientOptions {
  readonly baseUrl: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly auth?: { readonly username: string; readonly password: string };
  readonly rateLimiter?: RateLimiter;
  /** Finds an error reported inside an HTTP 200 body. */
  readonly detectBodyError?: (response: HttpResponse) => BodyError | undefined;
  /** Wait when a 429 carries no Retry-After or reset header (e.g. Everflow's 30 s window). */
  readonly defaultRateLimitWaitMs?: number;
  readonly retries?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** A Retry-After longer than this ends the call with ConnectorRateLimitError (the job is delayed instead). */
  readonly maxRetryAfterMs?: number;
  readonly timeoutMs?: number;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Resolves after `ms`, or rejects when the signal aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Milliseconds a 429/503 asks us to wait: `Retry-After` as seconds or an HTTP date, else
 * `X-RateLimit-Reset`/`RateLimit-Reset` as seconds-from-now or a unix time.
 */
export function retryAfterMs(headers: Readonly<Record<string, string>>, now = Date.now()): number | undefined {
  const retryAfter = headers['retry-after'];
  if (retryAfter !== undefined) {
    if (/^\s*\d+(\.\d+)?\s*$/.test(retryAfter)) return Math.round(Number(retryAfter) * 1000);
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const reset = headers['x-ratelimit-reset'] ?? headers['ratelimit-reset'];
  if (reset !== undefined && /^\s*\d+\s*$/.test(reset)) {
    const value = Number(reset);
    // Unix seconds are ~1.7e9; anything small is "seconds from now".
    return value > 1_000_000_000 ? Math.max(0, value * 1000 - now) : value * 1000;
  }
  return undefined;
}

class RetryableHttpError extends Error {
  constructor(
    message: string,
    readonly waitMs: number | undefined,
    readonly rateLimited: boolean,
  ) {
    super(message);
  }
}

/**
 * The HTTP client a connector gets: axios with lossless JSON, p-retry with jittered exponential
 * backoff for network errors, 5xx and 429 (honouring Retry-After and rate-limit reset headers),
 * a rate limiter shared by every worker process, and per-connector detection of errors inside
 * HTTP 200 bodies. 401/403 and other 4xx fail at once. Credentials never reach the logs: only
 * the method, path and status are logged.
 */
export class HttpClient {
  private readonly axios: AxiosInstance;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(private readonly options: HttpClientOptions) {
    this.sleep = options.sleep ?? abortableSleep;
    this.axios = axios.create({
      baseURL: options.baseUrl.replace(/\/+$/, '') + '/',
      headers: { 'User-Agent': 'Tally/0.1 (+https://github.com/tally)', ...options.headers },
      auth: options.auth,
      timeout: options.timeoutMs ?? 60_000,
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      maxRedirects: 3,
    });
  }

  /** Sends a request, retrying what is worth retrying; resolves with a 2xx response. */
  async request<T = unknown>(request: HttpRequest): Promise<HttpResponse<T>> {
    const { signal } = this.options;
    const retries = this.options.retries ?? 6;
    const baseDelay = this.options.baseDelayMs ?? 500;
    const maxDelay = this.options.maxDelayMs ?? 60_000;
    const maxRetryAfter = this.options.maxRetryAfterMs ?? 5 * 60_000;
    let lastRateLimitWait = 0;

    const attempt = async (): Promise<HttpResponse<T>> => {
      await (this.options.rateLimiter ?? unlimited).acquire(signal);
      let raw: AxiosResponse<string>;
      try {
        raw = await this.axios.request<string>({
          method: request.method ?? 'GET',
          url: request.url.replace(/^\//, ''),
          params: request.params,
          headers: request.headers,
          data: request.data,
          signal,
        });
      } catch (error) {
        if (signal?.aborted) throw new AbortError(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        const code = (error as { code?: string }).code ?? (error as Error).message;
        throw new RetryableHttpError(`network error on ${request.method ?? 'GET'} ${pathOf(request.url)}: ${code}`, undefined, false);
      }
      const headers = lowerCaseHeaders(raw.headers as Record<string, unknown>);
      const response: HttpResponse<T> = { status: raw.status, headers, data: parseBody(raw.data, headers) as T };
      this.options.logger?.debug({ method: request.method ?? 'GET', path: pathOf(request.url), status: raw.status }, 'network API call');
      await this.respectRateLimitHeaders(headers);

      if (raw.status === 429) {
        const wait = retryAfterMs(headers) ?? this.options.defaultRateLimitWaitMs;
        lastRateLimitWait = wait ?? lastRateLimitWait;
        if (wait !== undefined) await (this.options.rateLimiter ?? unlimited).pauseFor(wait);
        throw new RetryableHttpError(`rate limited (429) on ${pathOf(request.url)}`, wait, true);
      }
      if (raw.status === 401 || raw.status === 403) {
        throw new AbortError(new ConnectorAuthError(`the network refused the credentials (${raw.status}${describeBody(response.data)}); check the API key / account in the connection`));
      }
      if (raw.status >= 500) {
        throw new RetryableHttpError(`server error ${raw.status} on ${pathOf(request.url)}${describeBody(response.data)}`, retryAfterMs(headers), false);
      }
      if (raw.status < 200 || raw.status >= 300) {
        throw new AbortError(new ConnectorConfigError(`the network rejected the request (${raw.status} on ${pathOf(request.url)}${describeBody(response.data)}); check the connection's settings`));
      }
      const bodyError = this.options.detectBodyError?.(response);
      if (bodyError) {
        if (bodyError.kind === 'auth') throw new AbortError(new ConnectorAuthError(`the network refused the credentials: ${bodyError.message}`));
        if (bodyError.kind === 'config') throw new AbortError(new ConnectorConfigError(`the network rejected the request: ${bodyError.message}`));
        const wait = bodyError.kind === 'rate_limit' ? (this.options.defaultRateLimitWaitMs ?? undefined) : undefined;
        if (bodyError.kind === 'rate_limit') lastRateLimitWait = wait ?? lastRateLimitWait;
        throw new RetryableHttpError(`error in a 200 response: ${bodyError.message}`, wait, bodyError.kind === 'rate_limit');
      }
      return response;
    };

    try {
      return await pRetry(attempt, {
        retries,
        // All waiting happens in onFailedAttempt, where Retry-After is known.
        minTimeout: 0,
        maxTimeout: 0,
        randomize: false,
        signal,
        onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
          if (!(error instanceof RetryableHttpError) || retriesLeft === 0) return;
          const backoff = Math.min(maxDelay, baseDelay * 2 ** (attemptNumber - 1));
          const jittered = backoff / 2 + Math.random() * (backoff / 2);
          const wait = error.waitMs ?? jittered;
          if (error.rateLimited && wait > maxRetryAfter) throw new ConnectorRateLimitError(`${error.message}; the network asks to wait ${Math.round(wait / 1000)} s`, wait);
          this.options.logger?.info({ path: pathOf(request.url), attempt: attemptNumber, waitMs: Math.round(wait) }, `retrying: ${error.message}`);
          await this.sleep(wait, signal);
        },
      });
    } catch (error) {
      if (error instanceof RetryableHttpError) {
        if (error.rateLimited) throw new ConnectorRateLimitError(`${error.message}; still limited after ${retries} retries`, error.waitMs ?? lastRateLimitWait ?? 60_000);
        throw new ConnectorTransientError(`${error.message}; gave up after ${retries} retries`);
      }
      throw error;
    }
  }

  /**
   * Pauses every process when an API says its window is used up: X-RateLimit-Remaining: 0, or a
   * per-period variant such as impact.com's X-RateLimit-Remaining-hour.
   */
  private async respectRateLimitHeaders(headers: Readonly<Record<string, string>>): Promise<void> {
    const exhausted = Object.entries(headers).some(([name, value]) => name.startsWith('x-ratelimit-remaining') && value.trim() === '0');
    if (!exhausted) return;
    const wait = retryAfterMs(headers) ?? this.options.defaultRateLimitWaitMs;
    if (wait !== undefined && wait > 0) await (this.options.rateLimiter ?? unlimited).pauseFor(wait);
  }
}

function lowerCaseHeaders(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && value !== null) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

function parseBody(text: string | undefined, headers: Readonly<Record<string, string>>): unknown {
  if (text === undefined || text === '') return null;
  const trimmed = text.trim();
  if (trimmed === '') return null;
  if ((headers['content-type'] ?? '').includes('json') || /^[[{"]|^null$|^-?\d/.test(trimmed)) {
    try {
      return parseJsonLossless(trimmed);
    } catch {
      return text;
    }
  }
  return text;
}

/** A short, secret-free hint from an error body for the operator. */
function describeBody(data: unknown): string {
  if (data === null || data === undefined) return '';
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  const compact = text.replace(/\s+/g, ' ').trim();
  return compact ? `: ${compact.slice(0, 200)}` : '';
}

/** The path of a URL without its query string, which may carry credentials. */
function pathOf(url: string): string {
  return url.split('?')[0] ?? url;
}
