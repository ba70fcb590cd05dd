// Serves what CustomResourceDefinitions define, as kube-apiserver's apiextensions controllers do: a
// CRD's names are checked against the other CRDs of its group (NamesAccepted), its served versions
// become stores at once (Established, discovery and OpenAPI published again), a changed CRD is served
// anew, and a deleted one is held by its cleanup finalizer while every object of it is deleted, then
// the kinds stop being served.

import type { ResourceDefinition } from '../apis/meta/resource.js';
import type { KubeObject } from '../apis/meta/types.js';
import { StatusError } from '../apis/meta/errors.js';
import type { Logger } from '../observability/logger.js';
import { rfc3339 } from '../registry/meta.js';
import type { ResourceStores } from '../registry/resource-stores.js';
import type { ResourceStore, WriteContext } from '../registry/store.js';
import { StoreFollowers } from '../registry/watch-store.js';
import { crdErrors, definitionsFromCRD } from './crd.js';

export const CRD_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastTransitionTime?: string;
  reason: string;
  message: string;
}
interface CRDObject extends KubeObject {
  spec: { group: string; names: { plural: string; kind: string; singular?: string; listKind?: string; shortNames?: string[]; categories?: string[] }; versions: { name: string; storage?: boolean }[] };
  status?: { conditions?: Condition[]; acceptedNames?: Record<string, unknown>; storedVersions?: string[] };
}

const ctx = (): WriteContext => ({ dryRun: false, fieldManager: 'apiextensions-controller', fieldValidation: 'Ignore', warnings: [] });

