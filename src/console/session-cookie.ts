import type { FastifyRequest } from 'fastify';

/** Over HTTPS the cookie takes the `__Host-` prefix: Secure, Path=/, no Domain, enforced by the browser. */
const COOKIE_PLAIN = 'tally_session';
const COOKIE_SECURE = '__Host-tally_session';

function cookieName(request: FastifyRequest): string {
  return request.protocol === 'https' ? COOKIE_SECURE : COOKIE_PLAIN;
}

/** The value of cookie `name` in the request, if present. */
export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator > 0 && part.slice(0, separator).trim() === name) return part.slice(separator + 1).trim();
  }
  return undefined;
}

/** The console session id the browser sent, if any. */
export function sessionIdOf(request: FastifyRequest): string | undefined {
  return readCookie(request, cookieName(request));
}

/**
 * The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page makes
 * the browser send it), Secure over HTTPS; Path=/ because the admin API and Bull Board accept it.
 */
export function sessionCookie(request: FastifyRequest, id: string, maxAgeSeconds: number): string {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  return `${cookieName(request)}=${id}; Max-Age=${maxAgeSeconds}; Path=/; HttpOnly; SameSite=Strict${secure}`;
}

/** A Set-Cookie that removes the session cookie. */
export function clearedSessionCookie(request: FastifyRequest): string {
  return sessionCookie(request, '', 0);
}
