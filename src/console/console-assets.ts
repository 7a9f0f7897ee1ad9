import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

export const ASSETS_PATH = '/console/assets';

/** The repository (or installed package) root: the nearest folder above this file with package.json. */
export function packageRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find package.json above the console code');
    dir = parent;
  }
  return dir;
}

/** The console's own scripts and styles: plain ES modules, served as they are (no build step). */
export const CONSOLE_STATIC_DIR = join(packageRoot(), 'src', 'console', 'static');

/** Libraries the browser loads, from node_modules: never from a CDN. */
const VENDOR: Readonly<Record<string, { file: string; type: string }>> = {
  'preact.mjs': { file: require.resolve('preact'), type: 'text/javascript' },
  'hooks.mjs': { file: require.resolve('preact/hooks'), type: 'text/javascript' },
  'htm.mjs': { file: join(dirname(require.resolve('htm')), 'htm.mjs'), type: 'text/javascript' },
  'chart.umd.min.js': { file: join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), type: 'text/javascript' },
};

/** The import map that lets the console's modules import `preact`, `preact/hooks` and `htm` by name. */
export const IMPORT_MAP = JSON.stringify({
  imports: { preact: `${ASSETS_PATH}/vendor/preact.mjs`, 'preact/hooks': `${ASSETS_PATH}/vendor/hooks.mjs`, htm: `${ASSETS_PATH}/vendor/htm.mjs` },
});

/** CSP source for the inline import map: its hash, so no other inline script can run. */
export const IMPORT_MAP_CSP = `'sha256-${createHash('sha256').update(IMPORT_MAP).digest('base64')}'`;

/**
 * Serves the console's static files (public: they hold no data) and the vendor libraries, read
 * once at start. Both revalidate by ETag, so an upgrade is picked up at the next load.
 */
export async function consoleAssets(app: FastifyInstance): Promise<void> {
  const vendor = new Map(
    Object.entries(VENDOR).map(([name, { file, type }]) => {
      const body = readFileSync(file);
      return [name, { body, type, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"` }];
    }),
  );
  app.get(`${ASSETS_PATH}/vendor/:name`, { schema: { hide: true } }, async (request, reply) => {
    const asset = vendor.get((request.params as { name: string }).name);
    if (!asset) return reply.status(404).send({ error: { code: 'not_found', message: 'no such console asset' } });
    reply.header('Cache-Control', 'no-cache').header('ETag', asset.etag).header('X-Content-Type-Options', 'nosniff');
    if (request.headers['if-none-match'] === asset.etag) return reply.status(304).send();
    return reply.type(asset.type).send(asset.body);
  });
  await app.register(fastifyStatic, {
    root: CONSOLE_STATIC_DIR,
    prefix: `${ASSETS_PATH}/`,
    decorateReply: false,
    cacheControl: true,
    maxAge: 0,
    setHeaders: (response) => response.header('X-Content-Type-Options', 'nosniff'),
  });
}
