import { sleep } from './ports';

/** What one postback got. */
export interface PostbackResult {
  readonly txid: string;
  readonly clickId: string;
  /** HTTP status, or 0 when the connection failed (process killed, nothing listening). */
  readonly status: number;
  /** 200 or 202: the server said it is durable. */
  readonly acknowledged: boolean;
}

export interface Postback {
  readonly txid: string;
  readonly clickId: string;
  readonly payout?: string;
}

/** Sends one postback as a network's server would: once, no retry. */
export async function sendPostback(baseUrl: string, postback: Postback): Promise<PostbackResult> {
  const query = new URLSearchParams({ click_id: postback.clickId, txid: postback.txid, payout: postback.payout ?? '1.00' });
  try {
    const response = await fetch(`${baseUrl}/cf/cv?${query.toString()}`, { signal: AbortSignal.timeout(60_000) });
    await response.arrayBuffer();
    return { txid: postback.txid, clickId: postback.clickId, status: response.status, acknowledged: response.status === 200 || response.status === 202 };
  } catch {
    return { txid: postback.txid, clickId: postback.clickId, status: 0, acknowledged: false };
  }
}

/**
 * Postbacks at a steady rate (each on its own schedule, never waiting for earlier answers), to
 * whichever server `target()` names at the time: a load balancer in front of `serve` processes.
 */
export async function steadyLoad(options: { target: () => string; perSecond: number; durationMs: number; postback: (index: number) => Postback; onTick?: (elapsedMs: number) => void }): Promise<PostbackResult[]> {
  const total = Math.round((options.perSecond * options.durationMs) / 1000);
  const started = Date.now();
  const pending: Promise<PostbackResult>[] = [];
  for (let index = 0; index < total; index += 1) {
    const due = started + (index * 1000) / options.perSecond;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    options.onTick?.(Date.now() - started);
    pending.push(sendPostback(options.target(), options.postback(index)));
  }
  return Promise.all(pending);
}

/** Sends all at once, at most `concurrency` in flight. */
export async function burst(baseUrl: string, postbacks: readonly Postback[], concurrency = 64): Promise<PostbackResult[]> {
  const results: PostbackResult[] = new Array(postbacks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < postbacks.length) {
        const index = next++;
        results[index] = await sendPostback(baseUrl, postbacks[index] as Postback);
      }
    }),
  );
  return results;
}
