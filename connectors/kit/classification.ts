/**
 * Response classification, one table per connector (like Airbyte's response filters): which
 * status codes or body shapes mean "wait", "retry", "the credentials are wrong" or "the request
 * is wrong". A connector's own rules are tried first, in order; the kit's defaults catch the rest.
 */

/** How long a rate-limited answer asks us to wait. */
export type RateLimitWait =
  /** `Retry-After` / `X-RateLimit-Reset` headers; `fallbackMs` (or the connector's default wait) when absent. */
  | { readonly type: 'retry_after'; readonly fallbackMs?: number }
  | { readonly type: 'fixed'; readonly ms: number }
  /** Until the account's daily quota resets (the connector's `quota.resetTimeZone` midnight). */
  | { readonly type: 'quota_reset' };

export type Classification =
  | { readonly kind: 'rate_limited'; readonly wait: RateLimitWait }
  | { readonly kind: 'transient' }
  | { readonly kind: 'auth' }
  | { readonly kind: 'bad_request' }
  /** A token from a token exchange expired: exchange again once, then treat as auth. */
  | { readonly kind: 'reauthenticate' }
  /**
   * A status that means either "over the daily quota" or "bad credentials" (ClickBank's 403):
   * the quota when the connection has worked since the quota last reset, auth otherwise.
   */
  | { readonly kind: 'quota_or_auth' };

export type ClassificationKind = Classification['kind'];
/** What a response finally counts as, once `quota_or_auth` is decided. */
export type ResolvedKind = Exclude<ClassificationKind, 'quota_or_auth'>;

/** A response as classification sees it. */
export interface ResponseFacts {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Parsed JSON (lossless), text, or null. */
  readonly body: unknown;
}

/** A documented (or, marked so, inferred) answer that a rule must classify; the contract suite replays each. */
export interface ClassificationExample {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** The raw body as the API sends it. */
  readonly body: string;
  /** For `quota_or_auth` rules: whether the connection has worked since the quota last reset. */
  readonly workedSinceQuotaReset?: boolean;
  readonly expect: ResolvedKind;
}

export interface ClassificationRule {
  /** What the rule recognises, e.g. "403 over the daily quota". */
  readonly name: string;
  /** Status codes the rule applies to; omitted: any status (a body predicate must then narrow it). */
  readonly status?: number | readonly number[] | { readonly from: number; readonly to: number };
  /** A body shape (errors inside HTTP 200, or one 403 among several). */
  readonly body?: (body: unknown) => boolean;
  readonly then: Classification;
  /** What the operator should do, appended to the error message. */
  readonly hint?: string;
  /** Where the behaviour is documented, or "INFERRED: …". */
  readonly source: string;
  /** Answers the rule must classify (at least one); replayed by the contract suite. */
  readonly examples: readonly ClassificationExample[];
}

/** The kit's defaults, tried after a connector's own rules. */
export const DEFAULT_CLASSIFICATION: readonly ClassificationRule[] = [
  {
    name: '429 Too Many Requests',
    status: 429,
    then: { kind: 'rate_limited', wait: { type: 'retry_after' } },
    source: 'RFC 6585 §4',
    examples: [{ status: 429, headers: { 'retry-after': '1' }, body: '', expect: 'rate_limited' }],
  },
  {
    name: '5xx server error',
    status: { from: 500, to: 599 },
    then: { kind: 'transient' },
    source: 'RFC 9110 §15.6',
    examples: [{ status: 503, body: '', expect: 'transient' }],
  },
  {
    name: '401/403 refused credentials',
    status: [401, 403],
    then: { kind: 'auth' },
    hint: "check the credentials in the connection's config",
    source: 'RFC 9110 §15.5.2, §15.5.4',
    examples: [{ status: 401, body: '', expect: 'auth' }],
  },
  {
    name: 'other 4xx: the request is wrong',
    status: { from: 400, to: 499 },
    then: { kind: 'bad_request' },
    hint: "check the connection's settings",
    source: 'RFC 9110 §15.5',
    examples: [{ status: 400, body: '', expect: 'bad_request' }],
  },
];

function statusMatches(rule: ClassificationRule, status: number): boolean {
  const { status: wanted } = rule;
  if (wanted === undefined) return true;
  if (typeof wanted === 'number') return wanted === status;
  if (Array.isArray(wanted)) return wanted.includes(status);
  const range = wanted as { from: number; to: number };
  return status >= range.from && status <= range.to;
}

/**
 * The first rule (the connector's, then the kit's) that matches the response, or undefined for a
 * 2xx answer no rule objects to. A non-2xx answer always matches something.
 */
export function classifyResponse(rules: readonly ClassificationRule[], response: ResponseFacts): ClassificationRule | undefined {
  const ok = response.status >= 200 && response.status < 300;
  for (const rule of rules) {
    if (ok && rule.status === undefined && rule.body === undefined) continue;
    if (!statusMatches(rule, response.status)) continue;
    if (rule.body && !safely(rule.body, response.body)) continue;
    return rule;
  }
  if (ok) return undefined;
  return DEFAULT_CLASSIFICATION.find((rule) => statusMatches(rule, response.status)) ?? UNEXPECTED_STATUS;
}

/** A body predicate that throws on an odd body does not match it. */
function safely(predicate: (body: unknown) => boolean, body: unknown): boolean {
  try {
    return predicate(body);
  } catch {
    return false;
  }
}

const UNEXPECTED_STATUS: ClassificationRule = {
  name: 'unexpected status',
  then: { kind: 'bad_request' },
  hint: "check the connection's base_url",
  source: 'kit default',
  examples: [{ status: 304, body: '', expect: 'bad_request' }],
};

/** Decides `quota_or_auth` by whether the connection has worked since the quota last reset. */
export function resolveKind(classification: Classification, workedSinceQuotaReset: boolean): ResolvedKind {
  if (classification.kind !== 'quota_or_auth') return classification.kind;
  return workedSinceQuotaReset ? 'rate_limited' : 'auth';
}
