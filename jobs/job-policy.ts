import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { ConnectorRateLimitError } from '../connectors/kit/errors';
import { classifyFailure } from './failures';

/** Longest wait between two retries of a transiently failing job. */
export const MAX_JOB_BACKOFF_MS = 15 * 60_000;
/** The queues' retry schedule (see queues.ts): doubling from TALLY_JOB_BACKOFF_MS, capped, jittered. */
export const CAPPED_BACKOFF = 'capped';

/** BullMQ's custom backoff for CAPPED_BACKOFF: `baseMs` × 2^(attempt − 1), at most 15 minutes, then half of it jittered. */
export function cappedBackoff(baseMs: number): (attemptsMade: number) => number {
  return (attemptsMade) => {
    const delay = Math.min(MAX_JOB_BACKOFF_MS, baseMs * 2 ** Math.max(0, Math.min(attemptsMade - 1, 30)));
    return Math.round(delay / 2 + Math.random() * (delay / 2));
  };
}

/** How a job run ended, as the pull-runs metric counts it. */
export type JobRunResult = 'completed' | 'skipped' | 'cancelled' | 'rate_limited' | 'retrying' | 'failed';

/**
 * Turns a job error into BullMQ's policy: a rate limit delays the job (no attempt used, never
 * failed); wrong credentials or configuration fail it at once; anything else is retried with the
 * capped backoff until the job's attempts are used up. `onGiveUp` runs when the job will fail for
 * good, `onResult` with how the run ended.
 */
export async function applyJobPolicy(
  error: unknown,
  job: Job,
  token: string | undefined,
  hooks: { onGiveUp?: (message: string) => Promise<void>; onResult?: (result: JobRunResult) => void } = {},
): Promise<never> {
  const kind = classifyFailure(error);
  const message = (error as Error).message ?? String(error);
  if (kind === 'rate_limited') {
    const wait = (error as ConnectorRateLimitError).retryAfterMs;
    hooks.onResult?.('rate_limited');
    await job.moveToDelayed(Date.now() + Math.max(1000, wait), token);
    throw new DelayedError(`rate limited; resuming in ${Math.round(wait / 1000)} s`);
  }
  const final = kind === 'permanent' || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  hooks.onResult?.(final ? 'failed' : 'retrying');
  if (final) await hooks.onGiveUp?.(message);
  if (kind === 'permanent') throw new UnrecoverableError(message);
  throw error;
}
