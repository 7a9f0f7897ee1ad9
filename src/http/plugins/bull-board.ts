import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import type { Queues } from '../../../jobs/queues';
import type { TallyConfig } from '../../config/config';
import { requireAdmin, type AdminAuthOptions } from './admin-auth';

export const BULL_BOARD_PATH = '/admin/queues';

/** Bull Board for the pull and backfill queues, behind the admin token (Bearer, Basic for browsers, or the console's session), same-origin for changes. */
export async function registerBullBoard(
  app: FastifyInstance,
  queues: Queues,
  config: Pick<TallyConfig, 'adminToken' | 'publicUrl'>,
  session?: AdminAuthOptions['session'],
): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: [new BullMQAdapter(queues.pull), new BullMQAdapter(queues.backfill), new BullMQAdapter(queues.maintenance)],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Tally queues' } },
  });
  await app.register(async (scope) => {
    // Same-origin checks included: a browser replays cached Basic credentials on cross-site requests.
    scope.addHook('onRequest', requireAdmin(config.adminToken, { basicRealm: 'Tally', publicUrl: config.publicUrl, ...(session ? { session } : {}) }));
    scope.addHook('onSend', async (_request, reply) => {
      reply.header('Cache-Control', 'no-store');
    });
    await scope.register(serverAdapter.registerPlugin() as Parameters<typeof scope.register>[0], { prefix: BULL_BOARD_PATH });
  });
}
