import { z } from 'zod';
import { ConnectorResponseError } from './errors';
import type { PullWindow } from './types';

/** Validates an API response body, or fails the pull with a message an operator can act on. */
export function parseResponse<T>(network: string, schema: z.ZodType<T>, data: unknown, what: string): T {
  const result = schema.safeParse(data);
  if (!result.success) throw new ConnectorResponseError(`${network} ${what} has an unexpected shape:\n${z.prettifyError(result.error)}`);
  return result.data;
}

/**
 * Whether a record belongs to the half-open window [from, to). APIs whose date filters are
 * coarser or inclusive return records of neighbouring windows; dropping them here means adjacent
 * windows never both yield a record, and none is missed at a boundary.
 */
export function inWindow(at: Date, window: PullWindow): boolean {
  return at >= window.from && at < window.to;
}
