import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Constant-time comparison of a presented secret with an expected one (never equal when empty). */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

/** The secret a request presents: a bearer token, or the password of HTTP Basic (any user name). */
export function presentedSecret(request: FastifyRequest): { kind: 'bearer' | 'basic'; secret: string } | undefined {
  const header = request.headers.authorization ?? '';
  const bearer = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
  if (bearer !== undefined) return { kind: 'bearer', secret: bearer };
  const basic = /^Basic\s+(.+)$/i.exec(header)?.[1];
  if (basic !== undefined) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    return { kind: 'basic', secret: decoded.slice(decoded.indexOf(':') + 1) };
  }
  return undefined;
}

export interface AdminAuthOptions {
  /** Realm for `WWW-Authenticate: Basic` (pages a browser opens, e.g. Bull Board). */
  readonly basicRealm?: string;
  /** Further accepted secrets (e.g. METRICS_TOKEN for /metrics). */
  readonly alsoAccept?: readonly string[];
  /** Another way a request may prove itself (the console's session cookie). */
  readonly session?: (request: FastifyRequest) => boolean | Promise<boolean>;
  /** Public origin (PUBLIC_URL) accepted besides the request's own. */
  readonly publicUrl?: string | undefined;
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Refuses a state-changing request that a browser sent from another site: a browser attaches
 * cached Basic credentials and cookies to cross-site requests, so credentials alone do not prove
 * the operator meant it. Browsers say where a request comes from (`Sec-Fetch-Site`, `Origin`);
 * clients that are not browsers (curl, scripts) send neither and are judged by credentials alone.
 */
export function crossSiteRefusal(request: FastifyRequest, publicUrl?: string): string | undefined {
  if (!UNSAFE_METHODS.has(request.method)) return undefined;
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') {
    return `a ${request.method} from another site (Sec-Fetch-Site: ${site}) is not accepted; use the console or the API from a script`;
  }
  const origin = request.headers.origin;
  if (typeof origin === 'string' && origin !== '') {
    const own = originOf(`${request.protocol}://${request.host}`);
    const allowed = [own, ...(publicUrl ? [originOf(publicUrl)] : [])];
    if (!allowed.includes(originOf(origin))) return `a ${request.method} from origin ${origin.slice(0, 100)} is not accepted (this server is ${own})`;
  }
  return undefined;
}

/** A URL's origin as browsers write it (default ports dropped, lower case); the text itself when unparseable. */
function originOf(url: string): string {
  try {
    return new URL(url).origin.toLowerCase();
  } catch {
    return url.toLowerCase();
  }
}

/**
 * A browser always says where a state-changing fetch or form comes from; a session-authenticated
 * request that says neither did not come from the console, so it is refused rather than trusted.
 */
function unattributedRefusal(request: FastifyRequest): string | undefined {
  if (!UNSAFE_METHODS.has(request.method)) return undefined;
  if (request.headers.origin || request.headers['sec-fetch-site']) return undefined;
  return `a ${request.method} with the console's session cookie must come from the console (the browser sends Origin); scripts use Authorization: Bearer`;
}

/**
 * onRequest hook for the admin API, Bull Board and the console: checks credentials before
 * anything is parsed or validated (an unauthenticated caller learns nothing about the body it
 * sent), then refuses cross-site state changes. Accepts `Authorization: Bearer <ADMIN_TOKEN>`,
 * HTTP Basic with the token as password (any user name), or a session the caller recognises
 * (only when no Authorization header was sent: a wrong token is never rescued by a cookie).
 */
export function requireAdmin(adminToken: string, options: AdminAuthOptions = {}) {
  const accepted = [adminToken, ...(options.alsoAccept ?? [])].filter((secret) => secret.length >= 16);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const presented = presentedSecret(request);
    const bySecret = presented !== undefined && accepted.some((secret) => sameSecret(presented.secret, secret));
    const bySession = !bySecret && presented === undefined && options.session !== undefined && (await options.session(request));
    if (!bySecret && !bySession) {
      if (options.basicRealm) reply.header('WWW-Authenticate', `Basic realm="${options.basicRealm}"`);
      await reply.status(401).send({
        error: {
          code: 'unauthorized',
          message: presented
            ? 'the admin token is wrong'
            : 'send Authorization: Bearer <ADMIN_TOKEN> (printed by `tally serve` on first start, or set ADMIN_TOKEN)',
        },
      });
      return;
    }
    const refusal = crossSiteRefusal(request, options.publicUrl) ?? (bySession ? unattributedRefusal(request) : undefined);
    if (refusal) {
      await reply.status(403).send({ error: { code: 'cross_site_request', message: refusal } });
    }
  };
}
