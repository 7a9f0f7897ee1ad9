import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import pRetry, { AbortError } from 'p-retry';
import type { Logger } from '../../src/log/logger';
import type { AuthProvider, Credentials } from './auth';
import { classifyResponse, resolveKind, type ClassificationRule, type RateLimitWait } from './classification';
import { ConnectorAuthError, ConnectorConfigError, ConnectorRateLimitError, ConnectorTransientError } from './errors';
import { parseJsonLossless } from './lossless-json';
import { lastQuotaReset, nextQuotaReset, type QuotaBudget, type QuotaSpec } from './quota';
import { unlimited, type RateLimiter } from './rate-limiter';

export interface HttpRequest {
  readonly method?: 'GET' | 'POST';
  /** Path relative to the connection's base URL, or an absolute URL on the same origin. */
  readonly url: string;
  /** Query parameters; a list goes out PHP-style as `name[]=a&name[]=b`. */
  readonly params?: Readonly<Record<string, string | number | boolean | readonly (string | number)[] | undefined>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly data?: unknown;
  /**
   * Default `include`: the connection's credentials, to the configured origin only.
   * `exchange`: the configured origin only, without the connection's credentials (a token
   * exchange sends its own). `omit`: no credentials, and another origin is allowed (a report
   * file on a storage host).
   */
  readonly credentials?: 'include' | 'exchange' | 'omit';
}

export interface HttpResponse<T = unknown> {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Parsed JSON (numbers that are not safe integers stay strings), text, or null for an empty body. */
  readonly data: T;
}

