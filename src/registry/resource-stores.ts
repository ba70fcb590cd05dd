// Every served resource's store, built once from the resource definitions and handed to both the API
// server and the controllers, so both act on the same stores (and, later, the same watch caches).

import { resourceKey, type ResourceDefinition } from '../apis/meta/resource.js';
import type { Storage } from '../storage/types.js';
import { ResourceStore } from './store.js';

export class ResourceStores {
  private readonly byResource = new Map<string, ResourceStore>();

  constructor(
    readonly defs: ResourceDefinition[],
    storage: Storage,
  ) {
    for (const def of defs) {
      const key = resourceKey(def.group, def.version, def.plural);
      if (this.byResource.has(key)) throw new Error(`resource ${key} is defined twice`);
      this.byResource.set(key, new ResourceStore(def, storage));
    }
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
}
