import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * preHandler for the admin API and Bull Board: `Authorization: Bearer <ADMIN_TOKEN>`, or HTTP
 * Basic with the token as password (any user name) so that a browser can open the dashboard.
 */
export function requireAdmin(adminToken: string, options: { basicRealm?: string } = {}) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization ?? '';
    const bearer = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
    if (bearer !== undefined && sameSecret(bearer, adminToken)) return;
    const basic = /^Basic\s+(.+)$/i.exec(header)?.[1];
    if (basic !== undefined) {
      const decoded = Buffer.from(basic, 'base64').toString('utf8');
      const password = decoded.slice(decoded.indexOf(':') + 1);
      if (sameSecret(password, adminToken)) return;
    }
    if (options.basicRealm) reply.header('WWW-Authenticate', `Basic realm="${options.basicRealm}"`);
    await reply.status(401).send({
      error: { code: 'unauthorized', message: header ? 'the admin token is wrong' : 'send Authorization: Bearer <ADMIN_TOKEN> (printed by `tally serve` on first start, or set ADMIN_TOKEN)' },
    });
  };
}