export class CRDController {
  private readonly followers: StoreFollowers;
  /** What each CRD serves now, by CRD name: the definitions and their stores' keys. */
  private readonly served = new Map<string, { defs: ResourceDefinition[]; fingerprint: string }>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly stores: ResourceStores,
    private readonly log: Logger,
  ) {
    this.followers = new StoreFollowers(log);
  }

  private get crds(): ResourceStore {
    return this.stores.get('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;
  }

  /** Serves every stored CRD before returning (a restarted cluster serves its custom resources at once). */
  async start(): Promise<void> {
    await this.followers.follow(this.crds, (type, crd) => this.enqueue(type, crd as CRDObject));
    await this.queue; // the stored CRDs are served before the cluster takes requests
  }

  async stop(): Promise<void> {
    await this.followers.stop();
    await this.queue;
  }

  /** One at a time, in order: CRDs of a group are judged against each other. */
  private enqueue(type: string, crd: CRDObject): void {
    this.queue = this.queue
      .then(() => (type === 'DELETED' ? this.unserve(crd.metadata.name!) : this.sync(crd)))
      .catch((e) => this.log.error('CRD not reconciled', { crd: crd.metadata.name, err: e }));
  }

  private async sync(crd: CRDObject): Promise<void> {
    const name = crd.metadata.name!;
    if (crd.metadata.deletionTimestamp) return this.cleanup(crd);
    if (!(crd.metadata.finalizers ?? []).includes(CRD_CLEANUP_FINALIZER)) {
      await this.write(name, (o) => {
        o.metadata.finalizers = [...(o.metadata.finalizers ?? []), CRD_CLEANUP_FINALIZER];
      });
      return; // the write comes back as an event
    }
    // Stored CRDs were checked on write; one that no longer passes (a rule added since) is reported, not served.
    const errors = crdErrors(crd);
    const conflict = this.nameConflict(crd);
    if (errors.length || conflict) {
      this.unserve(name);
      await this.setConditions(name, crd, [
        conflict ? { type: 'NamesAccepted', status: 'False', reason: 'NameConflict', message: conflict } : { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found' },
        { type: 'Established', status: 'False', reason: conflict ? 'NotAccepted' : 'Invalid', message: conflict ? 'not all names are accepted' : errors.map((e) => `${e.field}: ${e.message}`).join('; ') },
      ]);
      return;
    }
    this.serve(name, definitionsFromCRD(crd));
    await this.setConditions(name, crd, [
      { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found' },
      { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
    ]);
  }

  /** Another CRD (or a built-in kind) of the group serving the same plural or kind. */
  private nameConflict(crd: CRDObject): string | undefined {
    const { group, names } = crd.spec;
    for (const def of this.stores.defs) {
      if (def.group !== group) continue;
      const owner = [...this.served].find(([, s]) => s.defs.some((d) => d === def))?.[0];
      if (owner === crd.metadata.name) continue;
      if (def.plural === names.plural) return `"${names.plural}" is already in use`;
      if (def.kind === names.kind) return `"${names.kind}" is already in use`;
      if (names.shortNames?.some((s) => def.shortNames.includes(s))) return `one of the short names ${JSON.stringify(names.shortNames)} is already in use`;
    }
    return undefined;
  }

  private serve(name: string, defs: ResourceDefinition[]): void {
    const fingerprint = JSON.stringify(defs.map(({ validate: _v, warnings: _w, ...d }) => d));
    if (this.served.get(name)?.fingerprint === fingerprint) return;
    this.unserve(name);
    for (const def of defs) this.stores.add(def);
    this.served.set(name, { defs, fingerprint });
    this.log.info('serving custom resource', { crd: name, versions: defs.map((d) => d.version) });
  }

  private unserve(name: string): void {
    const was = this.served.get(name);
    if (!was) return;
    for (const d of was.defs) this.stores.remove(d.group, d.version, d.plural);
    this.served.delete(name);
  }

  /** A deleted CRD: Terminating, every custom resource deleted (their finalizers waited for), then the finalizer released. */
  private async cleanup(crd: CRDObject): Promise<void> {
    const name = crd.metadata.name!;
    if (!(crd.metadata.finalizers ?? []).includes(CRD_CLEANUP_FINALIZER)) return;
    await this.setConditions(name, crd, [{ type: 'Terminating', status: 'True', reason: 'InstanceDeletionInProgress', message: 'CustomResource deletion is in progress' }]);
    const defs = this.served.get(name)?.defs ?? definitionsFromCRD(crd);
    // Deleted through one version's store: they share the objects.
    const store = defs.length ? (this.stores.get(defs[0].group, defs[0].version, defs[0].plural) ?? this.stores.add(defs[0])) : undefined;
    if (store) {
      const left = await store.deleteCollection(undefined, {}, { propagationPolicy: 'Background' }, ctx());
      const remaining = (await store.list(undefined, {})).items.length;
      if (left.items.length && remaining) {
        await this.setConditions(name, crd, [{ type: 'Terminating', status: 'True', reason: 'InstanceDeletionPending', message: `${remaining} custom resources are waiting for their finalizers` }]);
        setTimeout(() => {
          void this.crds
            .get('', name)
            .then((c) => this.enqueue('MODIFIED', c as CRDObject))
            .catch(() => {});
        }, 1000).unref();
        return;
      }
    }
    this.unserve(name);
    if (store && !this.served.has(name)) this.stores.remove(store.def.group, store.def.version, store.def.plural);
    await this.write(name, (o) => {
      o.metadata.finalizers = (o.metadata.finalizers ?? []).filter((f) => f !== CRD_CLEANUP_FINALIZER);
    });
  }

  private async setConditions(name: string, crd: CRDObject, set: Condition[]): Promise<void> {
    const now = rfc3339();
    await this.write(name, (o) => {
      const c = o as CRDObject;
      const status = (c.status ??= {});
      const conditions = [...(status.conditions ?? [])];
      for (const want of set) {
        const i = conditions.findIndex((x) => x.type === want.type);
        const prev = conditions[i];
        const next = { ...want, lastTransitionTime: prev && prev.status === want.status ? prev.lastTransitionTime : now };
        if (i >= 0) conditions[i] = next;
        else conditions.push(next);
      }
      status.conditions = conditions;
      if (set.some((x) => x.type === 'NamesAccepted' && x.status === 'True')) status.acceptedNames = { ...crd.spec.names, listKind: crd.spec.names.listKind ?? `${crd.spec.names.kind}List`, singular: crd.spec.names.singular ?? crd.spec.names.kind.toLowerCase() };
      const storage = crd.spec.versions.find((v) => v.storage)?.name;
      if (storage && !(status.storedVersions ?? []).includes(storage)) status.storedVersions = [...(status.storedVersions ?? []), storage];
    });
  }

  private async write(name: string, change: (o: KubeObject) => void): Promise<void> {
    try {
      await this.crds.systemUpdate('', name, change);
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 404)) throw e;
    }
  }
}
