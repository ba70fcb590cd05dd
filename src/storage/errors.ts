import { StorageError } from './types.js';

/**
 * A watcher's consumer fell so far behind that its buffer filled up; the storage ended the watch
 * rather than block writers or grow memory. The client re-watches from the last revision it saw.
 */
export class WatcherOverflowError extends StorageError {
  constructor(readonly limit: number) {
    super(`watcher fell more than ${limit} events behind and was closed`);
  }
}
