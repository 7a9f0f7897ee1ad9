import type { Logger } from '../log/logger';

/**
 * Resolves after SIGINT/SIGTERM once `stop` has finished; a second signal, or `stop` taking longer
 * than the grace period, exits at once.
 */
export function onShutdown(logger: Logger, stop: () => Promise<void>, graceMs = 30_000): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const handler = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down: finishing in-flight work');
      const timer = setTimeout(() => {
        logger.error('graceful shutdown took too long; exiting');
        process.exit(1);
      }, graceMs);
      timer.unref();
      stop()
        .then(() => {
          clearTimeout(timer);
          resolve();
        })
        .catch((error: unknown) => {
          logger.error({ err: error }, 'error during shutdown');
          process.exitCode = 1;
          resolve();
        });
    };
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
  });
}
