import { WatcherOverflowError } from '../errors.js';
import type { Revision, WatchEvent } from '../types.js';

/** The live events of one watcher, buffered between the writer that pushes and the consumer that pulls. */
export class WatchQueue {
  #events: WatchEvent[] = [];
  #wake: (() => void) | undefined;
  error: Error | undefined;
  ended = false;
  /** False while history is replayed: a progress event then would claim revisions not yet sent. */
  live = false;
  lastPush = Date.now();

  constructor(
    readonly prefix: string,
    /** Events at or below this revision are not wanted (the watch asked for later ones). */
    readonly after: Revision,
    readonly limit: number,
  ) {}

  get buffered(): number {
    return this.#events.length;
  }

  push(event: WatchEvent): void {
    if (this.ended) return;
    if (this.#events.length >= this.limit) {
      this.fail(new WatcherOverflowError(this.limit));
      return;
    }
    this.#events.push(event);
    this.lastPush = Date.now();
    this.#notify();
  }

  fail(error: Error): void {
    this.error = error;
    this.#events = [];
    this.end();
  }

  end(): void {
    this.ended = true;
    this.#notify();
  }

  /** Everything buffered so far, waiting for the next event (or the end) when nothing is. */
  async take(): Promise<WatchEvent[]> {
    if (this.#events.length === 0 && !this.ended) {
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
    const batch = this.#events;
    this.#events = [];
    return batch;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
