/**
 * Errors a connector's HTTP calls end in. The pull job maps them to its policy: auth and config
 * errors fail at once and mark the connection unhealthy; rate limits delay the job without
 * failing it; transient errors let BullMQ retry the job.
 */
export class ConnectorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** 401/403 or an authentication error reported in the body: credentials are wrong or revoked. */
export class ConnectorAuthError extends ConnectorError {}

/** The request itself is wrong (400/404/422, unknown account, bad filter): fix the connection's config. */
export class ConnectorConfigError extends ConnectorError {}

/** Still rate limited after the retries; `retryAfterMs` says when the API expects us back. */
export class ConnectorRateLimitError extends ConnectorError {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** 5xx, timeouts, resets, or a retryable error in a 200 body, still failing after the retries. */
export class ConnectorTransientError extends ConnectorError {}

/** The API answered with something the connector cannot read (schema mismatch). */
export class ConnectorResponseError extends ConnectorError {}
