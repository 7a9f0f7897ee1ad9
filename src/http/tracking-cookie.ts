import type { FastifyRequest } from 'fastify';

export const CLICK_COOKIE = 'cf_click_id';
const MAX_AGE_SECONDS = 90 * 24 * 3600;

/**
 * The tracking-domain cookie. Over HTTPS it is `SameSite=None; Secure`, so that an image pixel
 * on the advertiser's site can carry it wherever the browser still allows third-party cookies;
 * over plain HTTP browsers refuse SameSite=None, so it is `SameSite=Lax` (sent only when the
 * thank-you page is on the tracking domain's own site).
 */
export function clickCookie(clickId: string, request: FastifyRequest): string {
  const secure = request.protocol === 'https';
  return `${CLICK_COOKIE}=${clickId}; Max-Age=${MAX_AGE_SECONDS}; Path=/; HttpOnly; ${secure ? 'SameSite=None; Secure' : 'SameSite=Lax'}`;
}

/** The click ID from the request's cookie, if any. */
export function clickIdFromCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  const match = new RegExp(`(?:^|;\\s*)${CLICK_COOKIE}=([^;]+)`).exec(header);
  if (!match?.[1]) return undefined;
  // A cookie is client input: a malformed escape (`%zz`) is read as it is, never thrown.
  try {
    return decodeURIComponent(match[1]).trim();
  } catch {
    return match[1].trim();
  }
}
