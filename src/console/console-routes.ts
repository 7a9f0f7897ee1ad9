import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../http/context';
import { crossSiteRefusal, presentedSecret, sameSecret } from '../http/plugins/admin-auth';
import { BULL_BOARD_PATH } from '../http/plugins/bull-board';
import { publicBase } from '../http/routes/admin-catalog';
import { consoleAssets, packageRoot } from './console-assets';
import { loginPage, PAGE_HEADERS, shellPage } from './console-html';
import type { ConsoleSessions } from './console-sessions';
import { LoginThrottle } from './login-throttle';
import { clearedSessionCookie, sessionCookie, sessionIdOf } from './session-cookie';

export const CONSOLE_PATH = '/console';
const VERSION = (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;

/** Where to go after logging in: a console path only, never another site. */
function safeNext(next: unknown): string {
  if (typeof next !== 'string' || !/^\/console(\/[A-Za-z0-9/_\-.?=&%]*)?$/.test(next) || next.includes('//') || next.includes('..') || next.startsWith('/console/login')) return CONSOLE_PATH;
  return next;
}

/**
 * The operator console at /console: a login form that opens a session (HttpOnly, SameSite=Strict
 * cookie, Secure over HTTPS), logout, the static assets, and the page shell for every console
 * path. The pages call the admin API, which accepts the session; HTTP Basic or a bearer token
 * with the admin token open the pages too.
 */
export async function consoleRoutes(app: FastifyInstance, { ctx, sessions }: { ctx: AppContext; sessions: ConsoleSessions }): Promise<void> {
  const throttle = new LoginThrottle();
  const tokenHint = ctx.config.adminTokenGenerated
    ? `The admin token was generated on first start and is kept in ${ctx.config.stateDir}/admin-token (tally serve, start and demo print it).`
    : 'The admin token is the ADMIN_TOKEN this server was started with.';
  const page = (reply: FastifyReply, status: number, html: string) => reply.status(status).headers(PAGE_HEADERS).send(html);

  const signedIn = async (request: FastifyRequest): Promise<boolean> => {
    const presented = presentedSecret(request);
    if (presented) return sameSecret(presented.secret, ctx.config.adminToken);
    return sessions.isValid(sessionIdOf(request));
  };

  await app.register(consoleAssets);

  app.get(`${CONSOLE_PATH}/login`, { schema: { hide: true } }, async (request, reply) => {
    const next = safeNext((request.query as { next?: unknown }).next);
    if (await signedIn(request)) return reply.redirect(next, 303);
    return page(reply, 200, loginPage({ next, tokenHint }));
  });

  app.post(`${CONSOLE_PATH}/login`, { schema: { hide: true } }, async (request, reply) => {
    const body = (request.body ?? {}) as { token?: unknown; next?: unknown };
    const next = safeNext(body.next);
    // Login CSRF: another site must not log this browser into a session it chose.
    const refusal = crossSiteRefusal(request, ctx.config.publicUrl);
    if (refusal) return page(reply, 403, loginPage({ next, tokenHint, error: refusal }));
    const wait = throttle.retryAfterSeconds(request.ip);
    if (wait > 0) {
      reply.header('Retry-After', String(wait));
      return page(reply, 429, loginPage({ next, tokenHint, error: `Too many wrong tokens from ${request.ip}; try again in ${wait} s.` }));
    }
    if (typeof body.token !== 'string' || !sameSecret(body.token.trim(), ctx.config.adminToken)) {
      throttle.failed(request.ip);
      return page(reply, 401, loginPage({ next, tokenHint, error: 'That is not the admin token.' }));
    }
    throttle.succeeded(request.ip);
    const session = await sessions.open();
    reply.header('Set-Cookie', sessionCookie(request, session.id, Math.floor((session.expiresAt.getTime() - Date.now()) / 1000)));
    return reply.redirect(next, 303);
  });

  app.post(`${CONSOLE_PATH}/logout`, { schema: { hide: true } }, async (request, reply) => {
    const refusal = crossSiteRefusal(request, ctx.config.publicUrl);
    if (refusal) return reply.status(403).send({ error: { code: 'cross_site_request', message: refusal } });
    await sessions.close(sessionIdOf(request));
    reply.header('Set-Cookie', clearedSessionCookie(request));
    return reply.redirect(`${CONSOLE_PATH}/login`, 303);
  });

  const shell = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!(await signedIn(request))) {
      const path = request.url.length <= 500 ? request.url : CONSOLE_PATH;
      return reply.redirect(`${CONSOLE_PATH}/login?next=${encodeURIComponent(safeNext(path))}`, 303);
    }
    return page(reply, 200, shellPage({
      displayCurrency: ctx.config.displayCurrency,
      publicBase: publicBase(request, ctx.config.publicUrl),
      bullBoard: ctx.pulls ? BULL_BOARD_PATH : null,
      version: VERSION,
    }));
  };
  app.get(CONSOLE_PATH, { schema: { hide: true } }, shell);
  app.get(`${CONSOLE_PATH}/*`, { schema: { hide: true } }, shell);
}
