import { SingleBar } from 'cli-progress';
import { backfillView, findBackfill } from '../../jobs/backfill-job';
import type { TallyConfig } from '../config/config';
import { createLogger } from '../log/logger';
import { openPullRuntime } from '../runtime/pull-runtime';
import { openServices } from '../runtime/services';
import { InputError } from '../util/errors';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function validDay(value: string, flag: string): string {
  const parsed = new Date(`${value}T00:00:00Z`);
  if (!DAY.test(value) || Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== value) {
    throw new InputError(`${flag} "${value}" is not a date: use YYYY-MM-DD`);
  }
  return value;
}

/**
 * `tally backfill`: creates the backfill, works it in this process (any running `tally worker`
 * helps), shows progress — a bar on a terminal, plain lines otherwise — and exits with the totals.
 * Ctrl-C leaves the backfill queued: it resumes on the next worker.
 */
export async function runBackfillCommand(config: TallyConfig, options: { connection: string; from: string; to: string }, write: (text: string) => void): Promise<number> {
  const from = validDay(options.from, '--from');
  const to = validDay(options.to, '--to');
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, 'stderr');
  const services = await openServices(config, { poolMax: 4, applicationName: 'tally-backfill' });
  const pulls = await openPullRuntime(config, services, logger);
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const backfill = await pulls.service.startBackfill(options.connection, from, to);
    write(`backfill ${backfill.id}: ${from} … ${to} in ${backfill.chunks_total} chunks\n`);
    await pulls.startWorkers({ queues: ['backfill'], reconcile: false, backfillConcurrency: 1 });
    const tty = process.stdout.isTTY === true;
    const bar = tty ? new SingleBar({ format: 'chunks {bar} {value}/{total} | fetched {fetched} | new {inserted} | updated {updated} | unmatched {unmatched}' }) : undefined;
    bar?.start(backfill.chunks_total, 0, { fetched: 0, inserted: 0, updated: 0, unmatched: 0 });
    let lastLine = '';
    for (;;) {
      const row = await findBackfill(services.db, backfill.id);
      if (!row) throw new Error(`backfill ${backfill.id} disappeared`);
      const view = backfillView(row);
      if (bar) bar.update(view.progress.done, view.stats);
      const line = `chunks ${view.progress.done}/${view.progress.total}, fetched ${view.stats.fetched}, new ${view.stats.inserted}, updated ${view.stats.updated}, unchanged ${view.stats.unchanged}, unmatched ${view.stats.unmatched}, rejected ${view.stats.rejected}`;
      if (!bar && line !== lastLine) write(`${line}\n`);
      lastLine = line;
      if (view.status === 'completed' || view.status === 'failed' || view.status === 'cancelled') {
        bar?.stop();
        write(`backfill ${view.status}: ${line}${view.error ? ` — ${view.error}` : ''}\n`);
        return view.status === 'completed' ? 0 : 1;
      }
      if (interrupted) {
        bar?.stop();
        write(`interrupted: backfill ${backfill.id} stays queued and resumes on the next worker (status: GET /api/v1/backfills/${backfill.id})\n`);
        return 130;
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    // On Ctrl-C, abort the active job instead of waiting for it: it resumes on the next worker.
    await pulls.close(interrupted);
    await services.close();
  }
}
