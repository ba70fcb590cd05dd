// A store's list-and-watch loop for in-process consumers (controllers, the garbage collector): every
// change as it happens, resumed from the last resourceVersion seen, started over from the current state
// when that revision is too old, retried after a failure, until the signal aborts.

import type { KubeObject } from '../apis/meta/types.js';
import type { Logger } from '../observability/logger.js';
import type { ResourceStore } from './store.js';

export type StoreEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/**
 * Calls `onEvent` for each change of `store`'s objects. After a restart from the current state, the
 * objects come again as ADDED (deletions in between are not replayed): handlers must be idempotent.
 */
export async function watchStore(store: ResourceStore, onEvent: (type: StoreEventType, obj: KubeObject) => void, signal: AbortSignal, log: Logger, from?: string): Promise<void> {
  let resourceVersion: string | undefined = from; // a list's resourceVersion: only what changed after it
  while (!signal.aborted) {
    try {
      const events = await store.watch(undefined, { resourceVersion, allowWatchBookmarks: true }, signal);
      for await (const ev of events) {
        if (ev.type === 'ERROR') {
          resourceVersion = undefined; // too old: start again from the current state
          break;
        }
        const obj = ev.object as KubeObject;
        resourceVersion = obj.metadata.resourceVersion;
        if (ev.type !== 'BOOKMARK') onEvent(ev.type, obj);
      }
    } catch (e) {
      if (signal.aborted) return;
      log.error('watch failed; restarting', { err: e, resource: store.def.plural });
      resourceVersion = undefined;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/**
 * Stores followed from the current state on: each `follow` lists the store first (its objects come to
 * `onEvent` as ADDED before `follow` resolves, so a caller's cache is complete when it starts serving),
 * then watches from that list's resourceVersion until `stop`.
 */
export class StoreFollowers {
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly log: Logger) {}

  async follow(store: ResourceStore, onEvent: (type: StoreEventType, obj: KubeObject) => void): Promise<void> {
    const list = await store.list(undefined, {});
    for (const obj of list.items) onEvent('ADDED', obj);
    this.loops.push(watchStore(store, onEvent, this.abort.signal, this.log, list.metadata.resourceVersion));
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops);
  }
}
