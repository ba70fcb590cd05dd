// Every served resource's store, built from the resource definitions and handed to both the API server
// and the controllers, so both act on the same stores. Resources can come and go while serving (the
// local cluster's CustomResourceDefinitions will add their kinds): listeners hear of each change, so
// discovery and OpenAPI are published again and the garbage collector watches the new store.

import { resourceKey, type ResourceDefinition } from '../apis/meta/resource.js';
import type { Storage } from '../storage/types.js';
import { ResourceStore } from './store.js';

export type StoresChange = { type: 'added' | 'removed'; store: ResourceStore };

export class ResourceStores {
  private readonly byResource = new Map<string, ResourceStore>();
  private readonly listeners = new Set<(c: StoresChange) => void>();

  constructor(
    defs: ResourceDefinition[],
    private readonly storage: Storage,
    private readonly o: { precompile?: boolean } = {},
  ) {
    for (const def of defs) this.byResource.set(this.keyOf(def), new ResourceStore(def, storage, o));
  }

  private keyOf(def: ResourceDefinition): string {
    const key = resourceKey(def.group, def.version, def.plural);
    if (this.byResource.has(key)) throw new Error(`resource ${key} is defined twice`);
    return key;
  }

  /** The definitions served now, in the order they came. */
  get defs(): ResourceDefinition[] {
    return [...this.byResource.values()].map((s) => s.def);
  }

  /** The store of `<plural>` in `group/version`, or undefined when that resource is not served. */
  get(group: string, version: string, plural: string): ResourceStore | undefined {
    return this.byResource.get(resourceKey(group, version, plural));
  }

  /** The store of a kind, for controllers that know what they reconcile by kind. */
  forKind(group: string, version: string, kind: string): ResourceStore {
    for (const s of this.byResource.values()) if (s.def.group === group && s.def.version === version && s.def.kind === kind) return s;
    throw new Error(`kind ${kind} is not served in ${group}/${version}`);
  }

  values(): IterableIterator<ResourceStore> {
    return this.byResource.values();
  }

  /** Serves a new resource from now on; throws if one of that group, version and plural is served. */
  add(def: ResourceDefinition): ResourceStore {
    const store = new ResourceStore(def, this.storage, this.o);
    this.byResource.set(this.keyOf(def), store);
    this.emit({ type: 'added', store });
    return store;
  }

  /** Stops serving a resource (its stored objects stay where they are: removing them is the caller's). */
  remove(group: string, version: string, plural: string): void {
    const key = resourceKey(group, version, plural);
    const store = this.byResource.get(key);
    if (!store) return;
    this.byResource.delete(key);
    this.emit({ type: 'removed', store });
  }

  /** Hears of every resource added or removed; returns the function that stops listening. */
  onChange(listener: (c: StoresChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(c: StoresChange): void {
    for (const l of this.listeners) l(c);
  }
}
