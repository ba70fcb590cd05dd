// Namespace deletion, as kube-controller-manager's namespace controller does it: a deleted Namespace
// is held (Terminating) by its `kubernetes` spec finalizer while everything in it is deleted; objects
// that finalizers keep are waited for and reported in the namespace's conditions; once the namespace
// is empty the finalizer goes and the namespace with it. New objects are refused meanwhile
// (NamespaceLifecycle admission).

import type { KubeObject } from '../apis/meta/types.js';
import { StatusError } from '../apis/meta/errors.js';
import type { Logger } from '../observability/logger.js';
import { rfc3339 } from '../registry/meta.js';
import type { ResourceStores } from '../registry/resource-stores.js';
import type { ResourceStore, WriteContext } from '../registry/store.js';
import { StoreFollowers } from '../registry/watch-store.js';
import { NAMESPACE_FINALIZER } from './builtin/strategies.js';

interface Condition {
  type: string;
  status: 'True' | 'False';
  lastTransitionTime: string;
  reason: string;
  message: string;
}

const CONDITION_TYPES = ['NamespaceDeletionDiscoveryFailure', 'NamespaceDeletionGroupVersionParsingFailure', 'NamespaceDeletionContentFailure', 'NamespaceContentRemaining', 'NamespaceFinalizersRemaining'];

export class NamespaceController {
  private readonly abort = new AbortController();
  private readonly followers: StoreFollowers;
  private readonly pending = new Set<string>();
  private readonly running = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly stores: ResourceStores,
    private readonly log: Logger,
    private readonly o: { retryMs?: number } = {},
  ) {
    this.followers = new StoreFollowers(log);
  }

  private get namespaces(): ResourceStore {
    return this.stores.get('', 'v1', 'namespaces')!;
  }

  async start(): Promise<void> {
    await this.followers.follow(this.namespaces, (type, ns) => type !== 'DELETED' && this.observe(ns));
  }

  async stop(): Promise<void> {
    this.abort.abort();
    for (const t of this.timers.values()) clearTimeout(t);
    await this.followers.stop();
  }

  private observe(ns: KubeObject): void {
    if (ns.metadata.deletionTimestamp) this.enqueue(ns.metadata.name!);
  }

  private enqueue(name: string): void {
    if (this.running.has(name)) return void this.pending.add(name);
    this.running.add(name);
    void this.sync(name).finally(() => {
      this.running.delete(name);
      if (this.pending.delete(name)) this.enqueue(name);
    });
  }

  private later(name: string): void {
    if (this.abort.signal.aborted || this.timers.has(name)) return;
    const t = setTimeout(() => {
      this.timers.delete(name);
      this.enqueue(name);
    }, this.o.retryMs ?? 1000);
    this.timers.set(name, t);
  }

  /** One pass: delete what is left, report it, finalize when nothing is. */
  private async sync(name: string): Promise<void> {
    let ns: KubeObject;
    try {
      ns = await this.namespaces.get('', name);
    } catch (e) {
      if (e instanceof StatusError && e.code === 404) return;
      throw e;
    }
    if (!ns.metadata.deletionTimestamp) return;
    const ctx: WriteContext = { dryRun: false, fieldManager: 'namespace-controller', fieldValidation: 'Ignore', warnings: [], user: { name: 'system:serviceaccount:kube-system:namespace-controller', groups: ['system:serviceaccounts'] } };
    const remaining: { resource: string; count: number; finalizers: Set<string> }[] = [];
    const failures: string[] = [];
    for (const store of [...this.stores.values()]) {
      if (!store.def.namespaced) continue;
      try {
        const left = await store.deleteCollection(name, {}, { propagationPolicy: 'Background' }, ctx);
        if (left.items.length) {
          const finalizers = new Set(left.items.flatMap((o) => o.metadata.finalizers ?? []));
          remaining.push({ resource: store.def.group ? `${store.def.plural}.${store.def.group}` : store.def.plural, count: left.items.length, finalizers });
        }
      } catch (e) {
        failures.push(`${store.def.plural}: ${(e as Error).message}`);
      }
    }
    // Left after the delete pass: objects that finalizers hold (the pass marked them).
    const held: typeof remaining = [];
    for (const r of remaining) {
      const store = [...this.stores.values()].find((s) => (s.def.group ? `${s.def.plural}.${s.def.group}` : s.def.plural) === r.resource);
      const now = store ? (await store.list(name, {})).items : [];
      if (now.length) held.push({ ...r, count: now.length, finalizers: new Set(now.flatMap((o) => o.metadata.finalizers ?? [])) });
    }
    if (held.length === 0 && failures.length === 0) {
      try {
        await this.namespaces.systemUpdate('', name, (o) => {
          const spec = (o as { spec?: { finalizers?: string[] } }).spec ?? {};
          spec.finalizers = (spec.finalizers ?? []).filter((f) => f !== NAMESPACE_FINALIZER);
          (o as { spec?: unknown }).spec = spec;
        });
        this.log.info('namespace deleted', { namespace: name });
      } catch (e) {
        if (!(e instanceof StatusError && e.code === 404)) {
          this.log.warn('namespace not finalized', { namespace: name, err: (e as Error).message });
          this.later(name);
        }
      }
      return;
    }
    await this.report(name, held, failures);
    this.later(name);
  }

  private async report(name: string, held: { resource: string; count: number; finalizers: Set<string> }[], failures: string[]): Promise<void> {
    const now = rfc3339();
    const want: Record<string, { status: 'True' | 'False'; reason: string; message: string }> = {
      NamespaceDeletionDiscoveryFailure: { status: 'False', reason: 'ResourcesDiscovered', message: 'All resources successfully discovered' },
      NamespaceDeletionGroupVersionParsingFailure: { status: 'False', reason: 'ParsedGroupVersions', message: 'All legacy kube types successfully parsed' },
      NamespaceDeletionContentFailure: failures.length
        ? { status: 'True', reason: 'ContentDeletionFailed', message: `Failed to delete all resource types, ${failures.length} remaining: ${failures.join(', ')}` }
        : { status: 'False', reason: 'ContentDeleted', message: 'All content successfully deleted, may be waiting on finalization' },
      NamespaceContentRemaining: held.length
        ? { status: 'True', reason: 'SomeResourcesRemain', message: `Some resources are remaining: ${held.map((h) => `${h.resource} has ${h.count} resource instances`).join(', ')}` }
        : { status: 'False', reason: 'ContentRemoved', message: 'All content successfully removed' },
      NamespaceFinalizersRemaining: held.some((h) => h.finalizers.size)
        ? {
            status: 'True',
            reason: 'SomeFinalizersRemain',
            message: `Some content in the namespace has finalizers remaining: ${[...new Set(held.flatMap((h) => [...h.finalizers]))].map((f) => `${f} in ${held.filter((h) => h.finalizers.has(f)).reduce((n, h) => n + h.count, 0)} resource instances`).join(', ')}`,
          }
        : { status: 'False', reason: 'ContentHasNoFinalizers', message: 'All content-preserving finalizers finished' },
    };
    try {
      await this.namespaces.systemUpdate('', name, (o) => {
        const status = ((o as { status?: { conditions?: Condition[] } }).status ??= {});
        const old = new Map((status.conditions ?? []).map((c) => [c.type, c]));
        status.conditions = CONDITION_TYPES.map((type) => {
          const w = want[type];
          const prev = old.get(type);
          return { type, ...w, lastTransitionTime: prev && prev.status === w.status ? prev.lastTransitionTime : now };
        });
      });
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 404)) this.log.warn('namespace conditions not written', { namespace: name, err: (e as Error).message });
    }
  }
}
