import type { OutcomeStatus } from './types';

/**
 * What a settled attempt did to its conversion. The registration statement decides which one
 * applies (one CASE, see statements.ts); in-batch repeats take `duplicateResult`. Everything a
 * result implies — outcome status, log reason, operator message — is read from this table only.
 */
export const SETTLED = {
  inserted: { status: 'accepted', reason: null, message: null },
  changed: { status: 'updated', reason: 'changed', message: 'status or payout changed; the existing conversion was updated' },
  adopted: {
    status: 'updated',
    reason: 'adopted',
    message: 'the conversion registered earlier without a txid from another route now carries this txid',
  },
  unchanged: { status: 'duplicate', reason: 'unchanged', message: 'already registered with the same status and payout' },
  duplicate_policy: {
    status: 'duplicate',
    reason: 'duplicate_policy',
    message: 'this click already has a conversion of this type and the network\'s duplicate policy is "ignore"; send a txid to count separate conversions',
  },
} as const satisfies Record<string, { status: OutcomeStatus; reason: string | null; message: string | null }>;

export type SettledResult = keyof typeof SETTLED;

/** The SQL expression mapping a result column to its outcome status, generated from {@link SETTLED}. */
export function settledStatusSql(column: string): string {
  const branches = Object.entries(SETTLED).map(([result, { status }]) => `WHEN '${result}' THEN '${status}'`);
  return `CASE ${column} ${branches.join(' ')} END`;
}

/** The SQL expression mapping a result column to its log reason, generated from {@link SETTLED}. */
export function settledReasonSql(column: string): string {
  const branches = Object.entries(SETTLED).map(([result, { reason }]) => `WHEN '${result}' THEN ${reason === null ? 'NULL' : `'${reason}'`}`);
  return `CASE ${column} ${branches.join(' ')} END`;
}

/** Operator message for a settled reason stored in the log (the log stores only the reason for these). */
export function settledMessage(reason: string | null): string | null {
  if (reason === null) return null;
  for (const entry of Object.values(SETTLED)) if (entry.reason === reason) return entry.message;
  return null;
}

/**
 * Operator-facing explanations for rejections decided after normalization: by matching (unknown
 * click), by the trust policy, by storage. Normalization builds its own messages, which quote the
 * offending value.
 */
export const rejectionMessages = {
  unknownClickId: (clickId: string): string =>
    `click ID "${clickId}" does not match any click: check that the offer URL passes {cf_click_id} to the network and that the postback returns that value unchanged; the attempt is kept and re-matched if the click is imported later`,
  ipNotAllowed: (ip: string | undefined): string =>
    `postback from ${ip ?? 'an unknown address'} is not on this network's postback IP allow-list; add the network's server addresses to postback_ips, or remove the list`,
  invalidToken: (presented: boolean): string =>
    presented
      ? "the postback token is wrong: use the network's postback_token (or POSTBACK_TOKEN when the network has none) as token= in the postback URL"
      : "the postback carries no token: add token=<the network's postback_token, or POSTBACK_TOKEN when the network has none> to the postback URL",
  routeNotAllowed: (route: string, accepted: readonly string[]): string =>
    `this network does not accept conversions by ${route === 'postback' ? 'S2S postback' : route === 'pixel' ? 'image pixel' : 'conversion script'} (accepted: ${accepted.join(', ') || 'none'}); ` +
    (route === 'postback'
      ? 'add "postback" to the network\'s accepted_routes'
      : 'browser routes cannot carry a secret, so a network with a postback token or IP list accepts them only when its accepted_routes says so explicitly'),
  storageError: (detail: string): string =>
    `this input could not be stored (${detail}); the other inputs of its batch were registered. Check the raw request for unusual characters or values`,
} as const;

/** Reasons whose attempt is kept to be judged again once its click is known (click import lag). */
export const REMATCHABLE_REASON = 'unknown_click_id';
