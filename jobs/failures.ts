import { UnrecoverableError } from 'bullmq';
import { ConnectorAuthError, ConnectorConfigError, ConnectorRateLimitError } from '../connectors/kit/errors';
import { TallyError } from '../src/util/errors';

export type FailureKind = 'permanent' | 'rate_limited' | 'transient';

/**
 * The error policy of pull jobs: wrong credentials or configuration fail at once (retrying
 * cannot help) and mark the connection unhealthy; a rate limit delays the job and never fails
 * it; everything else (5xx, network, database) is retried by BullMQ with backoff.
 */
export function classifyFailure(error: unknown): FailureKind {
  if (error instanceof ConnectorRateLimitError) return 'rate_limited';
  if (error instanceof ConnectorAuthError || error instanceof ConnectorConfigError || error instanceof UnrecoverableError) return 'permanent';
  if (error instanceof TallyError && error.statusCode < 500) return 'permanent';
  if (error instanceof Error && /cannot be decrypted/.test(error.message)) return 'permanent';
  return 'transient';
}
