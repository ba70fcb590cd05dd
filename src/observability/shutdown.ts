// Graceful stop on SIGTERM/SIGINT, as both commands (`npm start`, `npm run cluster`) do it: the first
// signal runs `close` once, a hung close is cut off after 10 s with exit status 1.

import type { Logger } from './logger.js';

export function stopOnSignals(log: Logger, close: () => Promise<void>, forceAfterMs = 10_000): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    const force = setTimeout(() => process.exit(1), forceAfterMs).unref();
    await close();
    clearTimeout(force);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
