// The KubeReader of the local cluster's own stores: the admission plugins and informers written for a
// host cluster (namespace lifecycle, webhook configurations) read the local cluster in process, through
// the same paths they would GET over HTTP, with no request leaving the server.

import { StatusError } from '../apis/meta/errors.js';
import type { ResourceStores } from '../registry/resource-stores.js';
import type { ResourceStore } from '../registry/store.js';
import { KubeApiError, type KubeReader, type WatchEvent } from '../kube/informer.js';

interface Target {
  store: ResourceStore;
  namespace?: string;
  name?: string;
}

export class LocalKubeReader implements KubeReader {
  constructor(private readonly stores: ResourceStores) {}

  /** `/api/v1/namespaces[/NAME]`, `/apis/G/V[/namespaces/NS]/PLURAL[/NAME]`. */
  private target(path: string): Target {
    const segs = path.split('?')[0].split('/').filter(Boolean).map(decodeURIComponent);
    let group = '';
    let rest: string[];
    let version: string;
    if (segs[0] === 'api') [version, ...rest] = segs.slice(1);
    else if (segs[0] === 'apis') [group, version, ...rest] = segs.slice(1);
    else throw new KubeApiError(404, `no resource at ${path}`);
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const store = this.stores.get(group, version ?? '', rest[0] ?? '');
    if (!store || rest.length > 2) throw new KubeApiError(404, `no resource at ${path}`);
    return { store, namespace, name: rest[1] };
  }

  async get<T>(path: string): Promise<T> {
    const t = this.target(path);
    try {
      if (t.name !== undefined) return (await t.store.get(t.namespace ?? '', t.name)) as T;
      return (await t.store.list(t.namespace, {})) as T;
    } catch (e) {
      if (e instanceof StatusError) throw new KubeApiError(e.code, e.message, e.toStatus());
      throw e;
    }
  }

  async *watch<T>(path: string, query: Record<string, string>, signal: AbortSignal): AsyncGenerator<WatchEvent<T>> {
    const t = this.target(path);
    const events = await t.store.watch(t.namespace, { resourceVersion: query.resourceVersion || undefined, allowWatchBookmarks: query.allowWatchBookmarks === 'true' }, signal);
    const timeout = Number(query.timeoutSeconds);
    const deadline = timeout > 0 ? Date.now() + timeout * 1000 : Infinity;
    for await (const ev of events) {
      yield ev as WatchEvent<T>;
      if (Date.now() > deadline) return;
    }
  }
}
