// kube's ownerReference garbage collector, over every store this process serves: an object whose
// owners are all gone is deleted (Background cascade), an owner deleted with propagationPolicy
// Foreground keeps its `foregroundDeletion` finalizer until the dependents that block it are gone, one
// deleted with Orphan has the references to it removed from its dependents, then its `orphan`
// finalizer. Owners are found by uid, as kube does; a reference to an owner that no longer exists
// while other owners remain is removed ("dangling").

import type { KubeObject, OwnerReference } from '../../apis/meta/types.js';
import { StatusError } from '../../apis/meta/errors.js';
import type { Logger } from '../../observability/logger.js';
import type { ResourceStores } from '../../registry/resource-stores.js';
import { FOREGROUND_FINALIZER, ORPHAN_FINALIZER, type ResourceStore, type WriteContext } from '../../registry/store.js';
import { watchStore, type StoreEventType } from '../../registry/watch-store.js';
import { WorkQueue } from '../runtime/queue.js';

interface Entry {
  store: ResourceStore;
  namespace: string;
  name: string;
  owners: OwnerReference[];
  deleting: boolean;
  finalizers: string[];
}

const GC_USER = { name: 'system:serviceaccount:kube-system:generic-garbage-collector', groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] };

export class GarbageCollector {
  private readonly objects = new Map<string, Entry>();
  /** owner uid → uids of the objects that name it. */
  private readonly dependents = new Map<string, Set<string>>();
  private readonly queue = new WorkQueue({ baseDelayMs: 200, maxDelayMs: 30_000 });
  private readonly stopping = new AbortController();
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly stores: ResourceStores,
    private readonly log: Logger,
  ) {}

  /** One per watched store: aborted when the store stops being served. */
  private readonly watches = new Map<ResourceStore, { abort: AbortController; done: Promise<void> }>();
  private unsubscribe: (() => void) | undefined;

  /** Lists every store, then follows their changes (and stores added later); returns once the first lists are in. */
  async start(): Promise<void> {
    const from = new Map<ResourceStore, string>();
    for (const store of this.stores.values()) from.set(store, await this.load(store, false));
    for (const uid of this.objects.keys()) this.queue.add(uid); // dangling owners, deletions left half-done
    for (const [store, rv] of from) this.follow(store, rv);
    this.unsubscribe = this.stores.onChange((c) => {
      if (c.type === 'added') void this.load(c.store, true).then((rv) => this.follow(c.store, rv), (e) => this.log.error('listing a new resource failed', { err: e, resource: c.store.def.plural }));
      else {
        const w = this.watches.get(c.store);
        w?.abort.abort();
        this.watches.delete(c.store);
      }
    });
    this.running = Promise.all(Array.from({ length: 2 }, () => this.worker()));
  }

  /** Indexes a store's objects; returns the revision its watch starts after. */
  private async load(store: ResourceStore, live: boolean): Promise<string> {
    const list = await store.list(undefined, {});
    for (const obj of list.items) this.observe('ADDED', obj, store, live);
    return list.metadata.resourceVersion!;
  }

  private follow(store: ResourceStore, from: string): void {
    const abort = new AbortController();
    const signal = AbortSignal.any([abort.signal, this.stopping.signal]);
    this.watches.set(store, { abort, done: watchStore(store, (type, obj) => this.observe(type, obj, store, true), signal, this.log, from) });
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.stopping.abort();
    this.queue.shutdown();
    await Promise.all([this.running, ...[...this.watches.values()].map((w) => w.done)]);
  }

  private observe(type: StoreEventType, obj: KubeObject, store: ResourceStore, live: boolean): void {
    const uid = obj.metadata.uid;
    if (!uid) return;
    const before = this.objects.get(uid);
    for (const ref of before?.owners ?? []) this.dependents.get(ref.uid)?.delete(uid);
    if (type === 'DELETED') {
      this.objects.delete(uid);
      // Its dependents may now have no owner left; its owners may be waiting for it (foreground).
      for (const d of this.dependents.get(uid) ?? []) this.queue.add(d);
      for (const ref of before?.owners ?? []) this.queue.add(ref.uid);
      return;
    }
    const entry: Entry = {
      store,
      namespace: obj.metadata.namespace ?? '',
      name: obj.metadata.name!,
      owners: (obj.metadata.ownerReferences ?? []).filter((r) => typeof r?.uid === 'string'),
      deleting: !!obj.metadata.deletionTimestamp,
      finalizers: obj.metadata.finalizers ?? [],
    };
    this.objects.set(uid, entry);
    for (const ref of entry.owners) {
      let set = this.dependents.get(ref.uid);
      if (!set) this.dependents.set(ref.uid, (set = new Set()));
      set.add(uid);
    }
    if (!live) return;
    if (entry.deleting && (entry.finalizers.includes(ORPHAN_FINALIZER) || entry.finalizers.includes(FOREGROUND_FINALIZER))) this.queue.add(uid);
    if (entry.owners.some((r) => !this.objects.has(r.uid) || this.objects.get(r.uid)!.deleting)) this.queue.add(uid);
  }

  private async worker(): Promise<void> {
    for (;;) {
      const uid = await this.queue.get();
      if (uid === undefined) return;
      try {
        await this.process(uid);
        this.queue.forget(uid);
      } catch (e) {
        if (!this.stopping.signal.aborted) {
          if (!(e instanceof StatusError && e.code === 409)) this.log.warn('garbage collection failed; retrying', { err: e, uid });
          this.queue.addRateLimited(uid);
        }
      } finally {
        this.queue.done(uid);
      }
    }
  }

  private ctx(): WriteContext {
    return { dryRun: false, fieldManager: 'garbage-collector', fieldValidation: 'Ignore', warnings: [], user: GC_USER };
  }

  private async process(uid: string): Promise<void> {
    const e = this.objects.get(uid);
    if (!e) return;
    if (e.deleting && e.finalizers.includes(ORPHAN_FINALIZER)) return this.orphanDependents(uid, e);
    if (e.deleting && e.finalizers.includes(FOREGROUND_FINALIZER)) return this.deleteDependentsFirst(uid, e);
    if (e.owners.length) return this.checkOwners(e);
  }

  /** Orphan: the references to `uid` leave its dependents, then the owner's `orphan` finalizer goes. */
  private async orphanDependents(uid: string, e: Entry): Promise<void> {
    for (const d of [...(this.dependents.get(uid) ?? [])]) {
      const dep = this.objects.get(d);
      if (dep) await this.setOwners(dep, dep.owners.filter((r) => r.uid !== uid));
    }
    await this.removeFinalizer(e, ORPHAN_FINALIZER);
  }

  /** Foreground: the dependents are deleted (in foreground too); the owner goes when none blocks it. */
  private async deleteDependentsFirst(uid: string, e: Entry): Promise<void> {
    let blocked = false;
    for (const d of [...(this.dependents.get(uid) ?? [])]) {
      const dep = this.objects.get(d);
      if (!dep) continue;
      if (dep.owners.find((r) => r.uid === uid)?.blockOwnerDeletion) blocked = true;
      if (!dep.deleting) await this.deleteObject(dep, 'Foreground');
    }
    // Dependents still there re-queue the owner when they are gone (observe, DELETED).
    if (!blocked) await this.removeFinalizer(e, FOREGROUND_FINALIZER);
  }

  /** An object whose owners are all gone is deleted; references to gone owners beside live ones are dropped. */
  private async checkOwners(e: Entry): Promise<void> {
    const gone: string[] = [];
    for (const ref of e.owners) if (!(this.objects.get(ref.uid) ?? (await this.lookUp(ref, e.namespace)))) gone.push(ref.uid);
    if (gone.length === 0) return;
    if (gone.length === e.owners.length) return this.deleteObject(e, 'Background');
    await this.setOwners(e, e.owners.filter((r) => !gone.includes(r.uid)));
  }

  /** The owner `ref` names, read from its store when the index has not seen it (yet); undefined when gone. */
  private async lookUp(ref: OwnerReference, namespace: string): Promise<Entry | undefined> {
    const [group, version] = ref.apiVersion.includes('/') ? ref.apiVersion.split('/') : ['', ref.apiVersion];
    const store = [...this.stores.values()].find((s) => s.def.group === group && s.def.version === version && s.def.kind === ref.kind);
    if (!store) return undefined; // a kind this server does not serve cannot be an owner here
    try {
      const obj = await store.get(store.def.namespaced ? namespace : '', ref.name);
      if (obj.metadata.uid !== ref.uid) return undefined;
      return { store, namespace: obj.metadata.namespace ?? '', name: ref.name, owners: obj.metadata.ownerReferences ?? [], deleting: !!obj.metadata.deletionTimestamp, finalizers: obj.metadata.finalizers ?? [] };
    } catch (err) {
      if (err instanceof StatusError && err.code === 404) return undefined;
      throw err;
    }
  }

  private async deleteObject(e: Entry, propagationPolicy: 'Background' | 'Foreground'): Promise<void> {
    try {
      await e.store.delete(e.namespace, e.name, { propagationPolicy }, this.ctx());
      this.log.info('garbage-collected', { kind: e.store.def.kind, namespace: e.namespace || undefined, name: e.name, propagationPolicy });
    } catch (err) {
      if (!(err instanceof StatusError && err.code === 404)) throw err;
    }
  }

  private async setOwners(e: Entry, owners: OwnerReference[]): Promise<void> {
    await this.patchMetadata(e, { ownerReferences: owners.length ? owners : null });
  }

  private async removeFinalizer(e: Entry, finalizer: string): Promise<void> {
    await this.patchMetadata(e, { finalizers: e.finalizers.filter((f) => f !== finalizer) });
  }

  private async patchMetadata(e: Entry, metadata: Record<string, unknown>): Promise<void> {
    try {
      await e.store.patch(e.namespace, e.name, 'merge', { metadata }, this.ctx());
    } catch (err) {
      if (!(err instanceof StatusError && err.code === 404)) throw err;
    }
  }
}
