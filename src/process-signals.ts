import type { Logger } from './log.js';

/** Total time a graceful shutdown may take before the process exits anyway. */
export const SHUTDOWN_DEADLINE_MS = 10_000;

/**
 * Wires SIGINT/SIGTERM to one graceful shutdown (run once, however many signals arrive) with a hard deadline, and
 * logs unhandled rejections instead of dying on them. Returns the shutdown function for other triggers (stdin end).
 */
export function handleShutdown(log: Logger, close: () => Promise<void>): (reason: string, code?: number) => Promise<void> {
  let stopping = false;
  const shutdown = async (reason: string, code = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'shutting down');
    const hard = setTimeout(() => {
      log.error({}, 'shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    hard.unref();
    try {
      await close();
    } finally {
      log.info({}, 'stopped');
      log.flush?.();
      process.exit(code);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  return shutdown;
}