export interface HttpClientOptions {
  readonly baseUrl: string;
  /** Headers without credentials, sent everywhere. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Credentials, sent to the configured origin only. */
  readonly auth?: AuthProvider;
  /** The connector's response-classification table (the kit's defaults follow it). */
  readonly classification?: readonly ClassificationRule[];
  readonly rateLimiter?: RateLimiter;
  /** Wait when a rate-limited answer carries no Retry-After or reset header (e.g. Everflow's 30 s window). */
  readonly defaultRateLimitWaitMs?: number;
  /** A daily quota shared by every app on the account, and this connection's budget of it. */
  readonly quota?: { readonly spec: QuotaSpec; readonly budget: QuotaBudget };
  readonly retries?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** A Retry-After longer than this ends the call with ConnectorRateLimitError (the job is delayed instead). */
  readonly maxRetryAfterMs?: number;
  readonly timeoutMs?: number;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly now?: () => Date;
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
 * Milliseconds a 429/503 asks us to wait: `Retry-After` (or Partnerize's `X-RateLimit-Retry-After`)
 * as seconds or an HTTP date, else `X-RateLimit-Reset`/`RateLimit-Reset` as seconds-from-now or a
 * unix time.
 */
export function retryAfterMs(headers: Readonly<Record<string, string>>, now = Date.now()): number | undefined {
  const retryAfter = headers['retry-after'] ?? headers['x-ratelimit-retry-after'];
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

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 3;

/**
 * The HTTP client a connector gets: axios with lossless JSON, p-retry with jittered exponential
 * backoff, a rate limiter shared by every worker process, an optional daily quota, and the
 * connector's response-classification table deciding what each answer means. Credentials go to
 * the configured origin only: redirects are followed by hand and only within that origin, and
 * a request for another origin (a report file) carries none. Only method, path and status are
 * logged, never credentials or query strings.
 */
export class HttpClient {
  private readonly axios: AxiosInstance;
  private readonly origin: string;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly now: () => Date;

  constructor(private readonly options: HttpClientOptions) {
    this.sleep = options.sleep ?? abortableSleep;
    this.now = options.now ?? (() => new Date());
    this.origin = new URL(options.baseUrl).origin;
    this.axios = axios.create({
      baseURL: options.baseUrl.replace(/\/+$/, '') + '/',
      headers: { 'User-Agent': 'Tally/0.1 (+https://github.com/tally)', ...options.headers },
      timeout: options.timeoutMs ?? 60_000,
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      // Redirects are followed by hand (see send): axios would carry credentials to any host.
      maxRedirects: 0,
    });
  }

  /** The origin credentials may be sent to. */
  get configuredOrigin(): string {
    return this.origin;
  }

  /** Sends a request, retrying what the classification calls retryable; resolves with an accepted response. */
  async request<T = unknown>(request: HttpRequest): Promise<HttpResponse<T>> {
    const { signal } = this.options;
    const retries = this.options.retries ?? 6;
    const baseDelay = this.options.baseDelayMs ?? 500;
    const maxDelay = this.options.maxDelayMs ?? 60_000;
    const maxRetryAfter = this.options.maxRetryAfterMs ?? 5 * 60_000;
    const limiter = this.options.rateLimiter ?? unlimited;
    const rules = this.options.classification ?? [];
    let lastRateLimitWait = 0;
    let reauthenticated = false;

    const attempt = async (): Promise<HttpResponse<T>> => {
      await limiter.acquire(signal);
      await this.takeQuota(request);
      const { response, secrets } = await this.send(request);
      this.options.logger?.debug({ method: request.method ?? 'GET', path: pathOf(request.url), status: response.status }, 'network API call');
      await this.respectRateLimitHeaders(response.headers);
      const rule = classifyResponse(rules, { status: response.status, headers: response.headers, body: response.data });
      if (!rule) {
        await this.options.quota?.budget.noteSuccess();
        return response as HttpResponse<T>;
      }
      // Some APIs echo the credential in an error body (CJ's "Not Authenticated: <key>"): never into a message.
      const what = `(${response.status} on ${pathOf(request.url)}${describeBody(response.data, secrets)}): ${rule.name}`;
      const hint = rule.hint ? `; ${rule.hint}` : '';
      const kind = rule.then.kind === 'quota_or_auth' ? resolveKind(rule.then, await this.workedSinceQuotaReset()) : rule.then.kind;
      switch (kind) {
        case 'rate_limited': {
          const waitSpec: RateLimitWait = rule.then.kind === 'rate_limited' ? rule.then.wait : { type: 'quota_reset' };
          if (waitSpec.type === 'quota_reset') throw new AbortError(await this.quotaSpent(what));
          const wait = waitSpec.type === 'fixed' ? waitSpec.ms : (retryAfterMs(response.headers) ?? waitSpec.fallbackMs ?? this.options.defaultRateLimitWaitMs);
          lastRateLimitWait = wait ?? lastRateLimitWait;
          if (wait !== undefined) await limiter.pauseFor(wait);
          throw new RetryableHttpError(`rate limited ${what}`, wait, true);
        }
        case 'transient':
          throw new RetryableHttpError(`temporary failure ${what}`, retryAfterMs(response.headers), false);
        case 'reauthenticate':
          if (!reauthenticated && this.options.auth?.invalidate && (request.credentials ?? 'include') === 'include') {
            reauthenticated = true;
            this.options.auth.invalidate();
            throw new RetryableHttpError(`token expired ${what}`, 0, false);
          }
          throw new AbortError(new ConnectorAuthError(`the network refused the credentials after a fresh token ${what}${hint}`));
        case 'auth':
          throw new AbortError(new ConnectorAuthError(`the network refused the credentials ${what}${hint || "; check the credentials in the connection's config"}`));
        case 'bad_request':
          throw new AbortError(new ConnectorConfigError(`the network rejected the request ${what}${hint || "; check the connection's settings"}`));
      }
    };

    try {
      return await pRetry(attempt, {
        retries,
        // All waiting happens in onFailedAttempt, where Retry-After is known.
        minTimeout: 0,
        maxTimeout: 0,
        randomize: false,
        signal,
        // Only what the classification calls retryable is retried: a token exchange that failed
        // for good (refused key) must not be exchanged again by the request that needed it.
        shouldRetry: ({ error }) => error instanceof RetryableHttpError,
        onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
          if (!(error instanceof RetryableHttpError) || retriesLeft === 0) return;
          const backoff = Math.min(maxDelay, baseDelay * 2 ** (attemptNumber - 1));
          const jittered = backoff / 2 + Math.random() * (backoff / 2);
          const wait = error.waitMs ?? jittered;
          if (error.rateLimited && wait > maxRetryAfter) throw new ConnectorRateLimitError(`${error.message}; the network asks to wait ${Math.round(wait / 1000)} s`, wait);
          this.options.logger?.info({ path: pathOf(request.url), attempt: attemptNumber, waitMs: Math.round(wait) }, `retrying: ${error.message}`);
          if (wait > 0) await this.sleep(wait, signal);
        },
      });
    } catch (error) {
      if (error instanceof RetryableHttpError) {
        if (error.rateLimited) throw new ConnectorRateLimitError(`${error.message}; still limited after ${retries} retries`, error.waitMs ?? (lastRateLimitWait || 60_000));
        throw new ConnectorTransientError(`${error.message}; gave up after ${retries} retries`);
      }
      throw error;
    }
  }

  /** One HTTP exchange, following redirects within the configured origin only; `secrets` are the credential values it sent. */
  private async send(request: HttpRequest): Promise<{ response: HttpResponse; secrets: readonly string[] }> {
    const omit = request.credentials === 'omit';
    let url = this.resolve(request.url, omit);
    let method = request.method ?? 'GET';
    let data = request.data;
    let params: Record<string, unknown> | undefined = { ...request.params };
    for (let hop = 0; ; hop++) {
      const credentials: Credentials = omit || request.credentials === 'exchange' || !this.options.auth ? {} : await this.exchangedCredentials(this.options.auth);
      let raw: AxiosResponse<string>;
      try {
        raw = await this.axios.request<string>({
          method,
          url: url.href,
          params: { ...params, ...credentials.params },
          headers: { ...request.headers, ...credentials.headers },
          auth: credentials.basic,
          data: withBodyCredentials(method, data, credentials.body),
          signal: this.options.signal,
          maxRedirects: omit ? 5 : 0,
        });
      } catch (error) {
        if (this.options.signal?.aborted) throw new AbortError(this.options.signal.reason instanceof Error ? this.options.signal.reason : new Error('aborted'));
        const code = (error as { code?: string }).code ?? (error as Error).message;
        throw new RetryableHttpError(`network error on ${method} ${url.pathname}: ${code}`, undefined, false);
      }
      const headers = lowerCaseHeaders(raw.headers as Record<string, unknown>);
      const location = headers.location;
      if (!REDIRECTS.has(raw.status) || location === undefined || omit) {
        return { response: { status: raw.status, headers, data: parseBody(raw.data, headers) }, secrets: secretValues(credentials, request.headers) };
      }
      const target = new URL(location, url);
      if (target.origin !== this.origin) {
        throw new AbortError(new ConnectorConfigError(`the API at ${this.origin} redirected ${url.pathname} to another host (${target.origin}); credentials are never sent there: check the connection's base_url`));
      }
      if (hop >= MAX_REDIRECTS) throw new AbortError(new ConnectorConfigError(`more than ${MAX_REDIRECTS} redirects from ${url.pathname}; check the connection's base_url`));
      url = target;
      // The Location holds the query; a 303 (and, by custom, 301/302 of a POST) becomes a GET.
      params = undefined;
      if (raw.status === 303 || ((raw.status === 301 || raw.status === 302) && method === 'POST')) {
        method = 'GET';
        data = undefined;
      }
    }
  }

  /**
   * The connection's credentials. A token exchange is a request of its own with its own retries:
   * when it fails (refused credentials, a server still down), the request waiting for it fails
   * with that error instead of exchanging again.
   */
  private async exchangedCredentials(auth: AuthProvider): Promise<Credentials> {
    try {
      return await auth.credentials((exchange) => this.request({ ...exchange, credentials: 'exchange' }));
    } catch (error) {
      throw error instanceof AbortError ? error : new AbortError(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** The absolute URL of a request; another origin only without credentials. */
  private resolve(url: string, omit: boolean): URL {
    const base = new URL(this.options.baseUrl.replace(/\/+$/, '') + '/');
    const resolved = /^[a-z][a-z0-9+.-]*:/i.test(url) ? new URL(url) : new URL(url.replace(/^\//, ''), base);
    if (!omit && resolved.origin !== this.origin) {
      throw new AbortError(new ConnectorConfigError(`refusing to send credentials to ${resolved.origin}: the connection's API host is ${this.origin}`));
    }
    return resolved;
  }

  private async takeQuota(request: HttpRequest): Promise<void> {
    const quota = this.options.quota;
    if (!quota || request.credentials === 'omit') return;
    const take = await quota.budget.take();
    if (!take.ok) {
      const wait = Math.max(1000, take.resetAt.getTime() - this.now().getTime());
      throw new AbortError(new ConnectorRateLimitError(`the account's daily API quota (${quota.spec.requestsPerDay} requests, shared by every app on the account) is spent; it resets at ${take.resetAt.toISOString()}`, wait));
    }
  }

  private async workedSinceQuotaReset(): Promise<boolean> {
    const quota = this.options.quota;
    if (!quota) return false;
    const last = await quota.budget.lastSuccessAt();
    return last !== null && last.getTime() >= lastQuotaReset(quota.spec, this.now()).getTime();
  }

  /** The API says the daily quota is spent: stop every worker's calls until it resets. */
  private async quotaSpent(what: string): Promise<ConnectorRateLimitError> {
    const now = this.now();
    const spec = this.options.quota?.spec;
    const resetAt = spec ? nextQuotaReset(spec, now) : new Date(now.getTime() + 3_600_000);
    await this.options.quota?.budget.exhaust(resetAt);
    return new ConnectorRateLimitError(`over the account's daily API quota ${what}; waiting until it resets at ${resetAt.toISOString()}`, Math.max(1000, resetAt.getTime() - now.getTime()));
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

/** A POST's JSON body with the body credentials merged in (never on GET, never into non-objects). */
function withBodyCredentials(method: string, data: unknown, body: Readonly<Record<string, string>> | undefined): unknown {
  if (!body || method !== 'POST') return data;
  if (data !== undefined && (data === null || typeof data !== 'object' || Array.isArray(data))) return data;
  return { ...(data as Record<string, unknown> | undefined), ...body };
}

/**
 * The values a request carried that must never reach a message: credentials, and the
 * Authorization header a token exchange sets itself (each word of it, so `Bearer <key>` yields the key).
 */
function secretValues(credentials: Credentials, headers: Readonly<Record<string, string>> | undefined): string[] {
  const authorization = Object.entries(headers ?? {}).filter(([name]) => name.toLowerCase() === 'authorization').map(([, value]) => value);
  const values = [
    ...Object.values(credentials.headers ?? {}),
    ...Object.values(credentials.params ?? {}),
    ...Object.values(credentials.body ?? {}),
    ...(credentials.basic ? [credentials.basic.password] : []),
    ...authorization,
  ];
  return values.flatMap((value) => [value, ...value.split(/\s+/)]).filter((value) => value.length >= 8);
}

/** `text` with every secret value replaced. */
function redact(text: string, secrets: readonly string[]): string {
  return secrets.reduce((out, secret) => out.split(secret).join('[redacted]'), text);
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

/** A short, secret-free hint from an error body for the operator; `secrets` are cut out first. */
export function describeBody(data: unknown, secrets: readonly string[] = []): string {
  if (data === null || data === undefined) return '';
  const text = redact(typeof data === 'string' ? data : JSON.stringify(data), secrets);
  const compact = text.replace(/\s+/g, ' ').trim();
  return compact ? `: ${compact.slice(0, 200)}` : '';
}

/** The path of a URL without its query string, which may carry credentials. */
function pathOf(url: string): string {
  return url.split('?')[0] ?? url;
}
