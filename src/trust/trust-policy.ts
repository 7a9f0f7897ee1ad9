import { rejectionMessages } from '../pipeline/outcomes';
import { ipInList } from './ip-allow-list';
import { sameDigest } from './token-digest';

/** Routes whose requests come from outside and must be trusted; `api` and `upload` are admin-authenticated. */
export const TRACKING_ROUTES = ['postback', 'pixel', 'script'] as const;
export type TrackingRoute = (typeof TRACKING_ROUTES)[number];

/** A network's trust settings as the pipeline reads them with the click. */
export interface NetworkTrust {
  readonly tokenDigest: string | null;
  readonly previousTokenDigest: string | null;
  readonly previousTokenExpiresAt: Date | null;
  readonly postbackIps: readonly string[] | null;
  /** Explicit setting; null means the default (see {@link acceptedRoutes}). */
  readonly acceptedRoutes: readonly TrackingRoute[] | null;
}

/** What a request proved about itself at receipt, kept with the attempt for later judgement. */
export interface TrustEvidence {
  readonly clientIp?: string | null | undefined;
  /** Digest of the token the request presented; null or absent when it presented none. */
  readonly tokenDigest?: string | null | undefined;
}

export type TrustVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'route_not_allowed' | 'invalid_token' | 'ip_not_allowed'; readonly message: string };

const NO_NETWORK: NetworkTrust = { tokenDigest: null, previousTokenDigest: null, previousTokenExpiresAt: null, postbackIps: null, acceptedRoutes: null };

/**
 * The routes a network accepts. Explicit when set; otherwise all three when no token applies to
 * it (neither its own nor the global POSTBACK_TOKEN) and it has no IP list, only `postback` when
 * one does: browser routes cannot carry a secret, so accepting them makes the network's
 * conversions forgeable by anyone who knows a click ID.
 */
export function acceptedRoutes(network: NetworkTrust | null, globalTokenDigest: string | null): readonly TrackingRoute[] {
  const settings = network ?? NO_NETWORK;
  if (settings.acceptedRoutes !== null) return settings.acceptedRoutes;
  const guarded = settings.tokenDigest !== null || globalTokenDigest !== null || (settings.postbackIps?.length ?? 0) > 0;
  return guarded ? ['postback'] : TRACKING_ROUTES;
}

/** True when a network's conversions can be registered by a browser route (forgeable). */
export function acceptsBrowserRoutes(network: NetworkTrust | null, globalTokenDigest: string | null): boolean {
  return acceptedRoutes(network, globalTokenDigest).some((route) => route !== 'postback');
}

/**
 * Decides whether a conversion arriving by `route` may register for a click of `network`
 * (null: the click's offer has no network). Judged once per attempt, at receipt, or — when the
 * click was unknown then — at re-matching, from the evidence kept with the attempt. The client's
 * choice of route can only lose it rights: a route the network does not accept is refused, and
 * S2S postbacks must pass the token and IP checks.
 */
export function judgeTrust(
  route: string,
  network: NetworkTrust | null,
  evidence: TrustEvidence,
  settings: { readonly globalTokenDigest: string | null; readonly now: Date },
): TrustVerdict {
  if (!(TRACKING_ROUTES as readonly string[]).includes(route)) return { ok: true };
  const accepted = acceptedRoutes(network, settings.globalTokenDigest);
  if (!accepted.includes(route as TrackingRoute)) {
    return { ok: false, reason: 'route_not_allowed', message: rejectionMessages.routeNotAllowed(route, accepted) };
  }
  if (route !== 'postback') return { ok: true };
  const own = network ?? NO_NETWORK;
  const presented = evidence.tokenDigest ?? null;
  if (own.tokenDigest !== null) {
    const previousValid = own.previousTokenDigest !== null && own.previousTokenExpiresAt !== null && own.previousTokenExpiresAt > settings.now;
    if (!sameDigest(presented, own.tokenDigest) && !(previousValid && sameDigest(presented, own.previousTokenDigest))) {
      return { ok: false, reason: 'invalid_token', message: rejectionMessages.invalidToken(presented !== null) };
    }
  } else if (settings.globalTokenDigest !== null && !sameDigest(presented, settings.globalTokenDigest)) {
    return { ok: false, reason: 'invalid_token', message: rejectionMessages.invalidToken(presented !== null) };
  }
  if (own.postbackIps && own.postbackIps.length > 0 && !ipInList(own.postbackIps, evidence.clientIp)) {
    return { ok: false, reason: 'ip_not_allowed', message: rejectionMessages.ipNotAllowed(evidence.clientIp ?? undefined) };
  }
  return { ok: true };
}
