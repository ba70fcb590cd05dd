// A cache of one collection of the host kube-apiserver (cluster-scoped, or one namespace's), kept
// current the way client-go's reflector does: list, then watch from the list's resourceVersion; a
// dropped watch resumes from the last resourceVersion seen, a 410 Gone lists again, other failures
// back off.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Status } from '../apis/meta/types.js';
import type { Logger } from '../observability/logger.js';
import type { KubeClient, WatchEvent } from './client.js';
import { KubeError as KubeApiError } from './client-errors.js';

/** A non-2xx answer of kube-apiserver (`status` is its metav1.Status when it sent one): the client's KubeError. */
export { KubeApiError };
export type { WatchEvent } from './client.js';

/** What an Informer reads through: a cluster over HTTP (KubeApi), or the local cluster's stores in process. */
export interface KubeReader {
  get<T>(path: string, signal?: AbortSignal): Promise<T>;
  watch<T>(path: string, query: Record<string, string>, signal: AbortSignal, idleMs: number): AsyncGenerator<WatchEvent<T>>;
}

/** GET and watch against the cluster a KubeClient names, with its credentials on every request. */
export class KubeApi implements KubeReader {
  constructor(readonly client: KubeClient) {}

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.client.getPath<T>(path, signal);
  }

  /**
   * The watch stream of `path` (JSON lines), until the server ends it, `signal` aborts, or nothing
   * arrives for `idleMs` (a connection that died without a word).
   */
  watch<T>(path: string, query: Record<string, string>, signal: AbortSignal, idleMs: number): AsyncGenerator<WatchEvent<T>> {
    return this.client.watch<T>(path, query, signal, idleMs);
  }
}

interface Named {
  metadata?: { name?: string; resourceVersion?: string };
}

/** Something fed by a watch: started and stopped with the server, ready once its first list landed. */
export interface Syncable {
  start(): void;
  stop(): Promise<void>;
  readonly hasSynced: boolean;
  waitForSync(ms: number): Promise<boolean>;
}

export interface InformerOptions<T = unknown> {
  log?: Logger;
  /** First and longest wait between failed attempts. */
  backoff?: { baseMs: number; maxMs: number };
  /** Sent with the list and every watch (a `fieldSelector` narrowing the collection to one object). */
  query?: Record<string, string>;
  /**
   * What the caller has already read (one GET), at its resourceVersion: the informer starts by
   * watching from there instead of listing, so nothing that changes after that read is missed.
   */
  initial?: { items: T[]; resourceVersion: string };
  /** Told of each change: a watch event, or a difference a (re)list found from what was held. */
  onChange?: (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T) => void;
}

/** Keeps every object of a collection (`/api/v1/namespaces`, one namespace's ConfigMaps, …) in memory, by name. */
export class Informer<T extends Named> implements Syncable {
  private items = new Map<string, T>();
  private resourceVersion = '';
  private synced = false;
  private syncWaiters = new Set<() => void>();
  private abort?: AbortController;
  private loop?: Promise<void>;

  constructor(
    private readonly api: KubeReader,
    readonly path: string,
    private readonly o: InformerOptions<T> = {},
  ) {
    if (o.initial?.resourceVersion) {
      this.items = new Map(o.initial.items.map((i) => [i.metadata?.name ?? '', i]));
      this.resourceVersion = o.initial.resourceVersion;
      this.synced = true;
    }
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  get(name: string): T | undefined {
    return this.items.get(name);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  /** Starts listing and watching; calling it again while running does nothing. */
  start(): void {
    if (this.loop) return;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.loop;
    this.loop = undefined;
    this.abort = undefined;
  }

  /** Resolves true once the first list has landed, false if `ms` pass first. */
  async waitForSync(ms: number): Promise<boolean> {
    if (this.synced) return true;
    let done!: () => void;
    const synced = new Promise<void>((r) => (done = r));
    this.syncWaiters.add(done);
    const timer = new Promise<void>((r) => setTimeout(r, ms).unref());
    await Promise.race([synced, timer]);
    this.syncWaiters.delete(done);
    return this.synced;
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const query = this.o.query && new URLSearchParams(this.o.query).toString();
    const list = await this.api.get<{ metadata?: { resourceVersion?: string }; items?: T[] }>(query ? `${this.path}?${query}` : this.path, signal);
    const before = this.items;
    this.items = new Map((list.items ?? []).map((o) => [o.metadata?.name ?? '', o]));
    const tell = this.o.onChange;
    if (tell) {
      for (const [name, obj] of this.items) {
        const old = before.get(name);
        if (!old) tell('ADDED', obj);
        else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) tell('MODIFIED', obj);
      }
      for (const [name, obj] of before) if (!this.items.has(name)) tell('DELETED', obj);
    }
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
    this.synced = true;
    for (const w of this.syncWaiters) w();
  }

  private apply(ev: WatchEvent<T>): void {
    if (ev.type === 'ERROR') {
      const st = ev.object as Status;
      if (st.code === 410) this.resourceVersion = ''; // history compacted: list again
      throw new KubeApiError(st.code ?? 500, st.message ?? 'watch error', st);
    }
    const obj = ev.object as T;
    const name = obj.metadata?.name ?? '';
    if (ev.type === 'ADDED' || ev.type === 'MODIFIED') this.items.set(name, obj);
    else if (ev.type === 'DELETED') this.items.delete(name);
    if (obj.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
    if (ev.type !== 'BOOKMARK') this.o.onChange?.(ev.type, obj);
  }

  private async run(signal: AbortSignal): Promise<void> {
    const { baseMs, maxMs } = this.o.backoff ?? { baseMs: 800, maxMs: 30_000 };
    let failures = 0;
    while (!signal.aborted) {
      const started = Date.now();
      try {
        if (!this.resourceVersion) await this.relist(signal);
        // Like client-go: the server ends each watch after 5–10 minutes, spreading reconnects.
        const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
        const query = { ...this.o.query, resourceVersion: this.resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) };
        for await (const ev of this.api.watch<T>(this.path, query, signal, (timeoutSeconds + 60) * 1000)) {
          this.apply(ev);
          failures = 0;
        }
        // A watch the server closes at once, again and again, must not become a busy loop.
        if (Date.now() - started < 1000) throw new Error('watch closed immediately');
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof KubeApiError && e.code === 410) {
          this.resourceVersion = '';
          continue;
        }
        const delay = Math.min(maxMs, baseMs * 2 ** failures++);
        this.o.log?.warn('list/watch failed, retrying', { path: this.path, err: (e as Error).message, retryInMs: delay });
        try {
          await sleep(delay, undefined, { signal });
        } catch {
          return; // stopped
        }
      }
    }
  }
}
