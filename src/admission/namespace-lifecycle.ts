// kube-apiserver's NamespaceLifecycle plugin for this API's objects, which live in the cluster's
// namespaces but not in its etcd: no creates in a namespace that does not exist or is being
// terminated. The namespaces come from a watched cache, with a live GET when the cache has not seen
// a namespace yet (one created a moment ago).

import { setTimeout as sleep } from 'node:timers/promises';
import { forbidden, internalError, StatusError } from '../apis/meta/errors.js';
import type { Logger } from '../observability/logger.js';
import { Informer, KubeApiError, type KubeReader, type Syncable } from '../kube/informer.js';
import type { AdmissionAttributes } from './types.js';

/** core/v1 Namespace, the fields admission reads. */
export interface Namespace {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string; resourceVersion?: string };
  status?: { phase?: string };
}

/** How long kube-apiserver's plugins wait for their caches before refusing a request. */
export const READY_TIMEOUT_MS = 10_000;

/** Namespaces by name, for the plugins that need their phase or labels. */
export type NamespaceSource = Syncable & { lookup(name: string): Promise<Namespace | undefined> };

/** The cluster's namespaces: a watched cache plus a live lookup for names it has not seen. */
export class NamespaceCache implements NamespaceSource {
  private readonly informer: Informer<Namespace>;

  constructor(
    private readonly api: KubeReader,
    o: { log?: Logger } = {},
  ) {
    this.informer = new Informer<Namespace>(api, '/api/v1/namespaces', o);
  }

  start(): void {
    this.informer.start();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  get hasSynced(): boolean {
    return this.informer.hasSynced;
  }

  waitForSync(ms: number): Promise<boolean> {
    return this.informer.waitForSync(ms);
  }

  cached(name: string): Namespace | undefined {
    return this.informer.get(name);
  }

  /** GET from kube-apiserver; undefined when it answers 404. */
  async live(name: string): Promise<Namespace | undefined> {
    try {
      return await this.api.get<Namespace>(`/api/v1/namespaces/${encodeURIComponent(name)}`);
    } catch (e) {
      if (e instanceof KubeApiError && e.code === 404) return undefined;
      throw e;
    }
  }

  async lookup(name: string): Promise<Namespace | undefined> {
    return this.cached(name) ?? (await this.live(name));
  }
}

export const namespaceNotFound = (name: string) => new StatusError(404, 'NotFound', `namespaces "${name}" not found`, { name, kind: 'namespaces' });

/** admission.NewForbidden: `<resource>.<group> "<name>" is forbidden: <why>`. */
export function admissionForbidden(a: AdmissionAttributes, why: string, causes?: { reason: string; message: string; field: string }[]): StatusError {
  const { group, resource } = a.resource;
  const name = a.name || 'Unknown';
  return forbidden(`${group ? `${resource}.${group}` : resource} "${name}" is forbidden: ${why}`, { name, group, kind: resource, ...(causes ? { causes } : {}) });
}

export const isTerminating = (ns: Namespace) => ns.status?.phase === 'Terminating' || !!ns.metadata.deletionTimestamp;

export interface NamespaceLifecycleOptions {
  /** How long a create waits for the cache to see a namespace it misses (kube: 50 ms). */
  missingWaitMs?: number;
  readyTimeoutMs?: number;
}

export class NamespaceLifecycle {
  constructor(
    readonly namespaces: NamespaceCache,
    private readonly o: NamespaceLifecycleOptions = {},
  ) {}

  start(): void {
    this.namespaces.start();
  }

  stop(): Promise<void> {
    return this.namespaces.stop();
  }

  get hasSynced(): boolean {
    return this.namespaces.hasSynced;
  }

  /** Throws the StatusError kube-apiserver would answer with; returns when the request may go on. */
  async admit(a: AdmissionAttributes): Promise<void> {
    // Deletes and updates are allowed anywhere, so that a terminating namespace can be emptied.
    if (a.operation === 'DELETE' || !a.namespace) return;
    if (!(await this.namespaces.waitForSync(this.o.readyTimeoutMs ?? READY_TIMEOUT_MS))) throw admissionForbidden(a, 'not yet ready to handle request');
    let ns = this.namespaces.cached(a.namespace);
    if (!ns && a.operation === 'CREATE') {
      // Give the watch a moment to deliver a namespace created just before this object.
      await sleep(this.o.missingWaitMs ?? 50);
      ns = this.namespaces.cached(a.namespace);
    }
    if (!ns) {
      try {
        ns = await this.namespaces.live(a.namespace);
      } catch (e) {
        throw internalError((e as Error).message);
      }
      if (!ns) throw namespaceNotFound(a.namespace);
    }
    if (a.operation === 'CREATE' && isTerminating(ns)) {
      throw admissionForbidden(a, `unable to create new content in namespace ${a.namespace} because it is being terminated`, [
        { reason: 'NamespaceTerminating', message: `namespace ${a.namespace} is being terminated`, field: 'metadata.namespace' },
      ]);
    }
  }
}
