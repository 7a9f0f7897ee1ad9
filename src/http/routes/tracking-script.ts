import type { FastifyInstance } from 'fastify';
import { CONVERSION_SCRIPT } from '../conversion-script';

/** GET /cf/script.js — the conversion script. */
export async function scriptRoutes(app: FastifyInstance): Promise<void> {
  app.get('/cf/script.js', { schema: { hide: true } }, async (_request, reply) =>
    reply.header('Content-Type', 'application/javascript; charset=utf-8').header('Cache-Control', 'public, max-age=3600').send(CONVERSION_SCRIPT),
  );
}
