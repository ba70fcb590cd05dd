// A cache of one cluster-scoped collection of the host kube-apiserver, kept current the way
// client-go's reflector does: list, then watch from the list's resourceVersion; a dropped watch
// resumes from the last resourceVersion seen, a 410 Gone lists again, other failures back off.

import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as k8s from '@kubernetes/client-node';
import type { Status } from '../apis/meta/types.js';
import type { Logger } from '../observability/logger.js';

/** A non-2xx answer of kube-apiserver; `status` is its metav1.Status when it sent one. */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly status?: Status,
  ) {
    super(message);
  }
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T | Status;
}

const REQUEST_TIMEOUT_MS = 30_000;

/** What an Informer reads through: a cluster over HTTP (KubeApi), or the local cluster's stores in process. */
export interface KubeReader {
  get<T>(path: string, signal?: AbortSignal): Promise<T>;
  watch<T>(path: string, query: Record<string, string>, signal: AbortSignal, idleMs: number): AsyncGenerator<WatchEvent<T>>;
}

/** GET and watch against the cluster named by a KubeConfig, with its credentials on every request. */
export class KubeApi implements KubeReader {
  constructor(private readonly kc: k8s.KubeConfig) {}

  private async open(path: string, query: Record<string, string>, signal?: AbortSignal): Promise<http.IncomingMessage> {
    const server = this.kc.getCurrentCluster()?.server;
    if (!server) throw new Error('kubeconfig has no current cluster');
    const url = new URL(server.replace(/\/+$/, '') + path);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    // Applied per request: an in-cluster token file is re-read as it rotates.
    const opts: https.RequestOptions = { headers: { Accept: 'application/json' } };
    await this.kc.applyToHTTPSOptions(opts);
    const mod = url.protocol === 'http:' ? http : https;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { ...opts, method: 'GET', signal }, (res) => {
        if (res.statusCode === 200) return resolve(res);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let status: Status | undefined;
          try {
            const parsed = JSON.parse(text) as Status;
            if (parsed?.kind === 'Status') status = parsed;
          } catch {
            // not a Status: the text is the message
          }
          reject(new KubeApiError(res.statusCode ?? 0, status?.message ?? `GET ${url.pathname}: ${res.statusCode} ${text.slice(0, 200)}`, status));
        });
      });
      req.on('error', reject);
      req.end();
    });
  }

  async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    const deadline = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    const res = await this.open(path, {}, signal ? AbortSignal.any([signal, deadline]) : deadline);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
  }

  /**
   * The watch stream of `path` (JSON lines), until the server ends it, `signal` aborts, or nothing
   * arrives for `idleMs` (a connection that died without a word).
   */
  async *watch<T>(path: string, query: Record<string, string>, signal: AbortSignal, idleMs: number): AsyncGenerator<WatchEvent<T>> {
    const res = await this.open(path, { ...query, watch: 'true' }, signal);
    const idle = setTimeout(() => res.destroy(new Error(`watch silent for ${idleMs} ms`)), idleMs);
    let buf = '';
    try {
      for await (const chunk of res) {
        idle.refresh();
        buf += (chunk as Buffer).toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line) yield JSON.parse(line) as WatchEvent<T>;
        }
      }
    } finally {
      clearTimeout(idle);
    }
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

export interface InformerOptions {
  log?: Logger;
  /** First and longest wait between failed attempts. */
  backoff?: { baseMs: number; maxMs: number };
}

/** Keeps every object of a cluster-scoped collection (`/api/v1/namespaces`, …) in memory, by name. */
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
    private readonly o: InformerOptions = {},
  ) {}

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
    const list = await this.api.get<{ metadata?: { resourceVersion?: string }; items?: T[] }>(this.path, signal);
    this.items = new Map((list.items ?? []).map((o) => [o.metadata?.name ?? '', o]));
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
        const query = { resourceVersion: this.resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) };
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
