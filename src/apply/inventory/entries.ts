// Inventory entries as Flux's kustomize-controller writes them in `status.inventory.entries`:
// `id` = `<namespace>_<name>_<group>_<kind>` (cli-utils' ObjMetadata string: empty namespace for
// cluster-scoped objects, empty group for the core group) and `v` = the version the object was applied
// with. The version is not part of the identity: an object that moved to another version of its group
// is the same object, and is not pruned.

import type { ResourceInventory, ResourceRef } from '../../apis/v1/kustomization.js';
import { parseApiVersion, type KubeObject, type ObjectRef } from '../../kube/client.js';

export type InventoryEntry = ResourceRef;

/** What an entry id names. */
export interface ObjMetadata {
  namespace: string;
  name: string;
  group: string;
  kind: string;
}

const SEP = '_';
// cli-utils transcodes the colons of RBAC names (`system:controller:…`) as `__` in the id.
const COLON = '__';
const RBAC_GROUP = 'rbac.authorization.k8s.io';
const RBAC_KINDS = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);
const isRbac = (group: string, kind: string) => group === RBAC_GROUP && RBAC_KINDS.has(kind);

/** The id of an object: `<namespace>_<name>_<group>_<kind>`. */
export function entryId(m: ObjMetadata): string {
  const name = isRbac(m.group, m.kind) ? m.name.replaceAll(':', COLON) : m.name;
  return [m.namespace, name, m.group, m.kind].join(SEP);
}

/** The object an id names; a malformed id throws. */
export function parseEntry(id: string): ObjMetadata {
  // namespace, group and kind never hold `_`; the name is what lies between (an RBAC name may hold `__`).
  const first = id.indexOf(SEP);
  const last = id.lastIndexOf(SEP);
  const beforeLast = last > 0 ? id.lastIndexOf(SEP, last - 1) : -1;
  if (first < 0 || beforeLast <= first) throw new Error(`inventory entry ${JSON.stringify(id)}: not <namespace>_<name>_<group>_<kind>`);
  const namespace = id.slice(0, first);
  let name = id.slice(first + 1, beforeLast);
  const group = id.slice(beforeLast + 1, last);
  const kind = id.slice(last + 1);
  if (!name || !kind) throw new Error(`inventory entry ${JSON.stringify(id)}: name and kind are required`);
  if (isRbac(group, kind)) name = name.replaceAll(COLON, ':');
  else if (name.includes(SEP)) throw new Error(`inventory entry ${JSON.stringify(id)}: not <namespace>_<name>_<group>_<kind>`);
  return { namespace, name, group, kind };
}

/** The entry of an object (as applied: apiVersion, kind, metadata.name, metadata.namespace). */
export function entryOf(obj: KubeObject): InventoryEntry {
  if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) throw new Error('inventory: an object needs apiVersion, kind and metadata.name');
  const { group, version } = parseApiVersion(obj.apiVersion);
  return { id: entryId({ namespace: obj.metadata.namespace ?? '', name: obj.metadata.name, group, kind: obj.kind }), v: version };
}

/** Entries sorted by id, one per id (the last version given wins). */
export function normalize(entries: InventoryEntry[]): InventoryEntry[] {
  const byId = new Map<string, InventoryEntry>();
  for (const e of entries) byId.set(e.id, { id: e.id, v: e.v });
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * The inventory of the applied objects, sorted and de-duplicated. Cluster-scoped objects must come
 * without a namespace (the applier knows the scope; an entry keeps what it is given).
 */
export function inventoryOf(objects: KubeObject[]): ResourceInventory {
  return { entries: normalize(objects.map(entryOf)) };
}

/** The entries of `previous` no longer in `current` (by id: a new version of the same object is kept), sorted. */
export function diff(previous: ResourceInventory | InventoryEntry[] | undefined, current: ResourceInventory | InventoryEntry[] | undefined): InventoryEntry[] {
  const list = (i: ResourceInventory | InventoryEntry[] | undefined) => (Array.isArray(i) ? i : (i?.entries ?? []));
  const keep = new Set(list(current).map((e) => e.id));
  return normalize(list(previous).filter((e) => !keep.has(e.id)));
}

/** The apiVersion of an entry: `<group>/<v>`, or `<v>` for the core group. */
export function apiVersionOf(m: ObjMetadata, version: string): string {
  return m.group ? `${m.group}/${version}` : version;
}

/** The object reference an entry names (for KubeClient). */
export function refOf(e: InventoryEntry): ObjectRef {
  const m = parseEntry(e.id);
  return { apiVersion: apiVersionOf(m, e.v), kind: m.kind, name: m.name, ...(m.namespace ? { namespace: m.namespace } : {}) };
}

/** Flux's way of naming an object in messages: `Kind/namespace/name`, `Kind/name` when cluster-scoped. */
export function fmtEntry(m: ObjMetadata): string {
  return m.namespace ? `${m.kind}/${m.namespace}/${m.name}` : `${m.kind}/${m.name}`;
}
